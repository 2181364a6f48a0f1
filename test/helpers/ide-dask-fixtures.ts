// Small Kubernetes objects for the IDE and Dask tests: pods in named lifecycle states (made from
// the one pod fixture, ./pods.ts), Kubeflow Notebooks and the Dask operator's resources, shaped as
// the controllers write them. Only the fields kubesub reads are filled in.
import { daskLabels } from "../../src/domain/dask.ts";
import { type JoinedPod, type KubePod, toPod } from "../../src/domain/pod.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { type PodFixtureOptions, podFixture } from "./pods.ts";
import { userLabel } from "./settings.ts";

export const started = "2024-05-01T10:00:00.000Z";

/**
 * Where a pod is in its life:
 * - unscheduled: Pending, waiting for a node.
 * - scheduled: bound to a node, no container status yet.
 * - creating: bound, its container ContainerCreating.
 * - running: Running, container started but not Ready.
 * - ready: Running and Ready.
 * - { stuck: reason }: bound, its container waiting with that reason (CrashLoopBackOff...).
 * - failed / succeeded: the phase.
 */
export type PodState = "unscheduled" | "scheduled" | "creating" | "running" | "ready" | "failed" | "succeeded" | { stuck: string };

export interface PodSpec extends Omit<PodFixtureOptions, "uid" | "managedFields"> {
  name: string;
  /** Default team-a. */
  namespace?: string;
  state?: PodState;
  restarts?: number;
}

type Status = NonNullable<KubePod["status"]>;

/** The pod fixture, with the uid uid-<name>, in the given state (default: unscheduled). */
export function podObject(spec: PodSpec): KubePod {
  const { name, namespace, state, restarts, ...options } = spec;
  const pod = podFixture(namespace ?? "team-a", name, { ...options, uid: `uid-${name}` });
  setPodState(pod, state ?? "unscheduled", restarts ?? 0);
  return pod;
}

