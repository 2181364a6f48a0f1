// The client's live collections (examples/client/live-collection.ts and collection-store.ts) over a
// transport the test drives event by event: what a UI would show after each event, across fresh
// and resumed re-subscriptions. The same helper over real clients and a real kubesub is
// test/integration/live-collection-clients.test.ts.
import { describe, expect, it } from "vitest";
import { type Pod, type PodEvent, podStream } from "../../examples/client/kubesub-streams.ts";
import { LiveCollection, type LiveSnapshot, type LiveUpdate } from "../../examples/client/live-collection.ts";
import type { Timers, TransportSink } from "../../examples/client/resumable.ts";
import type { PodEventsSubscription, PodEventsSubscriptionVariables } from "../../examples/generated/graphql.ts";

type Snapshot = LiveSnapshot<PodEventsSubscription, { pods: Pod }>;

function pod(name: string, status = "Running", namespace = "team-a"): Pod {
  return {
    id: `pod-${namespace}-${name}`,
    uid: `uid-${namespace}-${name}`,
    name,
    namespace,
    user: "alice",
    phase: "RUNNING",
    status,
    ready: status === "Running",
    restarts: 0,
    nodeName: null,
    podIP: null,
    creationTimestamp: null,
    startTime: null,
    deletionTimestamp: null,
    resourceVersion: "1",
    owner: null,
    labels: [],
    containers: [],
  };
}

let position = 0;
const stamp = () => ({ cursor: `c${++position}`, resourceVersion: String(position), observedAt: "2026-01-01T00:00:00Z" });
const added = (p: Pod, cause: "INITIAL_STATE" | "CLUSTER_CHANGE" = "CLUSTER_CHANGE"): PodEvent => ({
  __typename: "PodAdded",
  cause,
  pod: p,
  ...stamp(),
});
const updated = (p: Pod, changedFields: string[] = ["status"]): PodEvent => {
  // previous selects no id (a normalised cache would take it for the current object).
  const { id: _id, ...previous } = p;
  return { __typename: "PodUpdated", changedFields, pod: p, previous, ...stamp() };
};
const deleted = (p: Pod): PodEvent => ({ __typename: "PodDeleted", cause: "CLUSTER_CHANGE", pod: p, ...stamp() });
const complete = (resumed: boolean, count: number): PodEvent => ({ __typename: "InitialStateComplete", resumed, count, ...stamp() });
const unavailable = (resource: string): PodEvent => ({
  __typename: "ResourceUnavailable",
  resource,
  namespace: "team-a",
  reason: "FORBIDDEN",
  message: `cannot list ${resource}`,
  cursor: `c${++position}`,
  observedAt: "2026-01-01T00:00:00Z",
});
const streamError = (code: "SHUTTING_DOWN" | "FORBIDDEN", retryable: boolean): PodEvent => ({
  __typename: "StreamError",
  code,
  message: code.toLowerCase(),
  retryable,
  cursor: `c${++position}`,
  observedAt: "2026-01-01T00:00:00Z",
});

/** A transport and timers the test drives: each subscription's sink and variables, each pending retry. */
function scripted() {
  const subscriptions: { variables: PodEventsSubscriptionVariables; sink: TransportSink<PodEventsSubscription>; closed: boolean }[] = [];
  const retries: (() => void)[] = [];
  const timers: Timers = {
    setTimeout: (callback) => retries.push(callback),
    clearTimeout: () => {},
  };
  const collection = new LiveCollection({
    transport: (variables: PodEventsSubscriptionVariables, sink: TransportSink<PodEventsSubscription>) => {
      const subscription = { variables, sink, closed: false };
      subscriptions.push(subscription);
      return () => {
        subscription.closed = true;
      };
    },
    variables: { project: "team-a" },
    stream: podStream,
    timers,
  });
  const seen: { update: LiveUpdate<{ pods: Pod }>; snapshot: Snapshot }[] = [];
  collection.subscribe((update, snapshot) => seen.push({ update, snapshot }));
  collection.start();
  const send = (...events: PodEvent[]) => {
    const current = subscriptions.at(-1);
    if (!current || current.closed) throw new Error("no open subscription");
    for (const event of events) current.sink.next({ podEvents: event });
  };
  /** Runs the pending retry: the next subscription starts. */
  const retry = () => {
    const next = retries.shift();
    if (!next) throw new Error("no retry pending");
    next();
  };
  return { collection, subscriptions, send, retry, seen };
}

const rows = (snapshot: Snapshot) => [...snapshot.collections.pods.entries()].map(([key, value]) => `${key} ${value.status}`).sort();

