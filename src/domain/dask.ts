import type { KubeObject } from "../kube/types.ts";
import { changedFields } from "./changed-fields.ts";
import { attributed, mostTelling, type NotReadyReason } from "./not-ready-reason.ts";
import type { JoinedPod, Pod } from "./pod.ts";
import { highestResourceVersion, livePods, podsDiffer } from "./pod-set.ts";
import { isoTimestamp } from "./time.ts";

/** The Dask operator's pod labels. */
export const daskLabels = {
  cluster: "dask.org/cluster-name",
  component: "dask.org/component",
  workerGroup: "dask.org/workergroup-name",
} as const;

export type DaskClusterPhase = "CREATED" | "PENDING" | "RUNNING" | "ERROR" | "UNKNOWN";
export type DaskJobStatus = "JOB_CREATED" | "CLUSTER_CREATED" | "RUNNING" | "SUCCESSFUL" | "FAILED" | "UNKNOWN";

export interface DaskCluster {
  name: string;
  project: string;
  user: string | null;
  /** status.phase as the operator sets it. */
  phase: DaskClusterPhase;
  /** spec.worker.replicas: what the cluster (or its autoscaler) asks for. */
  desiredWorkers: number;
  /** Worker pods that exist and are not being deleted. */
  workers: number;
  /** Worker pods whose Ready condition is True. */
  readyWorkers: number;
  schedulerReady: boolean;
  /** Why it is not ready (daskClusterNotReadyReason); null when it is, or when nothing says why. */
  reason: string | null;
  message: string | null;
  scheduler: Pod | null;
  createdAt: string | null;
  resourceVersion: string;
}

export interface DaskWorkerGroup {
  name: string;
  project: string;
  /** Its own user label, else its cluster's (daskOwner). */
  user: string | null;
  /** spec.cluster: the DaskCluster it belongs to. */
  cluster: string | null;
  desiredWorkers: number;
  workers: number;
  readyWorkers: number;
  resourceVersion: string;
}

export interface DaskAutoscaler {
  name: string;
  project: string;
  /** Its own user label, else its cluster's (daskOwner). */
  user: string | null;
  /** spec.cluster: the DaskCluster it scales. */
  cluster: string | null;
  minimum: number;
  maximum: number;
  resourceVersion: string;
}

export interface DaskJob {
  name: string;
  project: string;
  /** Its own user label, else its cluster's (daskOwner). */
  user: string | null;
  status: DaskJobStatus;
  /** The DaskCluster the job runs on (status.clusterName). */
  cluster: string | null;
  startTime: string | null;
  endTime: string | null;
  runnerPod: Pod | null;
  resourceVersion: string;
}

/** The fields of the operator's resources that kubesub reads; raw JSON from the API. */
export interface DaskObject extends KubeObject {
  spec?: {
    cluster?: string | object;
    worker?: { replicas?: number };
    minimum?: number;
    maximum?: number;
  };
  status?: { phase?: string; jobStatus?: string; clusterName?: string; startTime?: string; endTime?: string; jobRunnerPodName?: string };
}

// Maps, not object literals: a status value such as "constructor" must map to UNKNOWN.
const phases = new Map<string, DaskClusterPhase>([
  ["Created", "CREATED"],
  ["Pending", "PENDING"],
  ["Running", "RUNNING"],
  ["Error", "ERROR"],
]);
const jobStatuses = new Map<string, DaskJobStatus>([
  ["JobCreated", "JOB_CREATED"],
  ["ClusterCreated", "CLUSTER_CREATED"],
  ["Running", "RUNNING"],
  ["Successful", "SUCCESSFUL"],
  ["Failed", "FAILED"],
]);

const replicasOf = (object: DaskObject) => object.spec?.worker?.replicas ?? 0;
const workersOf = (pods: readonly Pod[]) => livePods(pods);

/**
 * The DaskCluster a worker group or autoscaler belongs to (spec.cluster, a name), or the one a job
 * runs on (status.clusterName; a job's spec.cluster is the template of that cluster, not a name).
 */
export function daskClusterName(raw: KubeObject): string | undefined {
  const object = raw as DaskObject;
  if (typeof object.spec?.cluster === "string") return object.spec.cluster || undefined;
  return object.status?.clusterName || undefined;
}

/** The value of the user label on an object, if any. */
export function userOf(raw: KubeObject | undefined, userLabel: string): string | null {
  return raw?.metadata?.labels?.[userLabel] ?? null;
}

/**
 * Whom a worker group, autoscaler or job belongs to: the user its own user label names, else the
 * user of its cluster (`cluster`: that DaskCluster, undefined while it is not known). Objects of a
 * cluster that does not exist (yet, or any more) and without a label of their own belong to nobody.
 */
export function daskOwner(raw: KubeObject, cluster: KubeObject | undefined, userLabel: string): string | null {
  return userOf(raw, userLabel) ?? userOf(cluster, userLabel);
}

