import type { KubeObject } from "../kube/types.ts";
import { podNotReadyReason } from "./not-ready-reason.ts";
import { isoTimestamp } from "./time.ts";

export type PodPhase = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "UNKNOWN";
export type ContainerStateKind = "WAITING" | "RUNNING" | "TERMINATED" | "UNKNOWN";

export interface Label {
  key: string;
  value: string;
}

export interface ContainerStatus {
  name: string;
  /** An init container (runs to completion before the others start). */
  init: boolean;
  ready: boolean;
  restartCount: number;
  state: ContainerStateKind;
  /** Why it is waiting or terminated: CrashLoopBackOff, ImagePullBackOff, OOMKilled, Completed... */
  reason: string | null;
  message: string | null;
  exitCode: number | null;
  startedAt: string | null;
}

export interface OwnerReference {
  kind: string;
  name: string;
}

/** What a UI shows of a pod. Built from a Kubernetes Pod by toPod(); never mutated. */
export interface Pod {
  name: string;
  namespace: string;
  uid: string;
  labels: Label[];
  /** Value of the configured user label, if any. */
  user: string | null;
  phase: PodPhase;
  /** kubectl's STATUS column: Running, Pending, ContainerCreating, CrashLoopBackOff, Terminating... */
  status: string;
  ready: boolean;
  /** Why it is not ready: a Kubernetes reason (not-ready-reason.ts); null when Ready or nothing to say. */
  reason: string | null;
  /** The same for a person, with the detail (the scheduler's message, the image, the exit code). */
  message: string | null;
  containers: ContainerStatus[];
  restarts: number;
  nodeName: string | null;
  podIP: string | null;
  startTime: string | null;
  creationTimestamp: string | null;
  deletionTimestamp: string | null;
  owner: OwnerReference | null;
  resourceVersion: string;
}

/** The fields of a Kubernetes Pod that toPod reads; both client-node models and raw JSON fit. */
export interface KubePod extends KubeObject {
  metadata?: KubeObject["metadata"] & {
    creationTimestamp?: Date | string;
    ownerReferences?: { kind?: string; name?: string; controller?: boolean }[];
  };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    podIP?: string;
    startTime?: Date | string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    containerStatuses?: KubeContainerStatus[];
    initContainerStatuses?: KubeContainerStatus[];
  };
}

export interface KubeContainerStatus {
  name?: string;
  image?: string;
  ready?: boolean;
  restartCount?: number;
  started?: boolean;
  /** How its previous run ended (read while it waits: the cause of a CrashLoopBackOff). */
  lastState?: KubeContainerStatus["state"];
  state?: {
    waiting?: { reason?: string; message?: string };
    running?: { startedAt?: Date | string };
    terminated?: { reason?: string; message?: string; exitCode?: number; startedAt?: Date | string };
  };
}

const phases = new Map<string, PodPhase>([
  ["Pending", "PENDING"],
  ["Running", "RUNNING"],
  ["Succeeded", "SUCCEEDED"],
  ["Failed", "FAILED"],
]);

/** Projections by user label (one in practice), then by object: a WeakMap entry per pod, no more. */
const cache = new Map<string, WeakMap<KubePod, Pod>>();
const labelMaps = new WeakMap<Pod, Record<string, string>>();

/**
 * Label objects are shared by every pod that carries the same key and value (most of a pod's
 * labels are its app's, chart's or user's): they are never mutated. The pool forgets everything
 * when it grows past its limit, so that unique values (hashes, names) cannot grow it without end.
 */
const labelPool = new Map<string, Map<string, Label>>();
let pooledLabels = 0;
const labelPoolLimit = 2_048;

function label(key: string, value: string): Label {
  let byValue = labelPool.get(key);
  const pooled = byValue?.get(value);
  if (pooled) return pooled;
  if (pooledLabels >= labelPoolLimit) {
    labelPool.clear();
    pooledLabels = 0;
    byValue = undefined;
  }
  if (!byValue) {
    byValue = new Map();
    labelPool.set(key, byValue);
  }
  const created = Object.freeze({ key, value });
  byValue.set(value, created);
  pooledLabels += 1;
  return created;
}

