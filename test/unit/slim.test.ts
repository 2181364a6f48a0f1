// The slim transform (src/domain/slim.ts) keeps of each cached object only what kubesub reads.
// These tests hold it to "loses nothing the API serves": for realistic objects in every state, as
// watch events carry them (JSON) and as client-node's LIST hands them over (model classes, Date
// timestamps), and for random ones, every model and every change detected from the slim objects
// is the one computed from the full objects.
import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { changedFields } from "../../src/domain/changed-fields.ts";
import {
  daskChangedFields,
  daskClusterName,
  daskLabels,
  daskOwner,
  runnerPodName,
  toDaskAutoscaler,
  toDaskCluster,
  toDaskJob,
  toDaskWorkerGroup,
} from "../../src/domain/dask.ts";
import { type IDEConvention, ideChangedFields, ideConventions, ideKeyOfPod, notebookKey, toIde } from "../../src/domain/ide.ts";
import { type JoinedPod, type KubePod, toPod } from "../../src/domain/pod.ts";
import {
  slimDaskAutoscaler,
  slimDaskCluster,
  slimDaskJob,
  slimDaskWorkerGroup,
  slimNotebook,
  slimPod,
  slimTransformFor,
} from "../../src/domain/slim.ts";
import {
  daskAutoscalerResource,
  daskClusterResource,
  daskJobResource,
  daskWorkerGroupResource,
  notebookResource,
  podResource,
} from "../../src/kube/resources.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { annotate, daskPod, notebookObject, type PodState, podObject } from "../helpers/ide-dask-fixtures.ts";
import {
  type RealisticConvention,
  type RealisticPodState,
  realisticDaskAutoscaler,
  realisticDaskCluster,
  realisticDaskJob,
  realisticDaskWorkerGroup,
  realisticJupyterLabPod,
  realisticNotebook,
  realisticPodStates,
} from "../helpers/realistic-objects.ts";
import { userLabel } from "../helpers/settings.ts";

const states = realisticPodStates;
const conventions: RealisticConvention[] = ["kubesub-labels", "kubeflow-notebook", "jupyterhub"];
/** The configured user label is any label: the transform keeps them all. */
const userLabels = [userLabel, "hub.jupyter.org/username", "app", "absent"];
/** Every combination of enabled IDE conventions. */
const conventionSets: ReadonlySet<IDEConvention>[] = [0, 1, 2, 3, 4, 5, 6, 7].map(
  (bits) => new Set(ideConventions.filter((_, i) => bits & (1 << i))),
);

/** The object as client-node's LIST hands it over: its model classes, timestamps as Date. */
const asListed = <T extends KubeObject>(object: T, type: string): T =>
  ObjectSerializer.deserialize(JSON.parse(JSON.stringify(object)), type, "");

/** Realistic JupyterLab pods, in every state under every convention, as watched and as listed. */
const realisticPods: [string, KubePod][] = conventions.flatMap((convention, c) =>
  states.flatMap((state, s): [string, KubePod][] => {
    const pod = realisticJupyterLabPod({
      convention,
      state,
      index: c * 100 + s,
      name: convention === "kubeflow-notebook" ? `nb-${s}-0` : undefined,
    });
    return [
      [`${convention} ${state}, watched`, pod],
      [`${convention} ${state}, listed`, asListed(pod, "V1Pod")],
    ];
  }),
);

/** The small pods of the other tests, in each of their states. */
const fixturePods: [string, KubePod][] = (
  ["unscheduled", "scheduled", "creating", "running", "ready", "failed", "succeeded", { stuck: "CrashLoopBackOff" }] as PodState[]
).map((state) => [`fixture pod ${JSON.stringify(state)}`, podObject({ name: "p", user: "alice", state, restarts: 2 })]);

const joinedOf = (pods: KubePod[], label = userLabel): JoinedPod[] => pods.map((raw) => ({ raw, pod: toPod(raw, label) }));