/** Moves a pod to a state in place, as the scheduler and kubelet would (for cluster.update). */
export function setPodState(pod: KubePod, state: PodState, restarts = 0): void {
  const container = (ready: boolean, containerState: NonNullable<NonNullable<Status["containerStatuses"]>[number]["state"]>) => [
    { name: "main", ready, restartCount: restarts, state: containerState },
  ];
  const scheduledOn = (status: Status) => {
    pod.spec = { ...pod.spec, nodeName: "node-1" };
    pod.status = status;
  };
  const bound = [{ type: "PodScheduled", status: "True" }];
  const notReady = [...bound, { type: "Ready", status: "False" }];
  if (typeof state === "object") {
    const phase = state.stuck === "CrashLoopBackOff" || state.stuck === "RunContainerError" ? "Running" : "Pending";
    scheduledOn({
      phase,
      startTime: started,
      conditions: notReady,
      containerStatuses: container(false, { waiting: { reason: state.stuck, message: `${state.stuck} (test)` } }),
    });
    return;
  }
  switch (state) {
    case "unscheduled":
      pod.spec = { ...pod.spec, nodeName: undefined };
      pod.status = { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False" }] };
      return;
    case "scheduled":
      scheduledOn({ phase: "Pending", conditions: notReady });
      return;
    case "creating":
      scheduledOn({
        phase: "Pending",
        startTime: started,
        conditions: notReady,
        containerStatuses: container(false, { waiting: { reason: "ContainerCreating" } }),
      });
      return;
    case "running":
      scheduledOn({
        phase: "Running",
        podIP: "10.0.0.7",
        startTime: started,
        conditions: notReady,
        containerStatuses: container(false, { running: { startedAt: started } }),
      });
      return;
    case "ready":
      scheduledOn({
        phase: "Running",
        podIP: "10.0.0.7",
        startTime: started,
        conditions: [...bound, { type: "Ready", status: "True" }],
        containerStatuses: container(true, { running: { startedAt: started } }),
      });
      return;
    case "failed":
    case "succeeded":
      scheduledOn({
        phase: state === "failed" ? "Failed" : "Succeeded",
        podIP: "10.0.0.7",
        startTime: started,
        conditions: notReady,
        containerStatuses: container(false, { terminated: { exitCode: state === "failed" ? 1 : 0, startedAt: started } }),
      });
      return;
  }
}

/** Adds or replaces annotations in place: a write no served field shows. */
export function annotate(object: KubeObject, annotations: Record<string, string>): void {
  object.metadata = { ...object.metadata, annotations: { ...object.metadata?.annotations, ...annotations } };
}

/** A pod as views join it: the raw object and its Pod model. */
export function joined(raw: KubePod): JoinedPod {
  return { raw, pod: toPod(raw, userLabel) };
}

// ---- Kubeflow ---------------------------------------------------------------------------------

export interface NotebookSpec {
  name: string;
  namespace?: string;
  /** The user label on the Notebook. */
  user?: string;
  /** notebooks.kubeflow.org/creator */
  creator?: string;
  /** notebooks.kubeflow.org/server-type: jupyter, group-one (VS Code), group-two (RStudio). */
  serverType?: string;
  /** Sets kubeflow-resource-stopped, as the dashboard does to stop a notebook. */
  stopped?: boolean;
  resourceVersion?: string;
}

export function notebookObject(spec: NotebookSpec): KubeObject {
  const annotations: Record<string, string> = {};
  if (spec.serverType !== undefined) annotations["notebooks.kubeflow.org/server-type"] = spec.serverType;
  if (spec.creator !== undefined) annotations["notebooks.kubeflow.org/creator"] = spec.creator;
  if (spec.stopped) annotations["kubeflow-resource-stopped"] = "2024-05-01T12:00:00Z";
  return {
    apiVersion: "kubeflow.org/v1",
    kind: "Notebook",
    metadata: {
      name: spec.name,
      namespace: spec.namespace ?? "team-a",
      labels: spec.user ? { [userLabel]: spec.user } : {},
      annotations,
      ...(spec.resourceVersion ? { resourceVersion: spec.resourceVersion } : {}),
    },
  };
}

/** The pod the notebook-controller's StatefulSet makes for a Notebook: <notebook>-0, labelled notebook-name. */
export function notebookPod(notebook: string, spec: Omit<PodSpec, "name"> = {}): KubePod {
  return podObject({ ...spec, name: `${notebook}-0`, labels: { "notebook-name": notebook, statefulset: notebook, ...spec.labels } });
}

// ---- Dask operator -------------------------------------------------------------------------------

type DaskObject = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

export function daskClusterObject(spec: {
  name: string;
  namespace?: string;
  user?: string;
  replicas?: number;
  /** status.phase as the operator writes it: Created, Pending, Running, Error. */
  phase?: string;
  resourceVersion?: string;
}): DaskObject {
  return {
    apiVersion: "kubernetes.dask.org/v1",
    kind: "DaskCluster",
    metadata: {
      name: spec.name,
      namespace: spec.namespace ?? "team-a",
      labels: spec.user ? { [userLabel]: spec.user } : {},
      creationTimestamp: started,
      ...(spec.resourceVersion ? { resourceVersion: spec.resourceVersion } : {}),
    },
    spec: { scheduler: {}, worker: spec.replicas === undefined ? {} : { replicas: spec.replicas } },
    ...(spec.phase ? { status: { phase: spec.phase } } : {}),
  };
}

export function daskWorkerGroupObject(spec: { name: string; cluster: string; namespace?: string; replicas?: number }): DaskObject {
  return {
    apiVersion: "kubernetes.dask.org/v1",
    kind: "DaskWorkerGroup",
    metadata: { name: spec.name, namespace: spec.namespace ?? "team-a", labels: { [daskLabels.cluster]: spec.cluster } },
    spec: { cluster: spec.cluster, worker: { replicas: spec.replicas ?? 0 } },
  };
}

export function daskAutoscalerObject(spec: {
  name: string;
  cluster: string;
  namespace?: string;
  minimum?: number;
  maximum?: number;
  cooldownUntil?: string;
}): DaskObject {
  return {
    apiVersion: "kubernetes.dask.org/v1",
    kind: "DaskAutoscaler",
    metadata: {
      name: spec.name,
      namespace: spec.namespace ?? "team-a",
      ...(spec.cooldownUntil ? { annotations: { [cooldownAnnotation]: spec.cooldownUntil } } : {}),
    },
    spec: { cluster: spec.cluster, minimum: spec.minimum ?? 1, maximum: spec.maximum ?? 5 },
  };
}

/** The annotation the Dask autoscaler rewrites on every evaluation. */
export const cooldownAnnotation = "kubernetes.dask.org/cooldown-until";

export interface DaskJobStatusSpec {
  /** JobCreated, ClusterCreated, Running, Successful, Failed. */
  jobStatus?: string;
  clusterName?: string;
  startTime?: string;
  endTime?: string;
  jobRunnerPodName?: string;
}

export function daskJobObject(spec: { name: string; namespace?: string; user?: string; status?: DaskJobStatusSpec }): DaskObject {
  return {
    apiVersion: "kubernetes.dask.org/v1",
    kind: "DaskJob",
    metadata: { name: spec.name, namespace: spec.namespace ?? "team-a", labels: spec.user ? { [userLabel]: spec.user } : {} },
    spec: { job: {}, cluster: {} },
    ...(spec.status ? { status: { ...spec.status } } : {}),
  };
}

/** Replaces fields of a Dask object's status in place (for cluster.update). */
export function setDaskStatus(object: KubeObject, status: Record<string, unknown>): void {
  const dask = object as DaskObject;
  dask.status = { ...dask.status, ...status };
}

/** Sets spec.worker.replicas in place, as a user or the autoscaler scales a cluster or group. */
export function setReplicas(object: KubeObject, replicas: number): void {
  const dask = object as DaskObject;
  dask.spec = { ...dask.spec, worker: { ...(dask.spec?.worker as object), replicas } };
}

/** A pod of a Dask cluster, labelled as the operator labels them. */
export function daskPod(
  spec: Omit<PodSpec, "labels"> & { cluster: string; component: "scheduler" | "worker" | "job-runner"; workerGroup?: string },
): KubePod {
  const labels: Record<string, string> = { [daskLabels.cluster]: spec.cluster, [daskLabels.component]: spec.component };
  if (spec.workerGroup) labels[daskLabels.workerGroup] = spec.workerGroup;
  return podObject({ ...spec, labels });
}

// ---- tables -------------------------------------------------------------------------------------

/**
 * Table rows as [name, row] pairs for it.each(rows(table))("%s", (_name, row) => ...): vitest prints
 * "%s" whole, where it quotes and cuts "$name" after 40 characters.
 */
export function rows<T extends { name: string }>(table: readonly T[]): [string, T][] {
  return table.map((row) => [row.name, row]);
}