/** The pod's labels as a map, for selector matching (cached per model). */
export function labelsOf(pod: Pod): Record<string, string> {
  let labels = labelMaps.get(pod);
  if (!labels) {
    labels = Object.fromEntries(pod.labels.map(({ key, value }) => [key, value]));
    labelMaps.set(pod, labels);
  }
  return labels;
}

/**
 * A pod as a join holds it: the raw object (annotations and labels that the Pod model does not
 * serve, which conventions read) and its Pod model. IDEs and Dask clusters are built from these.
 */
export interface JoinedPod {
  raw: KubeObject;
  pod: Pod;
}

/**
 * Projects a Kubernetes Pod onto the Pod model. Memoised per object and user label: the informer
 * keeps one object per version, so every subscriber of that version shares one projection.
 */
export function toPod(pod: KubePod, userLabel: string): Pod {
  let byPod = cache.get(userLabel);
  if (!byPod) {
    byPod = new WeakMap();
    cache.set(userLabel, byPod);
  }
  let projected = byPod.get(pod);
  if (!projected) {
    projected = project(pod, userLabel);
    byPod.set(pod, projected);
  }
  return projected;
}

function project(pod: KubePod, userLabel: string): Pod {
  const meta = pod.metadata ?? {};
  const status = pod.status ?? {};
  // concat, not a spread: an array of exactly their number, which the model keeps.
  const containers = (status.initContainerStatuses ?? [])
    .map((c) => toContainerStatus(c, true))
    .concat((status.containerStatuses ?? []).map((c) => toContainerStatus(c, false)));
  const labels = Object.entries(meta.labels ?? {}).map(([key, value]) => label(key, value));
  const owner = meta.ownerReferences?.find((o) => o.controller) ?? meta.ownerReferences?.[0];
  const deletionTimestamp = isoTimestamp(meta.deletionTimestamp);
  const ready = status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  const { reason, message } = podNotReadyReason(pod);
  return {
    name: meta.name ?? "",
    namespace: meta.namespace ?? "",
    uid: meta.uid ?? "",
    labels,
    user: meta.labels?.[userLabel] ?? null,
    phase: phases.get(status.phase ?? "") ?? "UNKNOWN",
    status: displayStatus(status, containers, deletionTimestamp),
    ready,
    reason,
    message,
    containers,
    restarts: containers.reduce((sum, c) => sum + c.restartCount, 0),
    nodeName: pod.spec?.nodeName ?? null,
    podIP: status.podIP ?? null,
    startTime: isoTimestamp(status.startTime),
    creationTimestamp: isoTimestamp(meta.creationTimestamp),
    deletionTimestamp,
    owner: owner?.kind && owner.name ? { kind: owner.kind, name: owner.name } : null,
    resourceVersion: meta.resourceVersion ?? "",
  };
}

function toContainerStatus(c: KubeContainerStatus, init: boolean): ContainerStatus {
  const { waiting, running, terminated } = c.state ?? {};
  const state: ContainerStateKind = waiting ? "WAITING" : running ? "RUNNING" : terminated ? "TERMINATED" : "UNKNOWN";
  return {
    name: c.name ?? "",
    init,
    ready: c.ready ?? false,
    restartCount: c.restartCount ?? 0,
    state,
    reason: waiting?.reason ?? terminated?.reason ?? null,
    message: waiting?.message ?? terminated?.message ?? null,
    exitCode: terminated?.exitCode ?? null,
    startedAt: isoTimestamp(running?.startedAt ?? terminated?.startedAt),
  };
}

/** The same precedence as kubectl get pods: terminating, then init and container reasons, then phase. */
function displayStatus(status: NonNullable<KubePod["status"]>, containers: ContainerStatus[], deletionTimestamp: string | null): string {
  if (deletionTimestamp) return "Terminating";
  for (const c of containers) {
    if (!c.init) continue;
    if (c.state === "TERMINATED" && c.exitCode === 0) continue;
    if (c.reason) return `Init:${c.reason}`;
    if (c.state === "TERMINATED") return `Init:ExitCode:${c.exitCode ?? "unknown"}`;
    return "Init:Running";
  }
  let result = status.reason ?? status.phase ?? "Unknown";
  for (const c of containers) {
    if (c.init) continue;
    if (c.state === "WAITING" && c.reason) return c.reason;
    if (c.state === "TERMINATED") result = c.reason ?? (c.exitCode !== null ? `ExitCode:${c.exitCode}` : result);
  }
  return result;
}
