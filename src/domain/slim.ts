import {
  daskAutoscalerResource,
  daskClusterResource,
  daskJobResource,
  daskWorkerGroupResource,
  namespaceResource,
  notebookResource,
  podResource,
} from "../kube/resources.ts";
import type { KubeObject, ResourceType } from "../kube/types.ts";
import type { DaskObject } from "./dask.ts";
import { notebookAnnotationsRead, podAnnotationsRead } from "./ide.ts";
import type { KubeContainerStatus, KubePod } from "./pod.ts";
import { isoTimestamp } from "./time.ts";

// What kubesub keeps of each object it caches (client-go's TransformFunc): exactly the fields that
// the domain (toPod, ideKeyOfPod, toIde, toDask*, the views' joins and change detection) and the
// kube layer read, nothing else: of a JupyterLab pod of 17 KiB as the apiserver serves it, about a
// kilobyte. Each function builds new small objects, so that the parsed object can be collected.
// Values keep their meaning exactly, so that every domain function computes from the slim object
// what it computes from the full one (test/unit/slim.test.ts checks it), in a leaner form:
// - the strings kept are the parsed ones, but a value that many objects repeat (label values,
//   node, owner and container names, reasons) is held once, from a pool; so are the small objects
//   many pods have alike (a node's spec, an owner reference, a container's state), frozen;
// - timestamps become the ISO 8601 string the models serve (isoTimestamp's, one per instant),
//   which the models then share, instead of a Date (client-node's LIST) or an RFC 3339 string.
//
// Labels are kept whole: they are served, filtered on, and name the user (--user-label).

type Metadata = NonNullable<KubePod["metadata"]>;
type PodStatus = NonNullable<KubePod["status"]>;
type OwnerReference = NonNullable<Metadata["ownerReferences"]>[number];
type ContainerState = NonNullable<KubeContainerStatus["state"]>;

/**
 * The pools: one string per distinct value, one frozen object per distinct content. Each forgets
 * everything when it grows past its limit, so that unique values (names, hashes) cannot grow it
 * without end; what was shared before stays shared.
 */
const poolLimit = 2_048;
const strings = new Map<string, string>();
const objects = new Map<string, object>();

function pooled<T>(value: T): T {
  if (typeof value !== "string") return value;
  const known = strings.get(value);
  if (known !== undefined) return known as T;
  if (strings.size >= poolLimit) strings.clear();
  strings.set(value, value);
  return value;
}

/** The object of this content (key, as keyPart encodes it), made and frozen the first time. */
function pooledObject<T extends object>(key: string, make: () => T): T {
  const known = objects.get(key);
  if (known !== undefined) return known as T;
  if (objects.size >= poolLimit) objects.clear();
  const made = deepFreeze(make());
  objects.set(key, made);
  return made;
}

function deepFreeze<T extends object>(object: T): T {
  for (const value of Object.values(object)) if (typeof value === "object" && value !== null) deepFreeze(value);
  return Object.freeze(object);
}

/** An unambiguous part of a pool key; undefined for a value that is not pooled (an object, null...). */
function keyPart(value: unknown): string | undefined {
  switch (typeof value) {
    case "undefined":
      return "u";
    case "string":
      return `s${value.length}:${value}`;
    case "number":
    case "boolean":
      return `${typeof value}:${String(value)}`;
    default:
      return undefined;
  }
}

/** The key of an object of these values in the pool, or undefined when one of them cannot be in a key. */
function poolKey(kind: string, ...values: unknown[]): string | undefined {
  let key = kind;
  for (const value of values) {
    const part = keyPart(value);
    if (part === undefined) return undefined;
    key += part;
  }
  return key;
}

/** The timestamp as isoTimestamp serves it, when it is one; anything else as it is (isoTimestamp makes it null too). */
function timestamp<T>(value: T): T | string {
  return isoTimestamp(value) ?? value;
}

/** A copy with pooled values (a spread copy takes the parsed object's compact layout). */
function pooledLabels(labels: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!labels) return labels;
  const kept = { ...labels };
  for (const key of Object.keys(kept)) kept[key] = pooled(kept[key] as string);
  return kept;
}

