// Cursors and resumable streams below the schema: the cursor codec (views/cursor.ts), each view's
// bounded history (views/history.ts) and the resume rules of a subscriber's stream, over the
// in-memory cluster.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KubePod, Pod } from "../../src/domain/pod.ts";
import { BadUserInputError } from "../../src/errors.ts";
import { InformerRegistry } from "../../src/kube/informer-registry.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { compareResourceVersions } from "../../src/kube/resource-version.ts";
import { daskClusterResource, daskWorkerGroupResource, podResource } from "../../src/kube/resources.ts";
import { type DaskModel, DaskStreams } from "../../src/streams/dask-streams.ts";
import { type PodQuery, PodStreams } from "../../src/streams/pod-streams.ts";
import type { StreamAccess } from "../../src/streams/subscribers/access.ts";
import type { StreamEvent } from "../../src/streams/subscribers/stream-event.ts";
import { type Cursor, decodeCursor, encodeCursor, resumePoint } from "../../src/streams/views/cursor.ts";
import type { HistoryLimits } from "../../src/streams/views/history.ts";
import { ViewRegistry } from "../../src/streams/views/view-registry.ts";
import { daskClusterObject, daskPod, daskWorkerGroupObject, setPodState } from "../helpers/ide-dask-fixtures.ts";
import { captureLogger } from "../helpers/logs.ts";
import { podFixture } from "../helpers/pods.ts";
import { testStreamServices, userLabel } from "../helpers/settings.ts";
import { StreamReader } from "./support.ts";

const ns = "team-a";

describe("the cursor codec", () => {
  const cursor: Cursor = {
    namespace: ns,
    family: "dask",
    views: new Map([
      [
        "daskclusters",
        new Map([
          ["daskclusters", "120"],
          ["pods", "131"],
        ]),
      ],
      [
        "daskworkergroups",
        new Map([
          ["daskworkergroups", "118"],
          ["pods", "130"],
          ["daskclusters", "120"],
        ]),
      ],
    ]),
    at: { view: "daskclusters", resource: "pods", index: 2 },
  };

  it("round-trips positions per view and source, and the change being handled", () => {
    const text = encodeCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    const decoded = decodeCursor(text) as Cursor;
    expect(decoded).toMatchObject({ namespace: ns, family: "dask", at: cursor.at });
    expect([...(decoded.views?.keys() ?? [])]).toEqual(["daskclusters", "daskworkergroups"]);
    for (const [view, positions] of cursor.views ?? []) {
      for (const [resource, position] of positions) expect(decoded.views?.get(view)?.get(resource)).toBe(position);
    }
    // The views share one map of positions; only a view that differs carries its own.
    expect(JSON.parse(Buffer.from(text, "base64url").toString())).toEqual([
      1,
      ns,
      "dask",
      ["daskclusters", "daskworkergroups"],
      { daskclusters: "120", pods: "131", daskworkergroups: "118" },
      { 1: { pods: "130" } },
      [0, "pods", 2],
    ]);
  });

  it("encodes the position of no change (before InitialStateComplete) as one", () => {
    const none = encodeCursor({ namespace: "", family: "", views: undefined });
    expect(decodeCursor(none)).toEqual({ namespace: "", family: "", views: undefined });
  });

  it("reads nothing it did not write", () => {
    const other = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    for (const text of [
      "",
      "not a cursor!",
      "abc",
      other([2, ns, "pods", [], {}, {}, null]),
      other({ pods: "1" }),
      other([1, ns, "pods", ["pods"], { pods: 5 }, {}, null]),
      other([1, ns, "pods", ["pods"], {}, { 3: { pods: "1" } }, null]),
      other([1, ns, "pods", ["pods"], {}, {}, [4, "pods", 1]]),
      "A".repeat(5000),
    ]) {
      expect(decodeCursor(text), text).toBeUndefined();
    }
  });

  it("refuses a malformed after as BAD_USER_INPUT, and ignores a Last-Event-ID that is not a cursor", () => {
    const text = encodeCursor(cursor);
    expect(() => resumePoint("garbage")).toThrow(BadUserInputError);
    try {
      resumePoint("garbage");
    } catch (error) {
      expect((error as BadUserInputError).extensions).toEqual({ code: "BAD_USER_INPUT", argument: "after" });
    }
    expect(resumePoint(null, "garbage")).toBeUndefined();
    expect(resumePoint(text, "garbage")).toEqual({ text, cursor: decodeCursor(text) });
    const newer = encodeCursor({ ...cursor, at: undefined });
    // What an EventSource sends back is the newest position it holds.
    expect(resumePoint(text, newer)?.text).toBe(newer);
    expect(resumePoint(undefined, undefined)).toBeUndefined();
  });

  it("orders resourceVersions as etcd revisions, and no others", () => {
    expect(compareResourceVersions("99", "100")).toBeLessThan(0);
    expect(compareResourceVersions("100", "99")).toBeGreaterThan(0);
    expect(compareResourceVersions("7", "7")).toBe(0);
    expect(compareResourceVersions("a7", "8")).toBeUndefined();
  });
});

