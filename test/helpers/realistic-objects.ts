// Kubernetes objects as a real apiserver serves them, every field filled in: a JupyterLab pod of
// about 17 KiB (an init container and two containers with 25 environment variables each, probes,
// volumes, managedFields, a full status), a Kubeflow Notebook and the Dask operator's four
// resources. The tests of the slim transform (test/unit/slim.test.ts) check that kubesub reads
// nothing of them that the transform drops; bench/cache-memory.ts caches thousands of such pods.
import type { KubePod } from "../../src/domain/pod.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { userLabel } from "./settings.ts";

/** Where a pod is in its life. */
export type RealisticPodState =
  | "pending"
  | "init"
  | "creating"
  | "running"
  | "ready"
  | "crashloop"
  | "imagepull"
  | "oomkilled"
  | "succeeded"
  | "failed"
  | "terminating";

/** Every state, in the order of a pod's life: for tests that go through them all. */
export const realisticPodStates: readonly RealisticPodState[] = [
  "pending",
  "init",
  "creating",
  "running",
  "ready",
  "crashloop",
  "imagepull",
  "oomkilled",
  "succeeded",
  "failed",
  "terminating",
];

/** Which IDE convention labels the pod (kubesub's labels, a Kubeflow Notebook's StatefulSet, JupyterHub's KubeSpawner). */
export type RealisticConvention = "kubesub-labels" | "kubeflow-notebook" | "jupyterhub";

export interface RealisticPodOptions {
  namespace?: string;
  /** Default jupyter-<user>-<index>. */
  name?: string;
  user?: string;
  /** Makes names, uids, IPs and timestamps differ between pods. */
  index?: number;
  state?: RealisticPodState;
  convention?: RealisticConvention;
  restarts?: number;
  resourceVersion?: string;
  /** Extra labels and annotations, on top of the convention's. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const created = "2024-05-01T09:58:31Z";
const started = "2024-05-01T09:58:40Z";
const readyAt = "2024-05-01T09:59:12Z";

/** When pod number `index` was created, scheduled, had its containers started and became ready: pods 2 s apart, in RFC 3339 as the apiserver writes it. */
function timesOf(index: number): { created: string; scheduled: string; initialized: string; started: string; readyAt: string } {
  const base = Date.parse("2024-05-01T08:00:00Z") + index * 2_000;
  const at = (seconds: number) => new Date(base + seconds * 1_000).toISOString().replace(".000Z", "Z");
  return { created: at(0), scheduled: at(1), initialized: at(3), started: at(9), readyAt: at(41) };
}
type Times = ReturnType<typeof timesOf>;
const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(width, "0").slice(-width);
const uidOf = (seed: number) =>
  `${hex(seed * 2654435761, 8)}-${hex(seed, 4)}-4${hex(seed * 7, 3)}-a${hex(seed * 13, 3)}-${hex(seed * 97, 4)}${hex(seed * 40503, 8)}`;
const digest = (seed: number) => `sha256:${hex(seed * 2246822519, 8).repeat(8)}`;

/** The 25 environment variables of a container, as a Helm chart or KubeSpawner writes them. */
function environment(container: string, user: string, index: number): { name: string; value?: string; valueFrom?: object }[] {
  const env: { name: string; value?: string; valueFrom?: object }[] = [
    { name: "JUPYTERHUB_USER", value: user },
    { name: "JUPYTERHUB_API_URL", value: "http://hub:8081/hub/api" },
    { name: "JUPYTERHUB_BASE_URL", value: "/" },
    { name: "JUPYTERHUB_SERVICE_PREFIX", value: `/user/${user}/` },
    { name: "JUPYTERHUB_OAUTH_CALLBACK_URL", value: `/user/${user}/oauth_callback` },
    { name: "JUPYTERHUB_CLIENT_ID", value: `jupyterhub-user-${user}` },
    { name: "JUPYTERHUB_HOST", value: "" },
    { name: "JUPYTER_IMAGE", value: "quay.io/jupyter/scipy-notebook:2024-05-27" },
    { name: "JUPYTER_PORT", value: "8888" },
    { name: "JUPYTER_ENABLE_LAB", value: "yes" },
    { name: "MEM_GUARANTEE", value: "2147483648" },
    { name: "MEM_LIMIT", value: "8589934592" },
    { name: "CPU_GUARANTEE", value: "0.5" },
    { name: "CPU_LIMIT", value: "4.0" },
    { name: "HOME", value: `/home/${user}` },
    { name: "NB_USER", value: user },
    { name: "NB_UID", value: "1000" },
    { name: "SHELL", value: "/bin/bash" },
    { name: "TZ", value: "Europe/Berlin" },
    { name: "PIP_INDEX_URL", value: "https://pypi.example.org/simple" },
    { name: "S3_ENDPOINT_URL", value: "https://s3.example.org" },
    { name: "CONTAINER", value: container },
    { name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } } },
    { name: "JUPYTERHUB_API_TOKEN", valueFrom: { secretKeyRef: { name: `jupyter-${user}-${index}`, key: "token" } } },
  ];
  return env;
}

