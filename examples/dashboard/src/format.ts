// Small DOM builders for table cells.

export type Tone = "ok" | "busy" | "bad" | "idle";

/** A coloured label; data-tone lets a test or a stylesheet tell good from bad without parsing text. */
export function chip(text: string, tone: Tone): HTMLElement {
  const span = document.createElement("span");
  span.className = `chip tone-${tone}`;
  span.dataset.tone = tone;
  span.textContent = text;
  return span;
}

export function yesNo(value: boolean): HTMLElement {
  return chip(value ? "yes" : "no", value ? "ok" : "busy");
}

const badPodStatuses = /BackOff|Err|Error|Failed|Invalid|OOMKilled|Evicted/;

/** The tone of kubectl's STATUS column for a pod. */
export function podStatusTone(status: string, ready: boolean): Tone {
  if (badPodStatuses.test(status)) return "bad";
  if (status === "Running") return ready ? "ok" : "busy";
  if (status === "Succeeded" || status === "Completed" || status === "Terminating") return "idle";
  return "busy";
}

const tones: Record<string, Tone> = {
  READY: "ok",
  RUNNING: "ok",
  SUCCESSFUL: "ok",
  STARTING: "busy",
  PENDING: "busy",
  CREATED: "busy",
  JOB_CREATED: "busy",
  CLUSTER_CREATED: "busy",
  FAILED: "bad",
  ERROR: "bad",
  STOPPED: "idle",
  TERMINATING: "idle",
  UNKNOWN: "idle",
};

/** An enum value from the schema (READY, CLUSTER_CREATED) as a chip: "Ready", "Cluster created". */
export function enumChip(value: string): HTMLElement {
  const words = value.toLowerCase().replaceAll("_", " ");
  return chip(words.charAt(0).toUpperCase() + words.slice(1), tones[value] ?? "idle");
}

const failureReasons = /BackOff|Err|Error|Failed|Invalid|OOMKilled|Evicted|DeadlineExceeded|NodeLost/;

/**
 * Why something is not ready (reason and message, as Pod, IDE and DaskCluster serve them): the
 * reason as a chip, bad for a failure and busy for a wait, and the message for a person beside it.
 */
export function why(reason: string | null, message: string | null): string | Node {
  if (reason === null) return "—";
  const cell = document.createElement("span");
  cell.className = "why";
  const text = document.createElement("span");
  text.className = "why-message";
  text.textContent = message ?? "";
  cell.append(chip(reason, failureReasons.test(reason) ? "bad" : "busy"), text);
  return cell;
}

export function dash(value: string | null | undefined): string {
  return value === null || value === undefined || value === "" ? "—" : value;
}