let cluster: MemoryCluster;
let registry: InformerRegistry;
let views: ViewRegistry;
let log: ReturnType<typeof captureLogger>;

function setUp(history: HistoryLimits = { size: 100, ageMs: 60_000 }, lingerMs = 0) {
  vi.useFakeTimers();
  cluster = new MemoryCluster();
  cluster.createNamespace(ns);
  cluster.createNamespace("team-b");
  registry = new InformerRegistry({ sources: (type, namespace) => cluster.source(type, namespace), lingerMs: 1_000 });
  log = captureLogger();
  views = new ViewRegistry(registry, log.logger, { history, lingerMs });
}

afterEach(async () => {
  await registry?.close();
  vi.useRealTimers();
});

const allowAll: StreamAccess = { subject: "tester", authorize: async () => {}, recheck: async () => undefined };

type Event = StreamEvent<Pod>;

async function open(query: PodQuery & { after?: string | null; lastEventId?: string }) {
  const stream = await new PodStreams(testStreamServices(views, { logger: log.logger })).events(query, allowAll);
  return { stream, reader: new StreamReader(stream) };
}

function describeEvent(event: Event): string {
  switch (event.type) {
    case "added":
    case "deleted":
      return `${event.type} ${event.object.name} ${event.cause}`;
    case "updated":
      return `updated ${event.object.name} [${event.changedFields.join(",")}]`;
    case "initial-state-complete":
      return `complete ${event.count} resumed=${event.resumed}`;
    case "unavailable":
      return `unavailable ${event.resource} ${event.reason}`;
    case "error":
      return `error ${event.code}`;
  }
}

const createPod = (name: string, user?: string) => cluster.create(podResource, podFixture(ns, name, { user }));
const updatePod = (name: string, mutate: (pod: KubePod) => void) => cluster.update<KubePod>(podResource, ns, name, mutate);
const setPhase = (name: string, phase: string) =>
  updatePod(name, (pod) => {
    pod.status = { ...pod.status, phase };
  });
const setUser = (name: string, user: string) =>
  updatePod(name, (pod) => {
    pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, [userLabel]: user } };
  });
const annotate = (name: string, value: string) =>
  updatePod(name, (pod) => {
    pod.metadata = { ...pod.metadata, annotations: { note: value } };
  });

/** Some changes of every kind, for alice and bob. */
function changes(): void {
  createPod("alice-2", "alice");
  setPhase("alice-1", "Running");
  annotate("alice-1", "not served");
  createPod("bob-2", "bob");
  setUser("bob-1", "alice");
  setUser("alice-2", "bob");
  setPhase("bob-1", "Succeeded");
  cluster.delete(podResource, ns, "alice-1");
}

