import { describe, expect, it } from "vitest";
import { type IDEStatus, ideStatus } from "../../src/domain/ide.ts";
import { type KubePod, type Pod, toPod } from "../../src/domain/pod.ts";
import { type PodSpec, podObject, rows } from "../helpers/ide-dask-fixtures.ts";
import { userLabel } from "../helpers/settings.ts";

const pod = (state: PodSpec["state"], extra: Omit<PodSpec, "name" | "state"> = {}, name = "ide-0") =>
  toPod(podObject({ name, state, ...extra }), userLabel);

/** A pod whose init container is stuck: the main container never starts. */
function initStuck(reason: string): Pod {
  const raw: KubePod = podObject({ name: "ide-0", state: "scheduled" });
  raw.status = {
    ...raw.status,
    initContainerStatuses: [{ name: "init", ready: false, restartCount: 3, state: { waiting: { reason } } }],
    containerStatuses: [{ name: "main", ready: false, restartCount: 0, state: { waiting: { reason: "PodInitializing" } } }],
  };
  return toPod(raw, userLabel);
}

interface Row {
  name: string;
  pods: Pod[];
  stopped?: boolean;
  status: IDEStatus;
}

const stuckReasons = [
  "CrashLoopBackOff",
  "ImagePullBackOff",
  "ErrImagePull",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
];

describe("ideStatus", () => {
  it.each(
    rows<Row>([
      { name: "PENDING: no pod yet", pods: [], status: "PENDING" },
      { name: "PENDING: its pod waits to be scheduled", pods: [pod("unscheduled")], status: "PENDING" },
      { name: "STARTING: its pod is bound to a node", pods: [pod("scheduled")], status: "STARTING" },
      { name: "STARTING: its container is ContainerCreating", pods: [pod("creating")], status: "STARTING" },
      { name: "STARTING: its container runs but is not ready yet", pods: [pod("running")], status: "STARTING" },
      { name: "READY: its pod is Ready", pods: [pod("ready")], status: "READY" },
      ...stuckReasons.map((reason) => ({
        name: `FAILED: its container is stuck in ${reason}`,
        pods: [pod({ stuck: reason })],
        status: "FAILED" as const,
      })),
      { name: "FAILED: its init container is stuck in CrashLoopBackOff", pods: [initStuck("CrashLoopBackOff")], status: "FAILED" },
      { name: "FAILED: its pod's phase is Failed", pods: [pod("failed")], status: "FAILED" },
      { name: "TERMINATING: its only pod is being deleted", pods: [pod("ready", { deleting: true })], status: "TERMINATING" },
      {
        name: "TERMINATING: all of its pods are being deleted",
        pods: [pod("ready", { deleting: true }), pod({ stuck: "CrashLoopBackOff" }, { deleting: true }, "ide-1")],
        status: "TERMINATING",
      },
      { name: "STOPPED: stopped on purpose, no pods", pods: [], stopped: true, status: "STOPPED" },
    ]),
  )("%s", (_name, { pods, stopped, status }) => {
    expect(ideStatus(pods, stopped ?? false)).toBe(status);
  });

  it.each(
    rows<Row>([
      {
        name: "a Ready pod beats a crash-looping second pod",
        pods: [pod({ stuck: "CrashLoopBackOff" }), pod("ready", {}, "ide-1")],
        status: "READY",
      },
      { name: "a Ready pod beats a Failed second pod", pods: [pod("failed"), pod("ready", {}, "ide-1")], status: "READY" },
      {
        name: "a stuck pod beats a starting one",
        pods: [pod("creating"), pod({ stuck: "ImagePullBackOff" }, {}, "ide-1")],
        status: "FAILED",
      },
      { name: "a starting pod beats an unscheduled one", pods: [pod("unscheduled"), pod("running", {}, "ide-1")], status: "STARTING" },
      {
        name: "a Ready pod being deleted does not count; its unscheduled replacement does",
        pods: [pod("ready", { deleting: true }), pod("unscheduled", {}, "ide-1")],
        status: "PENDING",
      },
      {
        name: "a Failed pod being deleted does not count; its starting replacement does",
        pods: [pod("failed", { deleting: true }), pod("creating", {}, "ide-1")],
        status: "STARTING",
      },
      { name: "STOPPED beats a Ready pod", pods: [pod("ready")], stopped: true, status: "STOPPED" },
      { name: "STOPPED beats a failing pod", pods: [pod({ stuck: "CrashLoopBackOff" })], stopped: true, status: "STOPPED" },
      { name: "STOPPED beats pods being deleted", pods: [pod("ready", { deleting: true })], stopped: true, status: "STOPPED" },
    ]),
  )("precedence: %s", (_name, { pods, stopped, status }) => {
    expect(ideStatus(pods, stopped ?? false)).toBe(status);
  });

  it("does not depend on the order of the pods", () => {
    const pods = [pod("unscheduled"), pod({ stuck: "ErrImagePull" }, {}, "ide-1"), pod("running", {}, "ide-2")];
    expect(ideStatus(pods, false)).toBe("FAILED");
    expect(ideStatus([...pods].reverse(), false)).toBe("FAILED");
  });
});
