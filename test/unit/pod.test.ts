import { describe, expect, it } from "vitest";
import { changedFields } from "../../src/domain/changed-fields.ts";
import { type KubePod, type Pod, toPod } from "../../src/domain/pod.ts";
import { isoTimestamp } from "../../src/domain/time.ts";
import { userLabel } from "../helpers/settings.ts";

type Status = NonNullable<KubePod["status"]>;
type ContainerStatus = NonNullable<Status["containerStatuses"]>[number];

const created = "2024-05-01T10:00:00Z";

function kubePod(status: Status, metadata: KubePod["metadata"] = {}, nodeName?: string): KubePod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "jupyter-alice",
      namespace: "team-a",
      uid: "uid-1",
      resourceVersion: "42",
      creationTimestamp: created,
      labels: { [userLabel]: "alice", app: "jupyter" },
      ...metadata,
    },
    spec: nodeName ? { nodeName } : {},
    status,
  };
}

const waiting = (name: string, reason: string, restartCount = 0): ContainerStatus => ({
  name,
  ready: false,
  restartCount,
  state: { waiting: { reason, message: `${reason} message` } },
});
const running = (name: string, restartCount = 0, ready = true): ContainerStatus => ({
  name,
  ready,
  restartCount,
  started: true,
  state: { running: { startedAt: "2024-05-01T10:01:00Z" } },
});
const terminated = (name: string, exitCode: number, reason?: string, restartCount = 0): ContainerStatus => ({
  name,
  ready: false,
  restartCount,
  state: { terminated: { exitCode, ...(reason ? { reason } : {}), startedAt: "2024-05-01T10:01:00Z" } },
});
const readyConditions = (ready: boolean) => [
  { type: "PodScheduled", status: "True" },
  { type: "Ready", status: ready ? "True" : "False" },
];

