import type { KubeObject } from "../kube/types.ts";
import { changedFields } from "./changed-fields.ts";
import { attributed, mostTelling, type NotReadyReason, nothingToSay } from "./not-ready-reason.ts";
import type { JoinedPod, Pod } from "./pod.ts";
import { earliest, highestResourceVersion, livePods, podsDiffer } from "./pod-set.ts";

export type IDEKind = "JUPYTERLAB" | "RSTUDIO" | "VSCODE";
export type IDEStatus = "PENDING" | "STARTING" | "READY" | "FAILED" | "STOPPED" | "TERMINATING";
export type IDEConvention = "KUBESUB_LABELS" | "KUBEFLOW_NOTEBOOK" | "JUPYTERHUB";

export const ideConventions: readonly IDEConvention[] = ["KUBESUB_LABELS", "KUBEFLOW_NOTEBOOK", "JUPYTERHUB"];

/** kubesub's own convention: this label on a pod names the IDE kind (jupyterlab, rstudio, vscode). */
export const ideKindLabel = "kubesub.io/ide";
/** Optional: groups several pods into one IDE of this name (default: the pod's name). */
export const ideNameLabel = "kubesub.io/ide-name";

// Kubeflow notebook-controller.
const notebookNameLabel = "notebook-name";
const serverTypeAnnotation = "notebooks.kubeflow.org/server-type";
const creatorAnnotation = "notebooks.kubeflow.org/creator";
const stoppedAnnotation = "kubeflow-resource-stopped";
// JupyterHub's KubeSpawner.
const hubUserKey = "hub.jupyter.org/username";

/** The annotations of a pod that the IDE conventions read (every other one is dropped on arrival, see slim.ts). */
export const podAnnotationsRead: readonly string[] = [hubUserKey];
/** The annotations of a Kubeflow Notebook that the IDE conventions read. */
export const notebookAnnotationsRead: readonly string[] = [serverTypeAnnotation, creatorAnnotation, stoppedAnnotation];

// Maps, not object literals: a label or annotation value such as "constructor" must find nothing.
const kindByLabel = new Map<string, IDEKind>([
  ["jupyterlab", "JUPYTERLAB"],
  ["rstudio", "RSTUDIO"],
  ["vscode", "VSCODE"],
]);
const kindByServerType = new Map<string, IDEKind>([
  ["jupyter", "JUPYTERLAB"],
  ["group-one", "VSCODE"],
  ["group-two", "RSTUDIO"],
]);