function probe(path: string, initialDelaySeconds: number): object {
  return {
    httpGet: { path, port: 8888, scheme: "HTTP" },
    initialDelaySeconds,
    timeoutSeconds: 3,
    periodSeconds: 10,
    successThreshold: 1,
    failureThreshold: 6,
  };
}

const volumeMounts = (user: string) => [
  { name: "home", mountPath: `/home/${user}`, subPath: user },
  { name: "shared-data", mountPath: "/home/shared", readOnly: true },
  { name: "jupyter-config", mountPath: "/etc/jupyter/jupyter_server_config.py", subPath: "jupyter_server_config.py" },
  { name: "dshm", mountPath: "/dev/shm" },
  { name: "kube-api-access-x7k2p", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true },
];

/** The notebook's container, or (sidecar) the authenticating proxy in front of it. */
function container(name: string, image: string, user: string, index: number, port: number, sidecar = false): object {
  return {
    name,
    image,
    ...(sidecar
      ? { args: [`--http-address=0.0.0.0:${port}`, "--upstream=http://127.0.0.1:8888"] }
      : { command: ["tini", "-g", "--"], args: ["start-notebook.py", `--port=${port}`], workingDir: `/home/${user}` }),
    ports: [{ name: sidecar ? "proxy" : "notebook-port", containerPort: port, protocol: "TCP" }],
    env: environment(name, user, index),
    resources: { limits: { cpu: sidecar ? "200m" : "4", memory: sidecar ? "128Mi" : "8Gi" }, requests: { cpu: "100m", memory: "64Mi" } },
    volumeMounts: sidecar ? volumeMounts(user).slice(-1) : volumeMounts(user),
    ...(sidecar ? {} : { livenessProbe: probe("/api/status", 60) }),
    readinessProbe: probe(sidecar ? "/ping" : "/api", 5),
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
    imagePullPolicy: "IfNotPresent",
    securityContext: { runAsUser: 1000, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
  };
}

/** The fields a manager wrote, in fieldsV1's form (to the given depth). */
function fieldsV1(value: unknown, depth = 4): unknown {
  if (depth === 0) return {};
  if (Array.isArray(value)) {
    return Object.fromEntries(
      value.map((item, i) => {
        const name = (item as { name?: string; type?: string } | null)?.name ?? (item as { type?: string } | null)?.type;
        return [name ? `k:{"name":"${name}"}` : `v:${i}`, { ".": {}, ...(fieldsV1(item, depth - 1) as object) }];
      }),
    );
  }
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [`f:${key}`, fieldsV1(inner, depth - 1)]));
  }
  return {};
}

type Status = NonNullable<KubePod["status"]>;
type ContainerStatus = NonNullable<Status["containerStatuses"]>[number] & Record<string, unknown>;

