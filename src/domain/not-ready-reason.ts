import type { KubeContainerStatus, KubePod } from "./pod.ts";

/**
 * Why something is not ready, as kubectl describe would tell it: `reason`, a stable machine string
 * (the Kubernetes reason: Unschedulable, ImagePullBackOff, CrashLoopBackOff, OOMKilled...), and
 * `message`, an English sentence for a person with the useful detail (the scheduler's message, the
 * image, the exit code and last termination message). Both null when it is ready, or when
 * Kubernetes says nothing more than its status already does.
 */
export interface NotReadyReason {
  reason: string | null;
  message: string | null;
}

export const nothingToSay: NotReadyReason = Object.freeze({ reason: null, message: null });

/**
 * The precedence of reasons, most telling first: what stops a pod for good (or until someone acts)
 * comes before what it is waiting for, and that before what it is merely on its way through.
 *  0. the pod failed as a whole: status.reason (Evicted, DeadlineExceeded, NodeLost...);
 *  1. OOMKilled: a container killed for its memory, now or as its last termination while it waits
 *     to be restarted (the cause of its CrashLoopBackOff, so named instead);
 *  2. CrashLoopBackOff: a container that keeps exiting, with its last exit code and message;
 *  3. the image cannot be pulled: ErrImagePull, ImagePullBackOff, InvalidImageName, ErrImageNeverPull...;
 *  4. the container cannot be made or started: CreateContainerConfigError, CreateContainerError,
 *     RunContainerError, PreStartHookError...;
 *  5. a container exited with an error (Error, ContainerCannotRun...), and any reason kubesub
 *     does not know;
 *  6. not scheduled: the PodScheduled condition is False (Unschedulable, SchedulingGated), with the
 *     scheduler's message;
 *  7. on its way: PodInitializing (init containers run), ContainerCreating;
 *  8. ContainersNotReady: running, but a container does not pass its readiness probe yet.
 * Between two of the same rank, the first wins: init containers before the others, in their order.
 */
const ranks = new Map<string, number>([
  ...["Evicted", "DeadlineExceeded", "NodeLost", "Shutdown", "Terminated", "NodeAffinity", "UnexpectedAdmissionError"].map(
    (reason) => [reason, 0] as const,
  ),
  ["OOMKilled", 1],
  ["CrashLoopBackOff", 2],
  ...["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable", "SignatureValidationFailed"].map(
    (reason) => [reason, 3] as const,
  ),
  ...["CreateContainerConfigError", "CreateContainerError", "RunContainerError", "PreStartHookError", "PostStartHookError"].map(
    (reason) => [reason, 4] as const,
  ),
  ["Unschedulable", 6],
  ["SchedulingGated", 6],
  ["PodInitializing", 7],
  ["ContainerCreating", 7],
  ["ContainersNotReady", 8],
]);
const unknownRank = 5;
const notScheduledRank = 6;

/**
 * A reason's place in the precedence above (lower is more telling); nothing to say comes last. From
 * the reason alone, as IDEs and Dask clusters compare their pods' served reasons: a pod's own
 * status.reason that kubesub does not know ranks 5 here, though it comes first within its pod.
 */
export function reasonRank({ reason }: NotReadyReason): number {
  if (reason === null) return Number.POSITIVE_INFINITY;
  return ranks.get(reason) ?? unknownRank;
}

/** The most telling of several reasons (the first of the lowest rank), or nothing to say. */
export function mostTelling(reasons: Iterable<NotReadyReason>): NotReadyReason {
  let best = nothingToSay;
  for (const candidate of reasons) if (reasonRank(candidate) < reasonRank(best)) best = candidate;
  return best;
}

/** The same reason, its message introduced by whose it is ("Scheduler pod analysis-scheduler: ..."). */
export function attributed(source: string, { reason, message }: NotReadyReason): NotReadyReason {
  if (reason === null) return nothingToSay;
  return { reason, message: `${source}: ${message ?? reason}` };
}

interface Ranked extends NotReadyReason {
  rank: number;
}

const quoted = (name: string | undefined) => `"${name ?? ""}"`;
const detail = (message: string | undefined) => (message ? `: ${message}` : "");

/**
 * Why a pod is not ready, by the precedence above; nothing to say when it is Ready, has Succeeded,
 * is being deleted (its status says Terminating), or when Kubernetes says nothing yet (a pod
 * just created, not yet seen by the scheduler).
 */