/** Container reasons after which an IDE will not become ready without someone's action. */
const failureReasons = new Set([
  "CrashLoopBackOff",
  "ImagePullBackOff",
  "ErrImagePull",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

export interface IDE {
  name: string;
  project: string;
  kind: IDEKind;
  user: string | null;
  status: IDEStatus;
  ready: boolean;
  /** Why it is not ready (ideNotReadyReason); null when READY, STOPPED, TERMINATING or nothing to say. */
  reason: string | null;
  message: string | null;
  restarts: number;
  /** When its oldest live pod started. */
  startedAt: string | null;
  pods: Pod[];
  convention: IDEConvention;
  resourceVersion: string;
}

/**
 * The IDE a pod belongs to, by the first enabled convention that claims it: kubesub's labels, then a
 * Kubeflow Notebook (label notebook-name), then JupyterHub (component=singleuser-server).
 * The key is "<convention>/<name>"; undefined when the pod is no IDE's.
 */
export function ideKeyOfPod(raw: KubeObject, enabled: ReadonlySet<IDEConvention>): string | undefined {
  const labels = raw.metadata?.labels ?? {};
  const kind = labels[ideKindLabel];
  if (enabled.has("KUBESUB_LABELS") && kind !== undefined && kindByLabel.has(kind)) {
    return `KUBESUB_LABELS/${labels[ideNameLabel] || (raw.metadata?.name ?? "")}`;
  }
  const notebook = labels[notebookNameLabel];
  if (enabled.has("KUBEFLOW_NOTEBOOK") && notebook) return `KUBEFLOW_NOTEBOOK/${notebook}`;
  if (enabled.has("JUPYTERHUB") && labels.component === "singleuser-server") return `JUPYTERHUB/${raw.metadata?.name ?? ""}`;
  return undefined;
}

export function notebookKey(notebook: KubeObject): string {
  return `KUBEFLOW_NOTEBOOK/${notebook.metadata?.name ?? ""}`;
}

/**
 * Builds the IDE of a key from its pods (and, for Kubeflow, its Notebook). Returns undefined when the
 * key names no IDE: no pods left, a Kubeflow pod whose Notebook is gone, or an unknown kind.
 */
export function toIde(
  key: string,
  project: string,
  pods: JoinedPod[],
  notebook: KubeObject | undefined,
  userLabel: string,
): IDE | undefined {
  const slash = key.indexOf("/");
  const convention = key.slice(0, slash) as IDEConvention;
  const name = key.slice(slash + 1);
  let kind: IDEKind | undefined;
  let user: string | null = null;
  let stopped = false;
  const versions = pods.map((p) => p.pod.resourceVersion);
  switch (convention) {
    case "KUBESUB_LABELS": {
      const first = pods[0];
      if (!first) return undefined;
      kind = kindByLabel.get(first.raw.metadata?.labels?.[ideKindLabel] ?? "");
      user = first.pod.user;
      break;
    }
    case "KUBEFLOW_NOTEBOOK": {
      if (!notebook) return undefined;
      const annotations = notebook.metadata?.annotations ?? {};
      kind = kindByServerType.get(annotations[serverTypeAnnotation] ?? "jupyter");
      user = notebook.metadata?.labels?.[userLabel] ?? annotations[creatorAnnotation] ?? null;
      stopped = annotations[stoppedAnnotation] !== undefined;
      versions.push(notebook.metadata?.resourceVersion ?? "");
      break;
    }
    case "JUPYTERHUB": {
      const first = pods[0];
      if (!first) return undefined;
      kind = "JUPYTERLAB";
      user = first.raw.metadata?.annotations?.[hubUserKey] ?? first.raw.metadata?.labels?.[hubUserKey] ?? first.pod.user;
      break;
    }
  }
  if (!kind) return undefined;
  const podModels = pods.map((p) => p.pod);
  const status = ideStatus(podModels, stopped);
  const live = livePods(podModels);
  const { reason, message } = ideNotReadyReason(status, live, notebook);
  return {
    name,
    project,
    kind,
    user,
    status,
    ready: status === "READY",
    reason,
    message,
    restarts: podModels.reduce((sum, pod) => sum + pod.restarts, 0),
    startedAt: earliest(live.map((pod) => pod.startTime)),
    pods: podModels,
    convention,
    resourceVersion: highestResourceVersion(versions),
  };
}

/**
 * An IDE's status, from its pods and whether it was stopped, first match wins:
 * - STOPPED: stopped on purpose (Kubeflow's kubeflow-resource-stopped annotation), or every live
 *   pod has completed (phase Succeeded: a server that exited cleanly).
 * - PENDING: no pod yet.
 * - TERMINATING: every pod is being deleted.
 * - READY: a live pod's Ready condition is True.
 * - FAILED: a live pod failed, or a container is stuck (CrashLoopBackOff, ImagePullBackOff,
 *   ErrImagePull, InvalidImageName, CreateContainerConfigError, CreateContainerError, RunContainerError).
 * - STARTING: a live pod is scheduled to a node (containers being created or not ready yet).
 * - PENDING: otherwise (waiting to be scheduled).
 */
export function ideStatus(pods: readonly Pod[], stopped: boolean): IDEStatus {
  if (stopped) return "STOPPED";
  if (pods.length === 0) return "PENDING";
  const live = livePods(pods);
  if (live.length === 0) return "TERMINATING";
  if (live.every((pod) => pod.phase === "SUCCEEDED")) return "STOPPED";
  if (live.some((pod) => pod.ready)) return "READY";
  const stuck = (pod: Pod) => pod.phase === "FAILED" || pod.containers.some((c) => c.reason !== null && failureReasons.has(c.reason));
  if (live.some(stuck)) return "FAILED";
  if (live.some((pod) => pod.nodeName !== null || pod.phase === "RUNNING")) return "STARTING";
  return "PENDING";
}

/** What kubesub reads of a Kubeflow Notebook's status, which the notebook-controller copies from its pod. */
interface NotebookStatus {
  containerState?: { waiting?: { reason?: string; message?: string } };
  conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
}

/**
 * Why an IDE is not ready: nothing to say when it is READY, STOPPED or TERMINATING; else the most
 * telling reason of its live pods (not-ready-reason.ts: a crash or an image that cannot be pulled
 * before waiting for a node, that before containers being created), its message introduced by the
 * pod's name when it has several; else, for a Kubeflow Notebook without such a pod, what the
 * notebook-controller last copied into the Notebook's status: its container's waiting reason, else
 * its first condition that is not True.
 */
export function ideNotReadyReason(status: IDEStatus, live: readonly Pod[], notebook: KubeObject | undefined): NotReadyReason {
  if (status === "READY" || status === "STOPPED" || status === "TERMINATING") return nothingToSay;
  const ofPods = mostTelling(live.map((pod) => (live.length > 1 ? attributed(`Pod ${pod.name}`, pod) : pod)));
  if (ofPods.reason !== null) return { reason: ofPods.reason, message: ofPods.message };
  const notebookStatus = (notebook as { status?: NotebookStatus } | undefined)?.status;
  const waiting = notebookStatus?.containerState?.waiting;
  if (waiting?.reason) return { reason: waiting.reason, message: waiting.message ?? waiting.reason };
  const condition = notebookStatus?.conditions?.find((c) => c.status !== "True" && c.reason);
  if (condition?.reason) return { reason: condition.reason, message: condition.message ?? condition.reason };
  return nothingToSay;
}

/** Served fields that changed; pods compared without their resourceVersions. */
export function ideChangedFields(old: IDE, next: IDE): string[] {
  const changed = changedFields(old, next, ["resourceVersion", "pods"]);
  if (podsDiffer(old.pods, next.pods)) changed.push("pods");
  return changed;
}