function containerStatus(
  name: string,
  image: string,
  index: number,
  state: ContainerStatus["state"],
  ready: boolean,
  restarts: number,
  times: Times,
): ContainerStatus {
  const { started, readyAt } = times;
  const running = state?.running !== undefined;
  return {
    name,
    image,
    imageID: `${image.split(":")[0]}@${digest(index + name.length)}`,
    containerID: state?.waiting ? undefined : `containerd://${hex(index * 2654435761, 8).repeat(8)}`,
    ready,
    started: running,
    restartCount: restarts,
    state,
    lastState: (restarts > 0
      ? {
          terminated: {
            exitCode: 1,
            reason: "Error",
            // What a container with terminationMessagePolicy FallbackToLogsOnError leaves: its log's last lines.
            message:
              "Traceback (most recent call last):\n  File \"/opt/conda/bin/jupyter-lab\", line 6, in <module>\nModuleNotFoundError: No module named 'jupyterlab'\n",
            startedAt: started,
            finishedAt: readyAt,
            containerID: `containerd://${hex(index * 40503, 8).repeat(8)}`,
          },
        }
      : {}) as ContainerStatus["lastState"],
    volumeMounts: [{ name: "kube-api-access-x7k2p", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true }],
  };
}

/** The scheduler's message on a pod no node can take, as kube-scheduler 1.30 writes it. */
export const unschedulableMessage =
  "0/40 nodes are available: 12 Insufficient cpu, 28 node(s) didn't match Pod's node affinity/selector. preemption: 0/40 nodes are available: 12 No preemption victims found for incoming pod, 28 Preemption is not helpful for scheduling.";

function conditions(ready: boolean, scheduledTo: boolean, initialized: boolean, { scheduled, readyAt }: Times): Status["conditions"] {
  const condition = (type: string, status: boolean, reason?: string, message?: string) => ({
    type,
    status: status ? "True" : "False",
    lastProbeTime: null,
    lastTransitionTime: status ? readyAt : scheduled,
    ...(reason && !status ? { reason } : {}),
    ...(message && !status ? { message } : {}),
  });
  return [
    condition("PodReadyToStartContainers", scheduledTo),
    condition("Initialized", initialized, "ContainersNotInitialized", "containers with incomplete status: [block-cloud-metadata]"),
    condition("Ready", ready, "ContainersNotReady", "containers with unready status: [notebook oauth2-proxy]"),
    condition("ContainersReady", ready, "ContainersNotReady", "containers with unready status: [notebook oauth2-proxy]"),
    condition("PodScheduled", scheduledTo, "Unschedulable", unschedulableMessage),
  ] as Status["conditions"];
}

/**
 * A JupyterLab pod as the apiserver serves it (about 17 KiB of JSON with its managedFields), in the
 * given state (default ready), labelled by the given convention (default kubesub's labels).
 */