describe("slimPod", () => {
  it("keeps a small fraction of a realistic pod, and none of managedFields, spec.containers or the other annotations", () => {
    const pod = realisticJupyterLabPod({ state: "ready" });
    const slim = slimPod(pod);
    expect(JSON.stringify(pod).length).toBeGreaterThan(15_000);
    expect(JSON.stringify(slim).length).toBeLessThan(1_500);
    expect(slim.metadata?.managedFields).toBeUndefined();
    expect(JSON.stringify(slim)).not.toContain("JUPYTERHUB_API_TOKEN");
    expect(slim.metadata?.annotations).toEqual({ "hub.jupyter.org/username": "alice" });
    expect(slim.metadata?.labels).toEqual(pod.metadata?.labels);
  });

  it.each([...realisticPods, ...fixturePods])("%s: the same Pod model under any user label", (_name, pod) => {
    const slim = slimPod(pod);
    for (const label of userLabels) expect(toPod(slim, label)).toEqual(toPod(pod, label));
  });

  it.each(realisticPods)("%s: the same IDE key under any enabled conventions, and the same IDE", (_name, pod) => {
    const slim = slimPod(pod);
    for (const enabled of conventionSets) {
      const key = ideKeyOfPod(pod, enabled);
      expect(ideKeyOfPod(slim, enabled)).toBe(key);
      if (key === undefined || key.startsWith("KUBEFLOW_NOTEBOOK/")) continue;
      for (const label of userLabels) {
        expect(toIde(key, "team-a", joinedOf([slim], label), undefined, label)).toEqual(
          toIde(key, "team-a", joinedOf([pod], label), undefined, label),
        );
      }
    }
  });

  it("keeps why a pod is not ready only while it is not: the scheduler's message, a waiting container's image and last termination", () => {
    const ready = slimPod(realisticJupyterLabPod({ state: "ready", restarts: 2 }));
    expect(ready.status?.conditions).toEqual([{ type: "Ready", status: "True" }]);
    for (const c of ready.status?.containerStatuses ?? [])
      expect(Object.keys(c).sort()).toEqual(["name", "ready", "restartCount", "state"]);

    const pending = slimPod(realisticJupyterLabPod({ state: "pending" }));
    expect(pending.status?.conditions).toEqual([
      { type: "PodScheduled", status: "False", reason: "Unschedulable", message: expect.stringMatching(/^0\/40 nodes are available/) },
    ]);
    // Many pods wait for the same reason: one shared condition.
    expect(slimPod(realisticJupyterLabPod({ state: "pending", index: 9 })).status?.conditions).toBe(pending.status?.conditions);

    const [notebook, proxy] = slimPod(realisticJupyterLabPod({ state: "crashloop" })).status?.containerStatuses ?? [];
    expect(notebook).toMatchObject({
      image: "quay.io/jupyter/scipy-notebook:2024-05-27",
      lastState: { terminated: { exitCode: 1, reason: "Error", message: expect.stringContaining("ModuleNotFoundError") } },
    });
    expect(proxy?.image).toBeUndefined(); // running
  });

  it("is the same slim object when applied again", () => {
    for (const [, pod] of [...realisticPods, ...fixturePods]) expect(slimPod(slimPod(pod))).toEqual(slimPod(pod));
  });

  it("keeps timestamps in the form the models serve, whether they came as Date or as RFC 3339 strings", () => {
    const watched = realisticJupyterLabPod({ state: "ready", index: 7 });
    const listed = asListed(watched, "V1Pod");
    expect(listed.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(slimPod(listed)).toEqual(slimPod(watched));
    expect(slimPod(watched).metadata?.creationTimestamp).toBe(toPod(slimPod(watched), userLabel).creationTimestamp);
  });

  it("finds the same changes between two versions of a pod as the full pods show", () => {
    const lifecycle: RealisticPodState[] = [
      "pending",
      "init",
      "creating",
      "running",
      "ready",
      "crashloop",
      "ready",
      "oomkilled",
      "terminating",
    ];
    const versions = lifecycle.map((state, i) => realisticJupyterLabPod({ state, index: 3, resourceVersion: String(100 + i) }));
    // A write no served field shows: an annotation kubesub does not read, and new managedFields.
    const rewritten = structuredClone(versions[4] as KubePod);
    annotate(rewritten, { "kubesub.io/last-activity": "2024-05-01T12:00:00Z" });
    rewritten.metadata = { ...rewritten.metadata, resourceVersion: "999", managedFields: [] };
    versions.push(rewritten, asListed(rewritten, "V1Pod"));
    for (const [i, next] of versions.entries()) {
      const previous = versions[Math.max(0, i - 1)] as KubePod;
      const full = changedFields(toPod(previous, userLabel), toPod(next, userLabel), ["resourceVersion"]);
      expect(changedFields(toPod(slimPod(previous), userLabel), toPod(slimPod(next), userLabel), ["resourceVersion"])).toEqual(full);
    }
    expect(
      changedFields(toPod(slimPod(versions[4] as KubePod), userLabel), toPod(slimPod(rewritten), userLabel), ["resourceVersion"]),
    ).toEqual([]);
  });

  it("shares what many pods have alike, frozen, and nothing that differs", () => {
    const a = slimPod(realisticJupyterLabPod({ state: "ready", index: 1, user: "alice" }));
    const b = slimPod(realisticJupyterLabPod({ state: "ready", index: 41, user: "bob" }));
    expect(a.spec).toBe(b.spec); // both on worker-01
    expect(Object.isFrozen(a.spec)).toBe(true);
    expect(a.status?.conditions).toBe(b.status?.conditions);
    expect(a.metadata?.annotations).not.toBe(b.metadata?.annotations);
    expect(a.metadata?.labels).not.toBe(b.metadata?.labels);
  });
});

describe("slimNotebook", () => {
  const notebooks: [string, KubeObject][] = [
    ["a JupyterLab notebook", realisticNotebook({ name: "nb-0" })],
    ["a VS Code notebook", realisticNotebook({ name: "nb-0", serverType: "group-one" })],
    ["an RStudio notebook, stopped", realisticNotebook({ name: "nb-0", serverType: "group-two", stopped: true })],
    ["a notebook of an unknown server type", realisticNotebook({ name: "nb-0", serverType: "constructor" })],
    ["a notebook without a user label (its creator annotation)", notebookObject({ name: "nb-0", creator: "carol@example.org" })],
  ];

  it.each(notebooks)("%s: the same IDE, with its pod in any state", (_name, notebook) => {
    const slim = slimNotebook(notebook);
    expect(notebookKey(slim)).toBe(notebookKey(notebook));
    for (const state of states) {
      const pod = realisticJupyterLabPod({ convention: "kubeflow-notebook", name: "nb-0-0", state });
      for (const label of userLabels) {
        expect(toIde("KUBEFLOW_NOTEBOOK/nb-0", "team-a", joinedOf([slimPod(pod)], label), slim, label)).toEqual(
          toIde("KUBEFLOW_NOTEBOOK/nb-0", "team-a", joinedOf([pod], label), notebook, label),
        );
      }
    }
    expect(slimNotebook(asListed(notebook, "object"))).toEqual(slim);
  });

  it("keeps only the annotations the conventions read", () => {
    const slim = slimNotebook(realisticNotebook({ name: "nb-0", serverType: "group-one", stopped: true }));
    expect(Object.keys(slim.metadata?.annotations ?? {}).sort()).toEqual([
      "kubeflow-resource-stopped",
      "notebooks.kubeflow.org/creator",
      "notebooks.kubeflow.org/server-type",
    ]);
  });

  it("finds the same changes between two versions of an IDE", () => {
    const pod = realisticJupyterLabPod({ convention: "kubeflow-notebook", name: "nb-0-0", state: "ready" });
    const versions = [
      realisticNotebook({ name: "nb-0", resourceVersion: "1" }),
      realisticNotebook({ name: "nb-0", serverType: "group-one", resourceVersion: "2" }),
      realisticNotebook({ name: "nb-0", serverType: "group-one", stopped: true, resourceVersion: "3" }),
      realisticNotebook({ name: "nb-0", serverType: "group-one", stopped: true, user: "bob", resourceVersion: "4" }),
    ];
    const ide = (notebook: KubeObject, raw: KubePod) => toIde("KUBEFLOW_NOTEBOOK/nb-0", "team-a", joinedOf([raw]), notebook, userLabel);
    for (const [i, next] of versions.entries()) {
      const previous = versions[Math.max(0, i - 1)] as KubeObject;
      const full = ideChangedFields(ide(previous, pod) as never, ide(next, pod) as never);
      expect(ideChangedFields(ide(slimNotebook(previous), slimPod(pod)) as never, ide(slimNotebook(next), slimPod(pod)) as never)).toEqual(
        full,
      );
    }
  });
});

describe("the Dask resources", () => {
  const cluster = realisticDaskCluster({ name: "analysis", user: "dan", replicas: 3, phase: "Running" });
  const podsOf = (clusterState: RealisticPodState) => [
    realisticJupyterLabPod({
      name: "analysis-scheduler",
      state: clusterState,
      labels: { [daskLabels.cluster]: "analysis", [daskLabels.component]: "scheduler" },
    }),
    ...[1, 2, 3].map((i) =>
      realisticJupyterLabPod({
        name: `analysis-worker-${i}`,
        index: i,
        state: i === 3 ? "creating" : clusterState,
        labels: { [daskLabels.cluster]: "analysis", [daskLabels.component]: "worker", [daskLabels.workerGroup]: "analysis-default" },
      }),
    ),
    daskPod({ name: "analysis-worker-4", cluster: "analysis", component: "worker", workerGroup: "analysis-default", state: "ready" }),
  ];
  /** What a view makes of an owned object: its model, from its cluster (or none yet) and the pods it joins. */
  type Model = (raw: KubeObject, owner: KubeObject | undefined, pods: KubePod[], label: string) => unknown;
  const groupModel: Model = (raw, owner, pods, label) =>
    toDaskWorkerGroup(
      raw,
      pods.map((pod) => toPod(pod, label)),
      owner,
      label,
    );
  const autoscalerModel: Model = (raw, owner, _pods, label) => toDaskAutoscaler(raw, owner, label);
  const jobModel: Model = (raw, owner, pods, label) => toDaskJob(raw, pods[0] && toPod(pods[0], label), owner, label);
  const owned: [string, KubeObject, (raw: KubeObject) => KubeObject, Model][] = [
    [
      "a worker group",
      realisticDaskWorkerGroup({ name: "analysis-default", cluster: "analysis", replicas: 3 }),
      slimDaskWorkerGroup,
      groupModel,
    ],
    [
      "a worker group with a user label",
      realisticDaskWorkerGroup({ name: "gpu", cluster: "analysis", user: "erin" }),
      slimDaskWorkerGroup,
      groupModel,
    ],
    [
      "an autoscaler",
      realisticDaskAutoscaler({ name: "analysis", cluster: "analysis", minimum: 2, maximum: 20 }),
      slimDaskAutoscaler,
      autoscalerModel,
    ],
    [
      "a job before its cluster",
      realisticDaskJob({ name: "etl", user: "dan", status: { jobStatus: "JobCreated" } }),
      slimDaskJob,
      jobModel,
    ],
    [
      "a running job",
      realisticDaskJob({
        name: "etl",
        status: {
          jobStatus: "Running",
          clusterName: "analysis",
          startTime: "2024-05-01T10:00:05Z",
          jobRunnerPodName: "analysis-scheduler",
        },
      }),
      slimDaskJob,
      jobModel,
    ],
    [
      "a finished job",
      realisticDaskJob({
        name: "etl",
        status: { jobStatus: "Successful", clusterName: "analysis", startTime: "2024-05-01T10:00:05Z", endTime: "2024-05-01T10:30:00Z" },
      }),
      slimDaskJob,
      jobModel,
    ],
  ];

  it.each(states)("a cluster whose pods are %s: the same DaskCluster", (state) => {
    const pods = podsOf(state);
    const slimPods = pods.map(slimPod);
    for (const label of userLabels) {
      expect(toDaskCluster(slimDaskCluster(cluster), joinedOf(slimPods, label), label)).toEqual(
        toDaskCluster(cluster, joinedOf(pods, label), label),
      );
      expect(toDaskCluster(slimDaskCluster(asListed(cluster, "object")), joinedOf(slimPods, label), label)).toEqual(
        toDaskCluster(cluster, joinedOf(pods, label), label),
      );
    }
  });

  it.each(owned)("%s: the same model, cluster, owner and runner pod", (_name, raw, slim, model) => {
    const slimmed = slim(raw);
    const pods = podsOf("ready");
    for (const label of userLabels) {
      for (const owner of [cluster, undefined]) {
        const slimOwner = owner && slimDaskCluster(owner);
        expect(daskOwner(slimmed, slimOwner, label)).toBe(daskOwner(raw, owner, label));
        expect(model(slimmed, slimOwner, pods.map(slimPod), label)).toEqual(model(raw, owner, pods, label));
        expect(model(slim(asListed(raw, "object")), slimOwner, pods.map(slimPod), label)).toEqual(model(raw, owner, pods, label));
      }
    }
    expect(daskClusterName(slimmed)).toBe(daskClusterName(raw));
    expect(runnerPodName(slimmed)).toBe(runnerPodName(raw));
    expect(JSON.stringify(slimmed)).not.toContain("cooldown-until");
  });

  it("finds the same changes: replicas and phase, but not the autoscaler's cooldown", () => {
    const before = realisticDaskCluster({ name: "analysis", user: "dan", replicas: 3, phase: "Running" });
    const scaled = realisticDaskCluster({ name: "analysis", user: "dan", replicas: 5, phase: "Running" });
    const pods = podsOf("ready");
    const model = (raw: KubeObject, slim: boolean) =>
      toDaskCluster(slim ? slimDaskCluster(raw) : raw, joinedOf(slim ? pods.map(slimPod) : pods), userLabel);
    expect(daskChangedFields(model(before, true), model(scaled, true))).toEqual(
      daskChangedFields(model(before, false), model(scaled, false)),
    );
    const cooling = realisticDaskAutoscaler({ name: "analysis", cluster: "analysis", cooldownUntil: "2024-05-01T10:01:00Z" });
    const cooler = realisticDaskAutoscaler({ name: "analysis", cluster: "analysis", cooldownUntil: "2024-05-01T10:02:00Z" });
    const autoscaler = (raw: KubeObject) => toDaskAutoscaler(slimDaskAutoscaler(raw), slimDaskCluster(before), userLabel);
    expect(daskChangedFields(autoscaler(cooling), autoscaler(cooler))).toEqual([]);
  });
});

describe("slimTransformFor", () => {
  it("has a transform for every resource kubesub caches, and none for others", () => {
    const pod = realisticJupyterLabPod();
    expect(slimTransformFor(podResource)?.(pod)).toEqual(slimPod(pod));
    for (const type of [notebookResource, daskClusterResource, daskWorkerGroupResource, daskAutoscalerResource, daskJobResource]) {
      expect(slimTransformFor(type)).toBeTypeOf("function");
    }
    expect(slimTransformFor({ group: "apps", version: "v1", plural: "deployments", kind: "Deployment" })).toBeUndefined();
    expect(slimTransformFor({ ...podResource, version: "v2" })).toBeUndefined();
  });
});

// ---- random objects -----------------------------------------------------------------------------

const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
/** Timestamps as they come (RFC 3339 of several forms, Date), and what is not one. */
const timestamp: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .date({ min: new Date("1990-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true })
    .chain((date) =>
      fc.constantFrom<unknown>(
        date,
        date.toISOString(),
        date.toISOString().replace(/\.\d+Z$/, "Z"),
        date.toISOString().replace("Z", "+00:00"),
      ),
    ),
  fc.constantFrom<unknown>(undefined, null, "", "yesterday", new Date(Number.NaN), 0),
);
const word = fc.constantFrom("a", "b", "jupyterlab", "rstudio", "vscode", "emacs", "constructor", "singleuser-server", "alice", "bob", "");
const reason = maybe(
  fc.constantFrom("ContainerCreating", "CrashLoopBackOff", "ImagePullBackOff", "Completed", "Error", "OOMKilled", "Evicted"),
);
const message = maybe(fc.constantFrom("back-off 10s restarting failed container", "exit status 1", ""));
const containerState = fc.record(
  {
    waiting: fc.oneof(fc.record({ reason, message }, { requiredKeys: [] }), fc.constant(null)),
    running: fc.oneof(fc.record({ startedAt: timestamp }, { requiredKeys: [] }), fc.constant(null)),
    terminated: fc.oneof(
      fc.record({ reason, message, exitCode: maybe(fc.integer({ min: -1, max: 255 })), startedAt: timestamp }, { requiredKeys: [] }),
      fc.constant(null),
    ),
  },
  { requiredKeys: [] },
);
const containerStatus = fc.record(
  {
    name: fc.constantFrom("main", "sidecar", "init-1"),
    ready: fc.boolean(),
    restartCount: fc.nat(20),
    started: fc.boolean(),
    state: fc.oneof(containerState, fc.constant(undefined)),
    image: fc.constant("example.org/image:1"),
  },
  { requiredKeys: ["name"] },
);
const labelKey = fc.constantFrom(
  userLabel,
  "kubesub.io/ide",
  "kubesub.io/ide-name",
  "notebook-name",
  "component",
  "hub.jupyter.org/username",
  "app",
  daskLabels.cluster,
  daskLabels.component,
);
const randomPod: fc.Arbitrary<KubePod> = fc.record(
  {
    apiVersion: fc.constant("v1"),
    kind: fc.constant("Pod"),
    metadata: fc.record(
      {
        name: fc.constantFrom("jupyter-alice", "p-1", "p-2"),
        namespace: fc.constant("team-a"),
        uid: fc.uuid(),
        resourceVersion: fc.nat().map(String),
        creationTimestamp: timestamp,
        deletionTimestamp: timestamp,
        labels: fc.dictionary(labelKey, word),
        annotations: fc.dictionary(
          fc.constantFrom("hub.jupyter.org/username", "kubesub.io/other", "kubectl.kubernetes.io/default-container"),
          word,
        ),
        ownerReferences: fc.array(
          fc.record(
            {
              apiVersion: fc.constant("apps/v1"),
              kind: maybe(fc.constantFrom("StatefulSet", "ReplicaSet", "Job")),
              name: maybe(fc.constantFrom("nb", "rs-1", "")),
              controller: maybe(fc.boolean()),
              uid: fc.uuid(),
            },
            { requiredKeys: ["apiVersion"] },
          ),
          { maxLength: 3 },
        ),
        managedFields: fc.constant([{ manager: "kubelet", operation: "Update", fieldsV1: { "f:status": {} } }]),
      },
      { requiredKeys: ["name", "namespace"] },
    ),
    spec: fc.record(
      { nodeName: maybe(fc.constantFrom("node-1", "node-2")), containers: fc.constant([{ name: "main" }]) },
      { requiredKeys: [] },
    ),
    status: fc.record(
      {
        phase: maybe(fc.constantFrom("Pending", "Running", "Succeeded", "Failed", "Unknown", "constructor")),
        reason: maybe(fc.constantFrom("Evicted", "NodeLost")),
        podIP: maybe(fc.constantFrom("10.0.0.1", "10.0.0.2")),
        startTime: timestamp,
        conditions: fc.array(
          fc.record({
            type: fc.constantFrom("Ready", "PodScheduled", "ContainersReady"),
            status: fc.constantFrom("True", "False", "Unknown"),
          }),
          { maxLength: 4 },
        ),
        containerStatuses: fc.array(containerStatus, { maxLength: 3 }),
        initContainerStatuses: fc.array(containerStatus, { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ["metadata"] },
) as fc.Arbitrary<KubePod>;

describe("random pods", () => {
  it("have the same Pod model, IDE key and IDE, slim or not, and the same changes between two of them", () => {
    fc.assert(
      fc.property(randomPod, randomPod, (a, b) => {
        const [slimA, slimB] = [slimPod(a), slimPod(b)];
        for (const label of [userLabel, "hub.jupyter.org/username"]) {
          expect(toPod(slimA, label)).toEqual(toPod(a, label));
          expect(changedFields(toPod(slimA, label), toPod(slimB, label))).toEqual(changedFields(toPod(a, label), toPod(b, label)));
        }
        for (const enabled of conventionSets) {
          const key = ideKeyOfPod(a, enabled);
          expect(ideKeyOfPod(slimA, enabled)).toBe(key);
          if (key === undefined) continue;
          const notebook = key.startsWith("KUBEFLOW_NOTEBOOK/") ? realisticNotebook({ name: key.slice(key.indexOf("/") + 1) }) : undefined;
          const full = toIde(key, "team-a", joinedOf([a, b]), notebook, userLabel);
          expect(toIde(key, "team-a", joinedOf([slimA, slimB]), notebook && slimNotebook(notebook), userLabel)).toEqual(full);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("are the same models as listed by client-node (Date timestamps) and as watched", () => {
    fc.assert(
      fc.property(randomPod, (pod) => {
        const listed = asListed(pod, "V1Pod");
        expect(toPod(slimPod(listed), userLabel)).toEqual(toPod(listed, userLabel));
      }),
      { numRuns: 100 },
    );
  });
});

describe("random Dask resources", () => {
  const daskObject = fc.record(
    {
      metadata: fc.record(
        {
          name: fc.constantFrom("analysis", "etl"),
          namespace: fc.constant("team-a"),
          resourceVersion: fc.nat().map(String),
          creationTimestamp: timestamp,
          labels: fc.dictionary(labelKey, word),
          annotations: fc.dictionary(fc.constant("kubernetes.dask.org/cooldown-until"), fc.constant("2024-05-01T10:00:00Z")),
        },
        { requiredKeys: ["name"] },
      ),
      spec: fc.record(
        {
          cluster: fc.oneof(fc.constantFrom("analysis", "other", ""), fc.constant({ spec: { worker: { replicas: 2 } } })),
          worker: fc.record({ replicas: maybe(fc.nat(50)) }, { requiredKeys: [] }),
          minimum: maybe(fc.nat(10)),
          maximum: maybe(fc.nat(100)),
        },
        { requiredKeys: [] },
      ),
      status: fc.record(
        {
          phase: maybe(fc.constantFrom("Created", "Pending", "Running", "Error", "constructor")),
          jobStatus: maybe(fc.constantFrom("JobCreated", "ClusterCreated", "Running", "Successful", "Failed")),
          clusterName: maybe(fc.constantFrom("analysis", "other", "")),
          startTime: timestamp,
          endTime: timestamp,
          jobRunnerPodName: maybe(fc.constantFrom("runner", "p-1")),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ["metadata"] },
  ) as fc.Arbitrary<KubeObject>;

  it("have the same models, slim or not, as each of the four resources", () => {
    fc.assert(
      fc.property(daskObject, maybe(daskObject), fc.array(randomPod, { maxLength: 3 }), (raw, owner, pods) => {
        const joinedPods = joinedOf(pods);
        const slimJoined = joinedOf(pods.map(slimPod));
        const runner = pods[0] && toPod(pods[0], userLabel);
        const slimRunner = pods[0] && toPod(slimPod(pods[0]), userLabel);
        expect(toDaskCluster(slimDaskCluster(raw), slimJoined, userLabel)).toEqual(toDaskCluster(raw, joinedPods, userLabel));
        const slimOwner = owner && slimDaskCluster(owner);
        // The views follow the cluster each owned object names, and a job's runner pod.
        for (const slim of [slimDaskWorkerGroup, slimDaskAutoscaler, slimDaskJob])
          expect(daskClusterName(slim(raw))).toBe(daskClusterName(raw));
        expect(runnerPodName(slimDaskJob(raw))).toBe(runnerPodName(raw));
        const group = slimDaskWorkerGroup(raw);
        expect(
          toDaskWorkerGroup(
            group,
            slimJoined.map((p) => p.pod),
            slimOwner,
            userLabel,
          ),
        ).toEqual(
          toDaskWorkerGroup(
            raw,
            joinedPods.map((p) => p.pod),
            owner,
            userLabel,
          ),
        );
        expect(toDaskAutoscaler(slimDaskAutoscaler(raw), slimOwner, userLabel)).toEqual(toDaskAutoscaler(raw, owner, userLabel));
        expect(toDaskJob(slimDaskJob(raw), slimRunner, slimOwner, userLabel)).toEqual(toDaskJob(raw, runner, owner, userLabel));
      }),
      { numRuns: 300 },
    );
  });
});