/** What the kube layer (key, resourceVersion) and every model read of any object's metadata. */
function slimMetadata(
  meta: Metadata | undefined,
  annotationsRead: readonly string[],
  ownerReferences?: Metadata["ownerReferences"],
): Metadata {
  const slim: Metadata = {
    name: pooled(meta?.name),
    namespace: pooled(meta?.namespace),
    uid: meta?.uid,
    resourceVersion: meta?.resourceVersion,
    creationTimestamp: timestamp(meta?.creationTimestamp),
    labels: pooledLabels(meta?.labels),
    annotations: annotationsOf(meta?.annotations, annotationsRead),
    ownerReferences,
  };
  // Only while the object is being deleted: a field of its own then, not a slot in every object.
  if (meta?.deletionTimestamp !== undefined) slim.deletionTimestamp = timestamp(meta.deletionTimestamp);
  return slim;
}

/** The annotations read, when there is any (pooled); undefined otherwise (as if there were none). */
function annotationsOf(annotations: Record<string, string> | undefined, read: readonly string[]): Record<string, string> | undefined {
  if (!annotations) return undefined;
  let key = "annotations";
  let found = false;
  for (const name of read) {
    const value = annotations[name];
    if (value === undefined) continue;
    found = true;
    key += `${keyPart(name)}${keyPart(value) ?? "?"}`;
  }
  if (!found) return undefined;
  const make = () => {
    const kept: Record<string, string> = {};
    for (const name of read) if (annotations[name] !== undefined) kept[name] = pooled(annotations[name]);
    return kept;
  };
  // A value that is not a string (not from the apiserver) is kept as it is, unpooled.
  return key.includes("?") ? make() : pooledObject(key, make);
}

/** Shared by every ready pod: of a ready pod's conditions toPod reads only that Ready is True. */
const readyConditions: PodStatus["conditions"] = deepFreeze([{ type: "Ready", status: "True" }]);

/**
 * The conditions toPod reads: Ready when True (the pod is ready, nothing else is read), else
 * PodScheduled when False, with the scheduler's reason and message (why it is not ready; pooled,
 * as many pending pods wait for the same reason). Other conditions say nothing the containers do not.
 */
function conditionsOf(conditions: PodStatus["conditions"]): PodStatus["conditions"] {
  if (conditions?.some((c) => c.type === "Ready" && c.status === "True")) return readyConditions;
  const unscheduled = conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (!unscheduled) return undefined;
  const { reason, message } = unscheduled;
  const make = () => [
    message === undefined
      ? { type: "PodScheduled", status: "False", reason: pooled(reason) }
      : { type: "PodScheduled", status: "False", reason: pooled(reason), message },
  ];
  const key = poolKey("unscheduled", reason, message);
  return key === undefined ? make() : pooledObject(key, make);
}

/** The owner reference toPod reads (the controller, else the first), alone. */
function ownerReferencesOf(owners: Metadata["ownerReferences"]): Metadata["ownerReferences"] {
  const owner: OwnerReference | undefined = owners?.find((o) => o.controller) ?? owners?.[0];
  if (!owner) return undefined;
  const make = () => [{ kind: pooled(owner.kind), name: pooled(owner.name), controller: owner.controller }];
  const key = poolKey("owner", owner.kind, owner.name, owner.controller);
  return key === undefined ? make() : pooledObject(key, make);
}

/**
 * A pod: its metadata (with the owner reference toPod picks: the controller, else the first), its
 * node, and of its status the phase, reason and message, IP, start time, whether it is Ready (else
 * whether it is not scheduled, and why) and, per container, name, readiness, restarts and state
 * (reason, message, exit code, start); while a container waits, also its image and last termination.
 * Annotations: hub.jupyter.org/username (the JupyterHub convention's user).
 */
export function slimPod(pod: KubePod): KubePod {
  const status = pod.status;
  const nodeName = pod.spec?.nodeName;
  const specKey = poolKey("spec", nodeName);
  const makeSpec = () => ({ nodeName: pooled(nodeName) });
  return {
    metadata: slimMetadata(pod.metadata, podAnnotationsRead, ownerReferencesOf(pod.metadata?.ownerReferences)),
    spec: specKey === undefined ? makeSpec() : pooledObject(specKey, makeSpec),
    status: status && slimStatus(status),
  };
}