export function realisticJupyterLabPod(options: RealisticPodOptions = {}): KubePod {
  const index = options.index ?? 1;
  const times = timesOf(index);
  const { created, scheduled, initialized, started, readyAt } = times;
  const user = options.user ?? "alice";
  const namespace = options.namespace ?? "team-a";
  const name = options.name ?? `jupyter-${user}-${index}`;
  const state = options.state ?? "ready";
  const restarts = options.restarts ?? (state === "crashloop" ? 4 : 0);
  const convention = options.convention ?? "kubesub-labels";
  const image = "quay.io/jupyter/scipy-notebook:2024-05-27";
  const proxyImage = "quay.io/oauth2-proxy/oauth2-proxy:v7.6.0";

  const conventionLabels: Record<string, string> = {
    "kubesub-labels": { "kubesub.io/ide": "jupyterlab", "kubesub.io/ide-name": name },
    "kubeflow-notebook": { "notebook-name": name.replace(/-0$/, ""), statefulset: name.replace(/-0$/, "") },
    jupyterhub: { component: "singleuser-server", "hub.jupyter.org/username": user, "hub.jupyter.org/servername": "" },
  }[convention] as Record<string, string>;
  const labels: Record<string, string> = {
    app: "jupyterhub",
    "app.kubernetes.io/name": "jupyterlab",
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/managed-by": "kubesub-spawner",
    chart: "jupyterhub-3.3.7",
    heritage: "jupyterhub",
    release: "jupyterhub",
    "hub.jupyter.org/network-access-hub": "true",
    "controller-revision-hash": `${name}-${hex(index * 48271, 10)}`,
    [userLabel]: user,
    ...conventionLabels,
    ...options.labels,
  };
  const annotations: Record<string, string> = {
    "hub.jupyter.org/username": user,
    "kubectl.kubernetes.io/default-container": "notebook",
    "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
    "prometheus.io/scrape": "true",
    "prometheus.io/port": "8888",
    "prometheus.io/path": `/user/${user}/metrics`,
    "cni.projectcalico.org/containerID": hex(index * 2246822519, 8).repeat(8),
    "cni.projectcalico.org/podIP": `10.42.${(index >> 8) & 255}.${index & 255}/32`,
    "cni.projectcalico.org/podIPs": `10.42.${(index >> 8) & 255}.${index & 255}/32`,
    "kubesub.io/last-activity": readyAt,
    ...options.annotations,
  };
  const ownerReferences =
    convention === "kubeflow-notebook"
      ? [
          {
            apiVersion: "apps/v1",
            kind: "StatefulSet",
            name: name.replace(/-0$/, ""),
            uid: uidOf(index + 7),
            controller: true,
            blockOwnerDeletion: true,
          },
        ]
      : convention === "kubesub-labels"
        ? [{ apiVersion: "v1", kind: "ConfigMap", name: `${name}-config`, uid: uidOf(index + 11) }]
        : undefined;
  const spec = {
    volumes: [
      { name: "home", persistentVolumeClaim: { claimName: `claim-${user}` } },
      { name: "shared-data", persistentVolumeClaim: { claimName: "shared-data", readOnly: true } },
      { name: "jupyter-config", configMap: { name: "jupyter-server-config", defaultMode: 420 } },
      { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "1Gi" } },
      {
        name: "kube-api-access-x7k2p",
        projected: {
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
            { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
            { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
          ],
          defaultMode: 420,
        },
      },
    ],
    initContainers: [
      {
        name: "block-cloud-metadata",
        image: "quay.io/jupyterhub/k8s-network-tools:3.3.7",
        command: ["iptables", "--append", "OUTPUT", "--protocol", "tcp", "--destination", "169.254.169.254", "--jump", "DROP"],
        resources: {},
        terminationMessagePath: "/dev/termination-log",
        terminationMessagePolicy: "File",
        imagePullPolicy: "IfNotPresent",
        securityContext: { runAsUser: 0, capabilities: { add: ["NET_ADMIN"] } },
      },
    ],
    containers: [container("notebook", image, user, index, 8888), container("oauth2-proxy", proxyImage, user, index, 4180, true)],
    restartPolicy: "OnFailure",
    terminationGracePeriodSeconds: 30,
    dnsPolicy: "ClusterFirst",
    serviceAccountName: "default-editor",
    serviceAccount: "default-editor",
    automountServiceAccountToken: true,
    securityContext: { fsGroup: 100, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    schedulerName: "default-scheduler",
    tolerations: [
      { key: "hub.jupyter.org/dedicated", operator: "Equal", value: "user", effect: "NoSchedule" },
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
    ],
    priorityClassName: "jupyterhub-default-priority",
    priority: 0,
    enableServiceLinks: false,
    preemptionPolicy: "PreemptLowerPriority",
    ...(state === "pending" ? {} : { nodeName: `worker-${(index % 40).toString().padStart(2, "0")}.cluster.example.org` }),
  };

  const podIP = `10.42.${(index >> 8) & 255}.${index & 255}`;
  const scheduledTo = state !== "pending";
  const initDone = !["pending", "init"].includes(state);
  const terminated = (exitCode: number, reason: string) => ({
    terminated: { exitCode, reason, startedAt: started, finishedAt: readyAt, containerID: `containerd://${hex(index * 31, 8).repeat(8)}` },
  });
  const initState =
    state === "pending"
      ? undefined
      : state === "init"
        ? { running: { startedAt: started } }
        : {
            terminated: {
              exitCode: 0,
              reason: "Completed",
              startedAt: initialized,
              finishedAt: initialized,
              containerID: "containerd://0a1b",
            },
          };
  const mainState = ((): ContainerStatus["state"] => {
    switch (state) {
      case "pending":
      case "init":
        return { waiting: { reason: "PodInitializing" } };
      case "creating":
        return { waiting: { reason: "ContainerCreating" } };
      case "crashloop":
        return {
          waiting: {
            reason: "CrashLoopBackOff",
            message: `back-off 2m40s restarting failed container=notebook pod=${name}_${namespace}(${uidOf(index)})`,
          },
        };
      case "imagepull":
        return { waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${image}"` } };
      case "oomkilled":
        return terminated(137, "OOMKilled");
      case "succeeded":
        return terminated(0, "Completed");
      case "failed":
        return terminated(1, "Error");
      default:
        return { running: { startedAt: started } };
    }
  })();
  const ready = state === "ready" || state === "terminating";
  const phase = {
    pending: "Pending",
    init: "Pending",
    creating: "Pending",
    imagepull: "Pending",
    succeeded: "Succeeded",
    failed: "Failed",
  }[state as string];
  const status: Record<string, unknown> = {
    phase: phase ?? "Running",
    conditions: conditions(ready, scheduledTo, initDone, times),
    qosClass: "Burstable",
    ...(scheduledTo
      ? {
          hostIP: "192.168.10.21",
          hostIPs: [{ ip: "192.168.10.21" }],
          podIP,
          podIPs: [{ ip: podIP }],
          startTime: scheduled,
          initContainerStatuses: [
            containerStatus("block-cloud-metadata", "quay.io/jupyterhub/k8s-network-tools:3.3.7", index, initState, initDone, 0, times),
          ],
          containerStatuses: [
            containerStatus("notebook", image, index, mainState, ready, restarts, times),
            containerStatus(
              "oauth2-proxy",
              proxyImage,
              index,
              state === "init" ? { waiting: { reason: "PodInitializing" } } : { running: { startedAt: started } },
              ready,
              0,
              times,
            ),
          ],
        }
      : {}),
  };
  const metadata: Record<string, unknown> = {
    name,
    generateName: convention === "kubeflow-notebook" ? `${name.replace(/-0$/, "")}-` : undefined,
    namespace,
    uid: uidOf(index),
    resourceVersion: options.resourceVersion ?? String(1_000_000 + index),
    creationTimestamp: created,
    ...(state === "terminating" ? { deletionTimestamp: "2024-05-01T11:00:00Z", deletionGracePeriodSeconds: 30 } : {}),
    labels,
    annotations,
    ...(ownerReferences ? { ownerReferences } : {}),
    finalizers: ["kubesub.io/test-finalizer"],
  };
  metadata.managedFields = [
    {
      manager: convention === "jupyterhub" ? "kubespawner" : "kube-controller-manager",
      operation: "Update",
      apiVersion: "v1",
      time: created,
      fieldsType: "FieldsV1",
      fieldsV1: { "f:metadata": fieldsV1({ labels, annotations, ownerReferences }), "f:spec": fieldsV1(spec) },
    },
    {
      manager: "calico",
      operation: "Update",
      apiVersion: "v1",
      time: scheduled,
      fieldsType: "FieldsV1",
      fieldsV1: { "f:metadata": { "f:annotations": { "f:cni.projectcalico.org/containerID": {}, "f:cni.projectcalico.org/podIP": {} } } },
      subresource: "status",
    },
    {
      manager: "kubelet",
      operation: "Update",
      apiVersion: "v1",
      time: readyAt,
      fieldsType: "FieldsV1",
      fieldsV1: { "f:status": fieldsV1(status, 3) },
      subresource: "status",
    },
  ];
  return JSON.parse(JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata, spec, status })) as KubePod;
}