describe("toPod", () => {
  it.each<{ name: string; pod: KubePod; expected: Partial<Pod> }>([
    {
      name: "Pending, not yet scheduled",
      pod: kubePod({ phase: "Pending", conditions: [{ type: "PodScheduled", status: "False" }] }),
      expected: {
        phase: "PENDING",
        status: "Pending",
        ready: false,
        nodeName: null,
        containers: [],
        restarts: 0,
        podIP: null,
        startTime: null,
      },
    },
    {
      name: "ContainerCreating",
      pod: kubePod(
        { phase: "Pending", conditions: readyConditions(false), containerStatuses: [waiting("notebook", "ContainerCreating")] },
        {},
        "node-1",
      ),
      expected: { phase: "PENDING", status: "ContainerCreating", ready: false, nodeName: "node-1" },
    },
    {
      name: "Running and Ready",
      pod: kubePod(
        {
          phase: "Running",
          podIP: "10.42.0.7",
          startTime: "2024-05-01T10:00:30Z",
          conditions: readyConditions(true),
          containerStatuses: [running("notebook")],
        },
        {},
        "node-1",
      ),
      expected: {
        phase: "RUNNING",
        status: "Running",
        ready: true,
        podIP: "10.42.0.7",
        startTime: "2024-05-01T10:00:30.000Z",
        restarts: 0,
      },
    },
    {
      name: "Running but not Ready",
      pod: kubePod({ phase: "Running", conditions: readyConditions(false), containerStatuses: [running("notebook", 0, false)] }),
      expected: { phase: "RUNNING", status: "Running", ready: false },
    },
    {
      name: "CrashLoopBackOff",
      pod: kubePod({
        phase: "Running",
        conditions: readyConditions(false),
        containerStatuses: [waiting("job", "CrashLoopBackOff", 4), running("sidecar", 1)],
      }),
      expected: { phase: "RUNNING", status: "CrashLoopBackOff", ready: false, restarts: 5 },
    },
    {
      name: "a container that exited with an error",
      pod: kubePod({ phase: "Running", containerStatuses: [terminated("job", 1, "Error", 2)] }),
      expected: { status: "Error", restarts: 2 },
    },
    {
      name: "a container that exited without a reason",
      pod: kubePod({ phase: "Running", containerStatuses: [terminated("job", 137)] }),
      expected: { status: "ExitCode:137" },
    },
    {
      name: "Succeeded",
      pod: kubePod({ phase: "Succeeded", containerStatuses: [terminated("job", 0, "Completed")] }),
      expected: { phase: "SUCCEEDED", status: "Completed" },
    },
    {
      name: "Failed with a pod-level reason",
      pod: kubePod({ phase: "Failed", reason: "Evicted" }),
      expected: { phase: "FAILED", status: "Evicted" },
    },
    {
      name: "an unknown phase",
      pod: kubePod({ phase: "Weird" }),
      expected: { phase: "UNKNOWN", status: "Weird" },
    },
    {
      name: "no status at all",
      pod: { metadata: { name: "bare" } },
      expected: {
        name: "bare",
        namespace: "",
        uid: "",
        phase: "UNKNOWN",
        status: "Unknown",
        labels: [],
        user: null,
        resourceVersion: "",
        owner: null,
      },
    },
    {
      name: "Terminating (deletionTimestamp wins over everything)",
      pod: kubePod(
        { phase: "Running", containerStatuses: [waiting("job", "CrashLoopBackOff")] },
        { deletionTimestamp: "2024-05-01T11:00:00Z" },
      ),
      expected: { status: "Terminating", deletionTimestamp: "2024-05-01T11:00:00.000Z", phase: "RUNNING" },
    },
    {
      name: "an init container still running",
      pod: kubePod({
        phase: "Pending",
        initContainerStatuses: [running("init-db", 0, false)],
        containerStatuses: [waiting("app", "PodInitializing")],
      }),
      expected: { status: "Init:Running" },
    },
    {
      name: "an init container crash-looping",
      pod: kubePod({
        phase: "Pending",
        initContainerStatuses: [waiting("init-db", "CrashLoopBackOff", 3)],
        containerStatuses: [waiting("app", "PodInitializing")],
      }),
      expected: { status: "Init:CrashLoopBackOff", restarts: 3 },
    },
    {
      name: "a failed init container",
      pod: kubePod({ phase: "Pending", initContainerStatuses: [terminated("init-db", 1, "Error")] }),
      expected: { status: "Init:Error" },
    },
    {
      name: "init containers done, app running",
      pod: kubePod({
        phase: "Running",
        conditions: readyConditions(true),
        initContainerStatuses: [terminated("init-db", 0, "Completed", 1)],
        containerStatuses: [running("app", 2)],
      }),
      expected: { status: "Running", ready: true, restarts: 3 },
    },
  ])("$name", ({ pod, expected }) => {
    expect(toPod(pod, userLabel)).toMatchObject(expected);
  });

  it("projects identity, labels, user, containers and timestamps", () => {
    const pod = kubePod(
      { phase: "Running", containerStatuses: [running("notebook", 1)], initContainerStatuses: [terminated("init", 0, "Completed")] },
      {},
      "node-2",
    );
    expect(toPod(pod, userLabel)).toEqual({
      name: "jupyter-alice",
      namespace: "team-a",
      uid: "uid-1",
      labels: [
        { key: userLabel, value: "alice" },
        { key: "app", value: "jupyter" },
      ],
      user: "alice",
      phase: "RUNNING",
      status: "Running",
      ready: false,
      reason: null,
      message: null,
      containers: [
        {
          name: "init",
          init: true,
          ready: false,
          restartCount: 0,
          state: "TERMINATED",
          reason: "Completed",
          message: null,
          exitCode: 0,
          startedAt: "2024-05-01T10:01:00.000Z",
        },
        {
          name: "notebook",
          init: false,
          ready: true,
          restartCount: 1,
          state: "RUNNING",
          reason: null,
          message: null,
          exitCode: null,
          startedAt: "2024-05-01T10:01:00.000Z",
        },
      ],
      restarts: 1,
      nodeName: "node-2",
      podIP: null,
      startTime: null,
      creationTimestamp: "2024-05-01T10:00:00.000Z",
      deletionTimestamp: null,
      owner: null,
      resourceVersion: "42",
    } satisfies Pod);
  });

  it("reads the user from the configured label", () => {
    const pod = kubePod({ phase: "Running" }, { labels: { "example.org/owner": "bob", [userLabel]: "alice" } });
    expect(toPod(pod, "example.org/owner").user).toBe("bob");
    expect(toPod(pod, userLabel).user).toBe("alice");
    expect(toPod(pod, "absent").user).toBeNull();
  });

  it.each<{ name: string; owners: NonNullable<NonNullable<KubePod["metadata"]>["ownerReferences"]>; expected: Pod["owner"] }>([
    { name: "the only owner", owners: [{ kind: "ReplicaSet", name: "web-abc" }], expected: { kind: "ReplicaSet", name: "web-abc" } },
    {
      name: "the controller among several",
      owners: [
        { kind: "ConfigMap", name: "cm" },
        { kind: "StatefulSet", name: "jupyter", controller: true },
      ],
      expected: { kind: "StatefulSet", name: "jupyter" },
    },
    { name: "nothing for an incomplete reference", owners: [{ kind: "Job" }], expected: null },
    { name: "nothing without references", owners: [], expected: null },
  ])("owner: $name", ({ owners, expected }) => {
    expect(toPod(kubePod({ phase: "Running" }, { ownerReferences: owners }), userLabel).owner).toEqual(expected);
  });

  it.each<{ name: string; value: Date | string; expected: string | null }>([
    { name: "a Date", value: new Date("2024-05-01T10:00:00Z"), expected: "2024-05-01T10:00:00.000Z" },
    { name: "an RFC 3339 string", value: "2024-05-01T10:00:00Z", expected: "2024-05-01T10:00:00.000Z" },
    { name: "an RFC 3339 string with an offset", value: "2024-05-01T12:00:00+02:00", expected: "2024-05-01T10:00:00.000Z" },
    { name: "an unparseable string", value: "yesterday-ish", expected: null },
    { name: "an invalid Date", value: new Date(Number.NaN), expected: null },
    { name: "an empty string", value: "", expected: null },
  ])("accepts timestamps as $name", ({ value, expected }) => {
    const pod = kubePod(
      { phase: "Running", startTime: value, containerStatuses: [{ name: "c", state: { running: { startedAt: value } } }] },
      { creationTimestamp: value, deletionTimestamp: value },
    );
    const projected = toPod(pod, userLabel);
    expect(projected.creationTimestamp).toBe(expected);
    expect(projected.startTime).toBe(expected);
    expect(projected.deletionTimestamp).toBe(expected);
    expect(projected.containers[0].startedAt).toBe(expected);
    expect(projected.status).toBe(expected ? "Terminating" : "Running");
  });

  it("returns the same projection for the same object and label (shared by subscribers)", () => {
    const pod = kubePod({ phase: "Running" });
    expect(toPod(pod, userLabel)).toBe(toPod(pod, userLabel));
    expect(toPod(pod, "other")).not.toBe(toPod(pod, userLabel));
  });
});