describe("resumable pod streams", () => {
  beforeEach(() => setUp());

  it("gives every event a cursor; one after InitialStateComplete resumes with exactly what followed it", async () => {
    createPod("alice-1", "alice");
    createPod("bob-1", "bob");
    const reference = await open({ project: ns, user: "alice" });
    const initial = await reference.reader.available();
    expect(initial.map(describeEvent)).toEqual(["added alice-1 INITIAL_STATE", "complete 1 resumed=false"]);
    changes();
    const live = await reference.reader.available();
    expect(live.map(describeEvent)).toEqual([
      "added alice-2 CLUSTER_CHANGE",
      "updated alice-1 [phase,status]",
      "added bob-1 FILTER_CHANGE",
      "deleted alice-2 FILTER_CHANGE",
      "updated bob-1 [phase,status]",
      "deleted alice-1 CLUSTER_CHANGE",
    ]);
    for (const event of [...initial, ...live]) expect(event.cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(new Set(live.map((event) => event.cursor)).size).toBe(live.length);

    // Resumed after each event in turn: exactly the events after it, as they were, then the marker.
    const points = [initial.at(-1) as Event, ...live];
    for (const [i, point] of points.entries()) {
      const { reader } = await open({ project: ns, user: "alice", after: point.cursor });
      const resumed = await reader.available();
      const expected = live.slice(i);
      expect(resumed.slice(0, -1).map(describeEvent), `after event ${i}`).toEqual(expected.map(describeEvent));
      resumed.slice(0, -1).forEach((event, j) => {
        const original = expected[j] as Event;
        expect(event).toMatchObject({ cursor: original.cursor, observedAt: original.observedAt });
        if ("resourceVersion" in event && "resourceVersion" in original) expect(event.resourceVersion).toBe(original.resourceVersion);
        if (event.type === "updated" && original.type === "updated") {
          expect(event.previous).toEqual(original.previous);
          expect(event.changedFields).toEqual(original.changedFields);
        }
      });
      expect(resumed.at(-1)).toMatchObject({ type: "initial-state-complete", resumed: true, count: expected.length });
      const again = await (await open({ project: ns, user: "alice", after: (resumed.at(-1) as Event).cursor })).reader.available();
      expect(again.map(describeEvent)).toEqual(["complete 0 resumed=true"]);
    }
  });

  it("goes on live after a resume, as the uninterrupted stream does", async () => {
    createPod("alice-1", "alice");
    const reference = await open({ project: ns });
    const [, complete] = await reference.reader.available();
    const resumed = await open({ project: ns, after: (complete as Event).cursor });
    expect((await resumed.reader.available()).map(describeEvent)).toEqual(["complete 0 resumed=true"]);
    setPhase("alice-1", "Running");
    const [a] = await reference.reader.available();
    const [b] = await resumed.reader.available();
    expect(b).toEqual(a);
  });

  it("starts with a snapshot for a cursor of the snapshot itself, of another project, or from a Last-Event-ID that is not a cursor", async () => {
    createPod("alice-1", "alice");
    const { reader } = await open({ project: ns });
    const [added, complete] = await reader.available();
    for (const query of [
      { project: ns, after: (added as Event).cursor },
      { project: "team-b", after: (complete as Event).cursor },
      { project: ns, lastEventId: "not-a-cursor" },
    ]) {
      const events = await (await open(query)).reader.available();
      expect(events.at(-1), JSON.stringify(query)).toMatchObject({ type: "initial-state-complete", resumed: false });
    }
  });

  it("resumes from a Last-Event-ID as from after", async () => {
    createPod("alice-1", "alice");
    const { reader } = await open({ project: ns });
    const [, complete] = await reader.available();
    setPhase("alice-1", "Running");
    const events = await (await open({ project: ns, lastEventId: (complete as Event).cursor })).reader.available();
    expect(events.map(describeEvent)).toEqual(["updated alice-1 [phase,status]", "complete 1 resumed=true"]);
  });

  it("starts with a snapshot once a relist (410 Gone) broke continuity, and resumes from a cursor after it", async () => {
    createPod("alice-1", "alice");
    const { reader } = await open({ project: ns });
    const [, complete] = await reader.available();
    setPhase("alice-1", "Running");
    await reader.available();
    cluster.compact();
    cluster.expireWatches();
    createPod("alice-2", "alice");
    await vi.advanceTimersByTimeAsync(5_000);
    const afterRelist = await reader.available();
    expect(afterRelist.map(describeEvent)).toEqual(["added alice-2 CLUSTER_CHANGE"]);
    const stale = await (await open({ project: ns, after: (complete as Event).cursor })).reader.available();
    expect(stale.map(describeEvent)).toEqual(["added alice-1 INITIAL_STATE", "added alice-2 INITIAL_STATE", "complete 2 resumed=false"]);

    const fresh = stale.at(-1) as Event;
    setPhase("alice-2", "Running");
    await reader.available();
    const resumed = await (await open({ project: ns, after: fresh.cursor })).reader.available();
    expect(resumed.map(describeEvent)).toEqual(["updated alice-2 [phase,status]", "complete 1 resumed=true"]);
  });
});

describe("a view's bounded history", () => {
  it("no longer resumes a cursor whose changes it has dropped by count", async () => {
    setUp({ size: 3, ageMs: 60_000 });
    createPod("alice-1", "alice");
    const { reader } = await open({ project: ns });
    const [, complete] = await reader.available();
    for (const phase of ["Running", "Succeeded", "Failed"]) setPhase("alice-1", phase);
    const live = await reader.available();
    // Three kept: every change after the marker is still there.
    expect((await (await open({ project: ns, after: (complete as Event).cursor })).reader.available()).at(-1)).toMatchObject({
      resumed: true,
      count: 3,
    });
    setPhase("alice-1", "Unknown");
    await reader.available();
    expect((await (await open({ project: ns, after: (complete as Event).cursor })).reader.available()).at(-1)).toMatchObject({
      resumed: false,
    });
    const fromFirst = await (await open({ project: ns, after: (live[0] as Event).cursor })).reader.available();
    expect(fromFirst.map(describeEvent)).toEqual([
      "updated alice-1 [phase,status]",
      "updated alice-1 [phase,status]",
      "updated alice-1 [phase,status]",
      "complete 3 resumed=true",
    ]);
  });

  it("no longer resumes a cursor whose changes are older than its age", async () => {
    setUp({ size: 100, ageMs: 10_000 });
    createPod("alice-1", "alice");
    const { reader } = await open({ project: ns });
    const [, complete] = await reader.available();
    setPhase("alice-1", "Running");
    const [first] = await reader.available();
    await vi.advanceTimersByTimeAsync(6_000);
    setPhase("alice-1", "Succeeded");
    await reader.available();
    await vi.advanceTimersByTimeAsync(6_000);
    expect((await (await open({ project: ns, after: (complete as Event).cursor })).reader.available()).at(-1)).toMatchObject({
      resumed: false,
    });
    expect((await (await open({ project: ns, after: (first as Event).cursor })).reader.available()).map(describeEvent)).toEqual([
      "updated alice-1 [phase,status]",
      "complete 1 resumed=true",
    ]);
  });

  it("keeps nothing with size 0: every resume is a snapshot", async () => {
    setUp({ size: 0, ageMs: 60_000 });
    createPod("alice-1", "alice");
    const { reader } = await open({ project: ns });
    const [, complete] = await reader.available();
    expect((await (await open({ project: ns, after: (complete as Event).cursor })).reader.available()).at(-1)).toMatchObject({
      resumed: true,
    });
    setPhase("alice-1", "Running");
    await reader.available();
    expect((await (await open({ project: ns, after: (complete as Event).cursor })).reader.available()).at(-1)).toMatchObject({
      resumed: false,
    });
  });
});

describe("a cursor from a replica ahead of this one", () => {
  beforeEach(() => setUp());

  /** The cursor, with its pods position moved `by` revisions on. */
  const ahead = (text: string, by: number) => {
    const cursor = decodeCursor(text) as Cursor;
    const pods = cursor.views?.get("pods") as Map<string, string>;
    pods.set("pods", String(Number(pods.get("pods")) + by));
    return encodeCursor(cursor);
  };

  it("waits until this process has read as far, then resumes", async () => {
    createPod("alice-1", "alice");
    const { reader } = await open({ project: ns });
    const [, complete] = await reader.available();
    const resumed = await open({ project: ns, after: ahead((complete as Event).cursor, 2) });
    expect(await resumed.reader.available()).toEqual([]);
    // The two changes the other replica had sent before the client moved here.
    setPhase("alice-1", "Running");
    createPod("alice-2", "alice");
    await vi.advanceTimersByTimeAsync(50);
    expect((await resumed.reader.available()).map(describeEvent)).toEqual(["complete 0 resumed=true"]);
    setPhase("alice-2", "Running");
    expect((await resumed.reader.available()).map(describeEvent)).toEqual(["updated alice-2 [phase,status]"]);
  });

  it("starts with a snapshot when this process does not get as far within 2 s", async () => {
    createPod("alice-1", "alice");
    const { reader } = await open({ project: ns });
    const [, complete] = await reader.available();
    const resumed = await open({ project: ns, after: ahead((complete as Event).cursor, 5) });
    await vi.advanceTimersByTimeAsync(1_900);
    expect(await resumed.reader.available()).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect((await resumed.reader.available()).map(describeEvent)).toEqual(["added alice-1 INITIAL_STATE", "complete 1 resumed=false"]);
  });
});

describe("a view without subscribers", () => {
  it("lingers with its history for --history-linger, so that a lone client that comes back resumes", async () => {
    setUp({ size: 100, ageMs: 60_000 }, 10_000);
    createPod("alice-1", "alice");
    const { stream, reader } = await open({ project: ns });
    const [, complete] = await reader.available();
    await stream.return?.();
    expect(views.snapshot()).toEqual([{ key: `pods/${ns}`, references: 0 }]);
    setPhase("alice-1", "Running");
    await vi.advanceTimersByTimeAsync(5_000);
    const back = await open({ project: ns, after: (complete as Event).cursor });
    const events = await back.reader.available();
    expect(events.map(describeEvent)).toEqual(["updated alice-1 [phase,status]", "complete 1 resumed=true"]);
    await back.stream.return?.();

    // Gone once the linger is over without a subscriber, and its history with it: a change made
    // while there is no view cannot be resumed over (a cursor at the informer's position still can).
    await vi.advanceTimersByTimeAsync(10_001);
    expect(views.snapshot()).toEqual([]);
    setPhase("alice-1", "Succeeded");
    await vi.advanceTimersByTimeAsync(100);
    const late = await (await open({ project: ns, after: (events.at(-1) as Event).cursor })).reader.available();
    expect(late.at(-1)).toMatchObject({ resumed: false });
  });
});

describe("a stream of several views (daskEvents)", () => {
  beforeEach(() => setUp());

  const describeDask = (event: StreamEvent<DaskModel>) =>
    event.type === "added" || event.type === "deleted" || event.type === "updated"
      ? `${event.type} ${event.kind} ${event.object.name}${event.type === "updated" ? ` [${event.changedFields.join(",")}]` : ""}`
      : event.type === "initial-state-complete"
        ? `complete ${event.count} resumed=${event.resumed}`
        : event.type;

  async function openDask(after?: string) {
    const stream = await new DaskStreams(testStreamServices(views, { logger: log.logger })).events(
      { project: ns, resources: ["CLUSTERS", "WORKER_GROUPS"], after },
      allowAll,
    );
    return new StreamReader(stream);
  }

  it("resumes exactly, even between two views' events of one pod change", async () => {
    cluster.create(daskClusterResource, daskClusterObject({ name: "analysis", user: "alice", replicas: 2 }));
    cluster.create(daskWorkerGroupResource, daskWorkerGroupObject({ name: "analysis-default", cluster: "analysis", replicas: 2 }));
    const reference = await openDask();
    const initial = await reference.available();
    expect(initial.at(-1)).toMatchObject({ type: "initial-state-complete", resumed: false });
    for (const name of ["analysis-worker-1", "analysis-worker-2"]) {
      const pod = daskPod({ name, cluster: "analysis", component: "worker", workerGroup: "analysis-default", state: "running" });
      cluster.create(podResource, pod);
      cluster.update<KubePod>(podResource, ns, name, (p) => setPodState(p, "ready"));
    }
    const live = await reference.available();
    // One pod's change updates both its cluster and its worker group: two events of one change.
    expect(live.map(describeDask).length).toBeGreaterThanOrEqual(4);
    expect(live.map((event) => ("kind" in event ? event.kind : event.type))).toContain("DaskWorkerGroup");
    for (const [i, point] of [initial.at(-1) as StreamEvent<DaskModel>, ...live].entries()) {
      const resumed = await (await openDask(point.cursor)).available();
      expect(resumed.map(describeDask), `after event ${i}`).toEqual([
        ...live.slice(i).map(describeDask),
        `complete ${live.length - i} resumed=true`,
      ]);
    }
  });

  it("starts with a snapshot when it reads a view the cursor's stream did not", async () => {
    cluster.create(daskClusterResource, daskClusterObject({ name: "analysis", user: "alice" }));
    const stream = await new DaskStreams(testStreamServices(views, { logger: log.logger })).events(
      { project: ns, resources: ["CLUSTERS"] },
      allowAll,
    );
    const reader = new StreamReader(stream);
    const [, complete] = await reader.available();
    const resumed = await (await openDask((complete as StreamEvent<DaskModel>).cursor)).available();
    expect(resumed.at(-1)).toMatchObject({ type: "initial-state-complete", resumed: false });
  });
});