export function podNotReadyReason(pod: KubePod): NotReadyReason {
  const status = pod.status;
  if (!status || pod.metadata?.deletionTimestamp || status.phase === "Succeeded") return nothingToSay;
  if (status.conditions?.some((c) => c.type === "Ready" && c.status === "True")) return nothingToSay;
  if (status.phase === "Failed" && status.reason) {
    return { reason: status.reason, message: status.message ?? `The pod failed: ${status.reason}` };
  }
  const candidates: Ranked[] = [];
  for (const c of status.initContainerStatuses ?? []) {
    const found = containerReason(c, true);
    if (found) candidates.push(found);
  }
  for (const c of status.containerStatuses ?? []) {
    const found = containerReason(c, false);
    if (found) candidates.push(found);
  }
  const unscheduled = status.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (unscheduled) {
    const reason = unscheduled.reason || "Unschedulable";
    candidates.push({
      reason,
      message: unscheduled.message ? `Waiting for a node: ${unscheduled.message}` : "Waiting for a node",
      rank: ranks.get(reason) ?? notScheduledRank,
    });
  }
  const notReady = (status.containerStatuses ?? []).filter((c) => !c.ready && c.state?.running);
  if (status.phase === "Running" && notReady.length > 0) {
    const names = notReady.map((c) => quoted(c.name)).join(", ");
    candidates.push({
      reason: "ContainersNotReady",
      message: `${notReady.length === 1 ? "Container" : "Containers"} ${names} running but not ready yet`,
      rank: 8,
    });
  }
  let best: Ranked | undefined;
  for (const candidate of candidates) if (!best || candidate.rank < best.rank) best = candidate;
  if (!best) return nothingToSay;
  return { reason: best.reason, message: best.message };
}

/** What one container says, when it says something: why it waits, or how it ended badly. */
function containerReason(c: KubeContainerStatus, init: boolean): Ranked | undefined {
  const { waiting, running, terminated } = c.state ?? {};
  const name = quoted(c.name);
  const kind = init ? "Init container" : "Container";
  if (waiting) {
    const reason = waiting.reason || "Waiting";
    const last = c.lastState?.terminated;
    if (reason === "CrashLoopBackOff" && last?.reason === "OOMKilled") {
      return {
        reason: "OOMKilled",
        rank: 1,
        message: `${kind} ${name} was killed for using more memory than its limit (exit code ${last.exitCode ?? 137}), ${restarted(c)}`,
      };
    }
    const rank = ranks.get(reason) ?? unknownRank;
    switch (rank) {
      case 2: {
        const exit = last ? `its last run ended with exit code ${last.exitCode ?? "unknown"}${last.reason ? ` (${last.reason})` : ""}` : "";
        const lastMessage = last?.message ? `: ${last.message.trim()}` : "";
        return { reason, rank, message: `${kind} ${name} keeps exiting${exit ? `: ${exit}${lastMessage};` : ","} ${restarted(c)}` };
      }
      case 3:
        return {
          reason,
          rank,
          message: `Cannot pull ${c.image ? `image ${quoted(c.image)}` : "the image"} for ${kind.toLowerCase()} ${name}${detail(waiting.message)}`,
        };
      case 4:
        return { reason, rank, message: `${kind} ${name} cannot start (${reason})${detail(waiting.message)}` };
      case 7:
        return {
          reason,
          rank,
          message:
            reason === "PodInitializing"
              ? "Waiting for the init containers to finish"
              : `Creating ${kind.toLowerCase()} ${name}${detail(waiting.message)}`,
        };
      default:
        return { reason, rank, message: `${kind} ${name} is waiting (${reason})${detail(waiting.message)}` };
    }
  }
  if (running) return init ? { reason: "PodInitializing", rank: 7, message: `Init container ${name} is running` } : undefined;
  if (terminated && terminated.exitCode !== 0) {
    const reason = terminated.reason || "Error";
    const rank = reason === "OOMKilled" ? 1 : (ranks.get(reason) ?? unknownRank);
    const how =
      reason === "OOMKilled"
        ? `was killed for using more memory than its limit (exit code ${terminated.exitCode ?? 137})`
        : `exited with code ${terminated.exitCode ?? "unknown"} (${reason})`;
    return { reason, rank, message: `${kind} ${name} ${how}${detail(terminated.message?.trim())}` };
  }
  return undefined;
}

const restarted = (c: KubeContainerStatus) => {
  const times = c.restartCount ?? 0;
  return `restarted ${times} ${times === 1 ? "time" : "times"}, waiting to be started again`;
};