/** A Kubeflow Notebook as the notebook-controller and the dashboard leave it. */
export function realisticNotebook(options: {
  name: string;
  namespace?: string;
  user?: string;
  serverType?: string;
  stopped?: boolean;
  resourceVersion?: string;
}): KubeObject {
  const namespace = options.namespace ?? "team-a";
  const user = options.user ?? "alice";
  return JSON.parse(
    JSON.stringify({
      apiVersion: "kubeflow.org/v1",
      kind: "Notebook",
      metadata: {
        name: options.name,
        namespace,
        uid: uidOf(options.name.length * 101),
        resourceVersion: options.resourceVersion ?? "4711",
        generation: 3,
        creationTimestamp: created,
        labels: { app: options.name, [userLabel]: user },
        annotations: {
          "notebooks.kubeflow.org/creator": `${user}@example.org`,
          ...(options.serverType === undefined ? {} : { "notebooks.kubeflow.org/server-type": options.serverType }),
          ...(options.stopped ? { "kubeflow-resource-stopped": "2024-05-01T12:00:00Z" } : {}),
          "notebooks.kubeflow.org/http-rewrite-uri": "/",
          "notebooks.kubeflow.org/last-activity": readyAt,
          "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify({ kind: "Notebook", metadata: { name: options.name } }),
        },
        managedFields: [
          { manager: "jupyter-web-app", operation: "Update", apiVersion: "kubeflow.org/v1", time: created, fieldsType: "FieldsV1" },
        ],
      },
      spec: {
        template: {
          spec: {
            containers: [container(options.name, "kubeflownotebookswg/jupyter-scipy:v1.8.0", user, 1, 8888)],
            serviceAccountName: "default-editor",
            volumes: [{ name: "home", persistentVolumeClaim: { claimName: `${options.name}-volume` } }],
          },
        },
      },
      status: {
        readyReplicas: options.stopped ? 0 : 1,
        containerState: options.stopped ? {} : { running: { startedAt: started } },
        conditions: [{ type: "Ready", status: options.stopped ? "False" : "True", lastProbeTime: readyAt, lastTransitionTime: readyAt }],
      },
    }),
  ) as KubeObject;
}