function slimStatus(status: PodStatus): PodStatus {
  const slim: PodStatus = {
    phase: pooled(status.phase),
    podIP: status.podIP,
    startTime: timestamp(status.startTime),
    conditions: conditionsOf(status.conditions),
    containerStatuses: status.containerStatuses?.map(slimContainerStatus),
    initContainerStatuses: status.initContainerStatuses?.map(slimContainerStatus),
  };
  // Rare (an evicted pod): fields of their own then, not slots in every pod.
  if (status.reason !== undefined) slim.reason = pooled(status.reason);
  if (status.message !== undefined) slim.message = status.message;
  return slim;
}

/**
 * Only while the container waits, its image and how its last run ended (exit code, reason,
 * message): why it waits (an image that cannot be pulled, the crash behind a CrashLoopBackOff).
 * A running container, as most are, keeps neither.
 */
function slimContainerStatus(c: KubeContainerStatus): KubeContainerStatus {
  const slim: KubeContainerStatus = {
    name: pooled(c.name),
    ready: c.ready,
    restartCount: c.restartCount,
    state: c.state && slimState(c.state),
  };
  if (!c.state?.waiting) return slim;
  if (c.image !== undefined) slim.image = pooled(c.image);
  const last = c.lastState?.terminated;
  if (last) slim.lastState = { terminated: { exitCode: last.exitCode, reason: pooled(last.reason), message: last.message } };
  return slim;
}

/**
 * Kubernetes sets one of the three; toPod reads the kind by precedence, and the reason, message
 * and start from whichever has them, so all three are kept when there are more. A state like
 * many others (running since the same second, completed, waiting without a message) is pooled.
 */
function slimState(state: ContainerState): ContainerState {
  const { waiting, running, terminated } = state;
  // Messages are long and rarely alike: a state with one is not worth a pool entry.
  const message = waiting?.message ?? terminated?.message;
  let key: string | undefined;
  let make: () => ContainerState;
  if (running && !waiting && !terminated) {
    const startedAt = timestamp(running.startedAt);
    key = poolKey("running", startedAt);
    make = () => ({ running: { startedAt } });
  } else if (terminated && !waiting && !running) {
    const startedAt = timestamp(terminated.startedAt);
    key = poolKey("terminated", terminated.reason, terminated.exitCode, startedAt);
    make = () => ({
      terminated:
        terminated.message === undefined
          ? { reason: pooled(terminated.reason), exitCode: terminated.exitCode, startedAt }
          : { reason: pooled(terminated.reason), message: terminated.message, exitCode: terminated.exitCode, startedAt },
    });
  } else if (!running && !terminated) {
    key = waiting ? poolKey("waiting", waiting.reason) : undefined;
    make = () => ({
      waiting:
        waiting &&
        (waiting.message === undefined ? { reason: pooled(waiting.reason) } : { reason: pooled(waiting.reason), message: waiting.message }),
    });
  } else {
    make = () => ({
      waiting: waiting && { reason: pooled(waiting.reason), message: waiting.message },
      running: running && { startedAt: timestamp(running.startedAt) },
      terminated: terminated && {
        reason: pooled(terminated.reason),
        message: terminated.message,
        exitCode: terminated.exitCode,
        startedAt: timestamp(terminated.startedAt),
      },
    });
  }
  return key === undefined || message !== undefined ? make() : pooledObject(key, make);
}

type NotebookStatus = {
  containerState?: { waiting?: { reason?: string; message?: string } };
  conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
};

/**
 * A Kubeflow Notebook: its metadata, with the annotations notebooks.kubeflow.org/server-type
 * (the IDE's kind), notebooks.kubeflow.org/creator (its user without a user label) and
 * kubeflow-resource-stopped; of its status, only why it is not ready (ideNotReadyReason): its
 * container's waiting reason and message, and its conditions that are not True and say why. A
 * ready Notebook keeps no status. Nothing of its spec is read.
 */
export function slimNotebook(notebook: KubeObject): KubeObject {
  const slim: KubeObject & { status?: NotebookStatus } = { metadata: slimMetadata(notebook.metadata, notebookAnnotationsRead) };
  const status = (notebook as { status?: NotebookStatus }).status;
  const waiting = status?.containerState?.waiting;
  const conditions = status?.conditions
    ?.filter((c) => c.status !== "True" && c.reason)
    .map((c) => ({ type: pooled(c.type), status: pooled(c.status), reason: pooled(c.reason), message: c.message }));
  if (waiting?.reason || conditions?.length) {
    slim.status = {
      ...(waiting?.reason ? { containerState: { waiting: { reason: pooled(waiting.reason), message: waiting.message } } } : {}),
      ...(conditions?.length ? { conditions } : {}),
    };
  }
  return slim;
}