describe("LiveCollection over a scripted transport", () => {
  it("holds a fresh snapshot back until InitialStateComplete, then applies live changes as they come", () => {
    const { collection, send, seen } = scripted();
    send(added(pod("a"), "INITIAL_STATE"), added(pod("b", "Pending"), "INITIAL_STATE"));
    expect(rows(collection.getSnapshot())).toEqual([]);
    expect(collection.getSnapshot().loaded).toBe(false);
    expect(collection.getSnapshot().connection.phase).toBe("connecting");

    send(complete(false, 2));
    expect(rows(collection.getSnapshot())).toEqual(["team-a/a Running", "team-a/b Pending"]);
    expect(collection.getSnapshot()).toMatchObject({ loaded: true, connection: { phase: "live", resumed: false } });
    expect(seen.map((s) => s.update.kind)).toEqual(["state", "snapshot", "state"]);

    send(updated(pod("b")), added(pod("c")), deleted(pod("a")));
    expect(rows(collection.getSnapshot())).toEqual(["team-a/b Running", "team-a/c Running"]);
    expect(seen.at(-3)?.update).toMatchObject({
      kind: "changes",
      changes: [{ type: "upsert", key: "team-a/b", changedFields: ["status"] }],
    });
  });

  it("keeps showing the last collection through a reconnect that gets a fresh snapshot, and replaces it whole at InitialStateComplete", () => {
    const { collection, send, retry, subscriptions, seen } = scripted();
    send(added(pod("a"), "INITIAL_STATE"), added(pod("gone"), "INITIAL_STATE"), complete(false, 2));
    const before = collection.getSnapshot();
    const shuttingDown = streamError("SHUTTING_DOWN", true);
    send(shuttingDown);
    expect(collection.getSnapshot().connection).toMatchObject({ phase: "reconnecting", code: "SHUTTING_DOWN" });
    expect(collection.getSnapshot().lastStreamError).toMatchObject({ code: "SHUTTING_DOWN", retryable: true });
    retry();
    expect(subscriptions.at(-1)?.variables.after).toBe(shuttingDown.cursor);
    const shownFrom = seen.length;
    // The replica that answers has no history for the cursor: a snapshot, without "gone".
    send(added(pod("a", "Failed"), "INITIAL_STATE"), added(pod("new"), "INITIAL_STATE"));
    expect(rows(collection.getSnapshot())).toEqual(rows(before));
    send(complete(false, 2));
    expect(rows(collection.getSnapshot())).toEqual(["team-a/a Failed", "team-a/new Running"]);
    // Every snapshot a UI was given in between: the old collection or the new, never a mix.
    const shown = seen.slice(shownFrom).map((s) => rows(s.snapshot).join(", "));
    expect(new Set(shown)).toEqual(new Set(["team-a/a Failed, team-a/new Running"]));
    expect(collection.getSnapshot()).toMatchObject({ connection: { phase: "live", resumed: false }, resubscribes: 1 });
  });

  it("applies the changes missed to the collection as it is when the reconnect resumes", () => {
    const { collection, send, retry } = scripted();
    send(added(pod("a"), "INITIAL_STATE"), added(pod("b"), "INITIAL_STATE"), complete(false, 2));
    send(streamError("SHUTTING_DOWN", true));
    retry();
    send(updated(pod("a", "Failed")), deleted(pod("b")), added(pod("c")));
    expect(rows(collection.getSnapshot())).toEqual(["team-a/a Running", "team-a/b Running"]);
    send(complete(true, 3));
    expect(rows(collection.getSnapshot())).toEqual(["team-a/a Failed", "team-a/c Running"]);
    expect(collection.getSnapshot().connection).toEqual({ phase: "live", resumed: true });
  });

  it("keeps the changes missed of a resumed subscription cut off before InitialStateComplete: the next one resumes after them", () => {
    const { collection, send, retry, subscriptions } = scripted();
    send(added(pod("a"), "INITIAL_STATE"), added(pod("b"), "INITIAL_STATE"), complete(false, 2));
    send(streamError("SHUTTING_DOWN", true));
    retry();
    const missedFirst = [updated(pod("a", "Failed")), deleted(pod("b"))];
    send(...missedFirst);
    subscriptions.at(-1)?.sink.complete();
    retry();
    expect(subscriptions.at(-1)?.variables.after).toBe(missedFirst[1]?.cursor);
    send(added(pod("c")), complete(true, 1));
    expect(rows(collection.getSnapshot())).toEqual(["team-a/a Failed", "team-a/c Running"]);

    // Cut off again, and this time kubesub answers with a snapshot: what was kept is dropped.
    send(streamError("SHUTTING_DOWN", true));
    retry();
    send(deleted(pod("c")));
    subscriptions.at(-1)?.sink.complete();
    retry();
    send(added(pod("c"), "INITIAL_STATE"), added(pod("d"), "INITIAL_STATE"), complete(false, 2));
    expect(rows(collection.getSnapshot())).toEqual(["team-a/c Running", "team-a/d Running"]);
  });

  it("treats coalesced events as upserts and removals like any other (a deletion then an addition arrives as one update)", () => {
    const { collection, send } = scripted();
    send(complete(false, 0));
    send(updated(pod("never-seen", "Pending"), ["status", "ready"]));
    send(added(pod("x")), added(pod("x", "Failed")));
    send(deleted(pod("not-there")));
    expect(rows(collection.getSnapshot())).toEqual(["team-a/never-seen Pending", "team-a/x Failed"]);
  });

  it("tells which resources are unavailable, until an object of theirs arrives or a later subscription no longer reports them", () => {
    const { collection, send, retry } = scripted();
    send(unavailable("pods"), complete(false, 0));
    expect([...collection.getSnapshot().unavailable.keys()]).toEqual(["pods"]);
    expect(collection.getSnapshot().unavailable.get("pods")).toMatchObject({ reason: "FORBIDDEN", message: "cannot list pods" });
    send(added(pod("a")));
    expect(collection.getSnapshot().unavailable.size).toBe(0);
    send(unavailable("pods"));
    expect(collection.getSnapshot().unavailable.size).toBe(1);
    send(streamError("SHUTTING_DOWN", true));
    retry();
    // Until InitialStateComplete, what the last subscription said stands.
    expect(collection.getSnapshot().unavailable.size).toBe(1);
    send(complete(true, 0));
    expect(collection.getSnapshot().unavailable.size).toBe(0);
  });

  it("hands out snapshots that never change afterwards, the same object until something changes", () => {
    const { collection, send } = scripted();
    send(added(pod("a"), "INITIAL_STATE"), complete(false, 1));
    const first = collection.getSnapshot();
    expect(collection.getSnapshot()).toBe(first);
    send(added(pod("b")));
    const second = collection.getSnapshot();
    expect(second).not.toBe(first);
    expect(second.version).toBeGreaterThan(first.version);
    expect(rows(first)).toEqual(["team-a/a Running"]);
    expect(rows(second)).toEqual(["team-a/a Running", "team-a/b Running"]);
    send(deleted(pod("a")), deleted(pod("b")));
    expect(rows(second)).toEqual(["team-a/a Running", "team-a/b Running"]);
    expect(rows(collection.getSnapshot())).toEqual([]);
  });

  it("stops on a StreamError that is not retryable, keeping what it showed", () => {
    const { collection, send, subscriptions } = scripted();
    send(added(pod("a"), "INITIAL_STATE"), complete(false, 1));
    send(streamError("FORBIDDEN", false));
    expect(collection.getSnapshot().connection).toEqual({ phase: "error", message: "FORBIDDEN: forbidden", code: "FORBIDDEN" });
    expect(collection.getSnapshot().lastStreamError).toMatchObject({ code: "FORBIDDEN", retryable: false });
    expect(subscriptions.every((s) => s.closed)).toBe(true);
    expect(rows(collection.getSnapshot())).toEqual(["team-a/a Running"]);
  });

  it("keys objects as the caller says (an id), and says clearly when the default key cannot be made", () => {
    const byUid = new LiveCollection({
      transport: (_variables: PodEventsSubscriptionVariables, sink: TransportSink<PodEventsSubscription>) => {
        for (const event of [added(pod("a"), "INITIAL_STATE"), added(pod("a", "Pending", "team-b"), "INITIAL_STATE"), complete(false, 2)]) {
          sink.next({ podEvents: event });
        }
        return () => {};
      },
      variables: { project: "team-a" },
      stream: podStream,
      key: (object) => object.uid,
    }).start();
    expect([...byUid.getSnapshot().collections.pods.keys()].sort()).toEqual(["uid-team-a-a", "uid-team-b-a"]);
    byUid.stop();

    const nameless = { ...pod("a"), namespace: undefined as unknown as string };
    const { send } = scripted();
    send(complete(false, 0));
    expect(() => send(added(nameless))).toThrow(/pass a key function/);
  });
});