const daskSpec = (name: string, role: string) => ({
  containers: [
    {
      name,
      image: "ghcr.io/dask/dask:2024.5.0",
      args: [role === "scheduler" ? "dask-scheduler" : "dask-worker", "--name", "$(DASK_WORKER_NAME)", "--dashboard"],
      env: [{ name: "DASK_DISTRIBUTED__WORKER__DAEMON", value: "false" }],
      resources: { limits: { cpu: "2", memory: "4Gi" } },
      ports: role === "scheduler" ? [{ name: "tcp-comm", containerPort: 8786 }] : [{ name: "http-dashboard", containerPort: 8788 }],
      readinessProbe: { httpGet: { port: "http-dashboard", path: "/health" }, initialDelaySeconds: 5, periodSeconds: 10 },
    },
  ],
});

const daskMetadata = (kind: string, name: string, namespace: string, extra: Record<string, unknown>) => ({
  name,
  namespace,
  uid: uidOf(name.length * 31 + kind.length),
  resourceVersion: "9000",
  generation: 2,
  creationTimestamp: created,
  managedFields: [{ manager: "kopf", operation: "Update", apiVersion: "kubernetes.dask.org/v1", time: created, fieldsType: "FieldsV1" }],
  ...extra,
});

/** A DaskCluster as the operator leaves it. */
export function realisticDaskCluster(options: {
  name: string;
  namespace?: string;
  user?: string;
  replicas?: number;
  phase?: string;
}): KubeObject {
  const namespace = options.namespace ?? "team-a";
  return JSON.parse(
    JSON.stringify({
      apiVersion: "kubernetes.dask.org/v1",
      kind: "DaskCluster",
      metadata: daskMetadata("DaskCluster", options.name, namespace, {
        labels: options.user ? { [userLabel]: options.user } : {},
        annotations: { "kopf.zalando.org/last-handled-configuration": JSON.stringify({ spec: { worker: { replicas: 1 } } }) },
        finalizers: ["kopf.zalando.org/KopfFinalizerMarker"],
      }),
      spec: {
        worker: { replicas: options.replicas ?? 2, spec: daskSpec("worker", "worker") },
        scheduler: {
          spec: daskSpec("scheduler", "scheduler"),
          service: { type: "ClusterIP", selector: { "dask.org/cluster-name": options.name }, ports: [{ name: "tcp-comm", port: 8786 }] },
        },
      },
      ...(options.phase ? { status: { phase: options.phase } } : {}),
    }),
  ) as KubeObject;
}