/** The cluster a worker group, autoscaler or job names (daskClusterName): spec.cluster when a name. */
const clusterNameOf = (object: DaskObject) => (typeof object.spec?.cluster === "string" ? object.spec.cluster : undefined);

/** A DaskCluster: its metadata, spec.worker.replicas and status.phase. */
export function slimDaskCluster(cluster: DaskObject): DaskObject {
  return {
    metadata: slimMetadata(cluster.metadata, []),
    spec: { worker: { replicas: cluster.spec?.worker?.replicas } },
    status: { phase: pooled(cluster.status?.phase) },
  };
}

/** A DaskWorkerGroup: its metadata, the cluster it names (spec.cluster, else status.clusterName) and spec.worker.replicas. */
export function slimDaskWorkerGroup(group: DaskObject): DaskObject {
  return {
    metadata: slimMetadata(group.metadata, []),
    spec: { cluster: clusterNameOf(group), worker: { replicas: group.spec?.worker?.replicas } },
    status: { clusterName: group.status?.clusterName },
  };
}

/**
 * A DaskAutoscaler: its metadata, the cluster it names, spec.minimum and spec.maximum. Its
 * kubernetes.dask.org/cooldown-until annotation, rewritten every few seconds, is not kept.
 */
export function slimDaskAutoscaler(autoscaler: DaskObject): DaskObject {
  return {
    metadata: slimMetadata(autoscaler.metadata, []),
    spec: { cluster: clusterNameOf(autoscaler), minimum: autoscaler.spec?.minimum, maximum: autoscaler.spec?.maximum },
    status: { clusterName: autoscaler.status?.clusterName },
  };
}

/**
 * A DaskJob: its metadata and status.jobStatus, clusterName, startTime, endTime and
 * jobRunnerPodName. Its spec.cluster is a cluster's template, not a name, and is not kept.
 */
export function slimDaskJob(job: DaskObject): DaskObject {
  const status = job.status;
  return {
    metadata: slimMetadata(job.metadata, []),
    spec: { cluster: clusterNameOf(job) },
    status: {
      jobStatus: status?.jobStatus,
      clusterName: status?.clusterName,
      startTime: timestamp(status?.startTime),
      endTime: timestamp(status?.endTime),
      jobRunnerPodName: status?.jobRunnerPodName,
    },
  };
}

/** A Namespace as kubesub reads it (namespace-presence.ts): whether it exists, and whether it is being deleted. */
export interface KubeNamespace extends KubeObject {
  status?: { phase?: string };
}

/** Its name, uid, resourceVersion, deletionTimestamp while it is being deleted, and phase. */
export function slimNamespace(namespace: KubeNamespace): KubeNamespace {
  const meta = namespace.metadata;
  const metadata: Metadata = { name: meta?.name, uid: meta?.uid, resourceVersion: meta?.resourceVersion };
  if (meta?.deletionTimestamp !== undefined) metadata.deletionTimestamp = timestamp(meta.deletionTimestamp);
  return { metadata, status: { phase: pooled(namespace.status?.phase) } };
}

type Transform = <O extends KubeObject>(object: O) => O;

const keyOf = (type: ResourceType) => `${type.group}/${type.version}/${type.plural}`;
const transforms = new Map<string, (object: never) => KubeObject>([
  [keyOf(podResource), slimPod],
  [keyOf(notebookResource), slimNotebook],
  [keyOf(daskClusterResource), slimDaskCluster],
  [keyOf(daskWorkerGroupResource), slimDaskWorkerGroup],
  [keyOf(daskAutoscalerResource), slimDaskAutoscaler],
  [keyOf(daskJobResource), slimDaskJob],
  [keyOf(namespaceResource), slimNamespace],
]);

/**
 * The transform each resource's objects get on arrival, before they are cached
 * (InformerRegistryOptions.transformFor); undefined for a resource kubesub does not model, whose
 * objects then only lose their managedFields.
 */
export function slimTransformFor(type: ResourceType): Transform | undefined {
  return transforms.get(keyOf(type)) as Transform | undefined;
}