/** Pods: the cluster's scheduler and worker pods (label dask.org/cluster-name). */
export function toDaskCluster(raw: KubeObject, pods: readonly JoinedPod[], userLabel: string): DaskCluster {
  const object = raw as DaskObject;
  const byComponent = (component: string) =>
    pods.filter((p) => p.raw.metadata?.labels?.[daskLabels.component] === component).map((p) => p.pod);
  const workers = workersOf(byComponent("worker"));
  const scheduler = livePods(byComponent("scheduler"))[0] ?? null;
  const phase = phases.get(object.status?.phase ?? "") ?? "UNKNOWN";
  const { reason, message } = daskClusterNotReadyReason(phase, scheduler, workers);
  return {
    name: raw.metadata?.name ?? "",
    project: raw.metadata?.namespace ?? "",
    user: userOf(raw, userLabel),
    phase,
    desiredWorkers: replicasOf(object),
    workers: workers.length,
    readyWorkers: workers.filter((pod) => pod.ready).length,
    schedulerReady: scheduler?.ready ?? false,
    reason,
    message,
    scheduler,
    createdAt: isoTimestamp(raw.metadata?.creationTimestamp),
    resourceVersion: highestResourceVersion([raw.metadata?.resourceVersion ?? "", ...pods.map((p) => p.pod.resourceVersion)]),
  };
}

/**
 * Why a Dask cluster is not (wholly) ready: the most telling reason of its scheduler pod and its
 * live worker pods (not-ready-reason.ts; between equals the scheduler's, which the cluster cannot
 * work without), introduced by the pod ("Scheduler pod analysis-scheduler: Waiting for a node:
 * ..."); else, when the operator set the phase Error, Error. The operator writes no reason or
 * message of its own in the DaskCluster's status, only its phase.
 */
export function daskClusterNotReadyReason(phase: DaskClusterPhase, scheduler: Pod | null, workers: readonly Pod[]): NotReadyReason {
  const candidates = [
    ...(scheduler ? [attributed(`Scheduler pod ${scheduler.name}`, scheduler)] : []),
    ...workers.map((pod) => attributed(`Worker pod ${pod.name}`, pod)),
  ];
  const ofPods = mostTelling(candidates);
  if (ofPods.reason !== null) return ofPods;
  if (phase === "ERROR") return { reason: "Error", message: "The Dask operator set the cluster's phase to Error" };
  return ofPods;
}

/**
 * Pods: the group's worker pods (label dask.org/workergroup-name). cluster: the DaskCluster it
 * names, undefined while none of that name is known.
 */
export function toDaskWorkerGroup(
  raw: KubeObject,
  pods: readonly Pod[],
  cluster: KubeObject | undefined,
  userLabel: string,
): DaskWorkerGroup {
  const object = raw as DaskObject;
  const workers = workersOf(pods);
  return {
    name: raw.metadata?.name ?? "",
    project: raw.metadata?.namespace ?? "",
    user: daskOwner(raw, cluster, userLabel),
    cluster: daskClusterName(raw) ?? null,
    desiredWorkers: replicasOf(object),
    workers: workers.length,
    readyWorkers: workers.filter((pod) => pod.ready).length,
    resourceVersion: highestResourceVersion([raw.metadata?.resourceVersion ?? "", ...pods.map((p) => p.resourceVersion)]),
  };
}

/**
 * The autoscaler's cooldown annotation is not served, so its churn never makes an update.
 * cluster: the DaskCluster it names, undefined while none of that name is known.
 */
export function toDaskAutoscaler(raw: KubeObject, cluster: KubeObject | undefined, userLabel: string): DaskAutoscaler {
  const object = raw as DaskObject;
  return {
    name: raw.metadata?.name ?? "",
    project: raw.metadata?.namespace ?? "",
    user: daskOwner(raw, cluster, userLabel),
    cluster: daskClusterName(raw) ?? null,
    minimum: object.spec?.minimum ?? 0,
    maximum: object.spec?.maximum ?? 0,
    resourceVersion: raw.metadata?.resourceVersion ?? "",
  };
}

/** The name of the job's runner pod, as the operator records it. */
export function runnerPodName(raw: KubeObject): string | undefined {
  return (raw as DaskObject).status?.jobRunnerPodName ?? undefined;
}

/** cluster: the DaskCluster the job runs on, undefined while none of that name is known. */
export function toDaskJob(raw: KubeObject, runnerPod: Pod | undefined, cluster: KubeObject | undefined, userLabel: string): DaskJob {
  const object = raw as DaskObject;
  return {
    name: raw.metadata?.name ?? "",
    project: raw.metadata?.namespace ?? "",
    user: daskOwner(raw, cluster, userLabel),
    status: jobStatuses.get(object.status?.jobStatus ?? "") ?? "UNKNOWN",
    cluster: daskClusterName(raw) ?? null,
    startTime: isoTimestamp(object.status?.startTime),
    endTime: isoTimestamp(object.status?.endTime),
    runnerPod: runnerPod ?? null,
    resourceVersion: highestResourceVersion([raw.metadata?.resourceVersion ?? "", runnerPod?.resourceVersion ?? ""]),
  };
}

/** Served fields that changed; joined pods (scheduler, runnerPod) compared without their resourceVersions. */
export function daskChangedFields(old: object, next: object): string[] {
  const a = old as Record<string, unknown>;
  const b = next as Record<string, unknown>;
  const podFields = ["scheduler", "runnerPod"];
  const changed = changedFields(a, b, ["resourceVersion", ...podFields]);
  for (const field of podFields) {
    if (!(field in b)) continue;
    const before = a[field] as Pod | null;
    const after = b[field] as Pod | null;
    if ((before === null) !== (after === null) || (before && after && podsDiffer([before], [after]))) changed.push(field);
  }
  return changed;
}