/** A DaskWorkerGroup (the default one the operator makes for a cluster, or an extra one). */
export function realisticDaskWorkerGroup(options: {
  name: string;
  cluster: string;
  namespace?: string;
  user?: string;
  replicas?: number;
}): KubeObject {
  const namespace = options.namespace ?? "team-a";
  return JSON.parse(
    JSON.stringify({
      apiVersion: "kubernetes.dask.org/v1",
      kind: "DaskWorkerGroup",
      metadata: daskMetadata("DaskWorkerGroup", options.name, namespace, {
        labels: {
          "dask.org/cluster-name": options.cluster,
          "dask.org/component": "workergroup",
          ...(options.user ? { [userLabel]: options.user } : {}),
        },
        ownerReferences: [
          { apiVersion: "kubernetes.dask.org/v1", kind: "DaskCluster", name: options.cluster, uid: uidOf(5), controller: true },
        ],
      }),
      spec: { cluster: options.cluster, worker: { replicas: options.replicas ?? 2, spec: daskSpec("worker", "worker") } },
    }),
  ) as KubeObject;
}

/** A DaskAutoscaler, with the cooldown annotation the operator rewrites every few seconds. */
export function realisticDaskAutoscaler(options: {
  name: string;
  cluster: string;
  namespace?: string;
  user?: string;
  minimum?: number;
  maximum?: number;
  cooldownUntil?: string;
}): KubeObject {
  const namespace = options.namespace ?? "team-a";
  return JSON.parse(
    JSON.stringify({
      apiVersion: "kubernetes.dask.org/v1",
      kind: "DaskAutoscaler",
      metadata: daskMetadata("DaskAutoscaler", options.name, namespace, {
        labels: options.user ? { [userLabel]: options.user } : {},
        annotations: { "kubernetes.dask.org/cooldown-until": options.cooldownUntil ?? "2024-05-01T10:00:30Z" },
      }),
      spec: { cluster: options.cluster, minimum: options.minimum ?? 1, maximum: options.maximum ?? 10 },
    }),
  ) as KubeObject;
}

/** A DaskJob, whose spec.cluster is the template of the cluster the operator makes for it. */
export function realisticDaskJob(options: {
  name: string;
  namespace?: string;
  user?: string;
  status?: { jobStatus?: string; clusterName?: string; startTime?: string; endTime?: string; jobRunnerPodName?: string };
}): KubeObject {
  const namespace = options.namespace ?? "team-a";
  return JSON.parse(
    JSON.stringify({
      apiVersion: "kubernetes.dask.org/v1",
      kind: "DaskJob",
      metadata: daskMetadata("DaskJob", options.name, namespace, { labels: options.user ? { [userLabel]: options.user } : {} }),
      spec: {
        job: { spec: daskSpec("job", "job") },
        cluster: {
          spec: { worker: { replicas: 2, spec: daskSpec("worker", "worker") }, scheduler: { spec: daskSpec("scheduler", "scheduler") } },
        },
      },
      ...(options.status ? { status: options.status } : {}),
    }),
  ) as KubeObject;
}