describe("changedFields", () => {
  const base = toPod(kubePod({ phase: "Pending" }), userLabel);

  it("ignores resourceVersion alone", () => {
    const next = toPod(kubePod({ phase: "Pending" }, { resourceVersion: "43" }), userLabel);
    expect(next.resourceVersion).not.toBe(base.resourceVersion);
    expect(changedFields(base, next, ["resourceVersion"])).toEqual([]);
    expect(changedFields(base, next)).toEqual(["resourceVersion"]);
  });

  it("names each top-level field that differs, comparing nested values deeply", () => {
    const next = toPod(
      kubePod(
        { phase: "Running", conditions: readyConditions(true), containerStatuses: [running("notebook")] },
        { resourceVersion: "50", labels: { [userLabel]: "alice", app: "jupyter", tier: "gpu" } },
      ),
      userLabel,
    );
    expect(changedFields(base, next, ["resourceVersion"]).sort()).toEqual(["containers", "labels", "phase", "ready", "status"]);
  });

  it("sees equal but distinct nested values as unchanged", () => {
    const a = toPod(kubePod({ phase: "Running", containerStatuses: [running("c")] }), userLabel);
    const b = toPod(kubePod({ phase: "Running", containerStatuses: [running("c")] }), userLabel);
    expect(a.containers).not.toBe(b.containers);
    expect(changedFields(a, b)).toEqual([]);
  });
});

describe("isoTimestamp", () => {
  it.each([undefined, null, 0, {}, "not a date"])("is null for %j", (value) => {
    expect(isoTimestamp(value)).toBeNull();
  });
});
