import { beforeEach, describe, expect, it, vi } from "vitest";
import { coalesceChanges } from "../../src/streams/subscribers/coalesce.ts";
import type { StreamEvent } from "../../src/streams/subscribers/stream-event.ts";
import { SubscriberQueue } from "../../src/streams/subscribers/subscriber-queue.ts";

interface Model {
  namespace: string;
  name: string;
  phase: string;
  ready: boolean;
  uid?: string;
}
type Event = StreamEvent<Model>;

let sequence = 0;
beforeEach(() => {
  sequence = 0;
});
const stamp = () => {
  sequence += 1;
  return { kind: "Pod", resourceVersion: String(sequence), observedAt: new Date(sequence).toISOString(), cursor: `c${sequence}` };
};
const pod = (name: string, phase = "Pending", ready = false, uid = "u1"): Model => ({ namespace: "ns", name, phase, ready, uid });
const added = (object: Model, cause: "CLUSTER_CHANGE" | "FILTER_CHANGE" = "CLUSTER_CHANGE"): Event => ({
  type: "added",
  object,
  cause,
  ...stamp(),
});
const deleted = (object: Model, cause: "CLUSTER_CHANGE" | "FILTER_CHANGE" = "CLUSTER_CHANGE"): Event => ({
  type: "deleted",
  object,
  cause,
  ...stamp(),
});
const updated = (previous: Model, object: Model, changedFields: string[]): Event => ({
  type: "updated",
  previous,
  object,
  changedFields,
  ...stamp(),
});
const unavailable = (): Event => ({
  type: "unavailable",
  resource: "daskclusters",
  namespace: "ns",
  reason: "NOT_INSTALLED",
  message: "not installed",
  observedAt: "",
  cursor: "",
});
const merge = (a: Event, b: Event) => coalesceChanges.merge(a as StreamEvent<unknown>, b as StreamEvent<unknown>) as Event | undefined;

describe("coalesceChanges: what one event stands for two changes to an object the subscriber was not sent", () => {
  it("added, then updated: added with the latest object, its cause, the last change's stamp, and a count of 2", () => {
    const first = added(pod("a"), "FILTER_CHANGE");
    const second = updated(pod("a"), pod("a", "Running"), ["phase"]);
    expect(merge(first, second)).toEqual({
      type: "added",
      object: pod("a", "Running"),
      cause: "FILTER_CHANGE",
      kind: "Pod",
      resourceVersion: second.type === "updated" ? second.resourceVersion : "",
      observedAt: second.type === "updated" ? second.observedAt : "",
      cursor: second.cursor,
      own: true,
      coalesced: 2,
    });
  });

  it("added, then deleted: nothing", () => {
    expect(merge(added(pod("a")), deleted(pod("a", "Running")))).toBeUndefined();
  });

  it("updated, then updated: previous as last sent, changedFields the union, the latest object", () => {
    const merged = merge(
      updated(pod("a"), pod("a", "Running"), ["phase"]),
      updated(pod("a", "Running"), pod("a", "Running", true), ["ready"]),
    );
    expect(merged).toMatchObject({
      type: "updated",
      previous: pod("a"),
      object: pod("a", "Running", true),
      changedFields: ["phase", "ready"],
      coalesced: 2,
    });
  });

  it("updated, then updated back: a field that ended as it was is not named, and nothing is sent when none is left", () => {
    const there = updated(pod("a"), pod("a", "Running", true), ["phase", "ready"]);
    const partlyBack = updated(pod("a", "Running", true), pod("a", "Pending", true), ["phase"]);
    expect(merge(there, partlyBack)).toMatchObject({ type: "updated", previous: pod("a"), changedFields: ["ready"] });
    const allBack = updated(pod("a", "Running", true), pod("a"), ["phase", "ready"]);
    expect(merge(there, allBack)).toBeUndefined();
  });

  it("updated, then deleted: deleted with the last known state and its cause", () => {
    const merged = merge(updated(pod("a"), pod("a", "Running"), ["phase"]), deleted(pod("a", "Succeeded"), "FILTER_CHANGE"));
    expect(merged).toMatchObject({ type: "deleted", object: pod("a", "Succeeded"), cause: "FILTER_CHANGE", coalesced: 2 });
  });

  it("deleted, then added: updated from what the subscriber was last sent to the new object", () => {
    const merged = merge(deleted(pod("a", "Running", true, "u1")), added(pod("a", "Pending", false, "u2")));
    expect(merged).toMatchObject({
      type: "updated",
      previous: pod("a", "Running", true, "u1"),
      object: pod("a", "Pending", false, "u2"),
      changedFields: ["phase", "ready", "uid"],
      coalesced: 2,
    });
    // Out of the filter and back in, with nothing served changed: nothing.
    expect(merge(deleted(pod("a"), "FILTER_CHANGE"), added(pod("a"), "FILTER_CHANGE"))).toBeUndefined();
  });

  it("updated, deleted, then added: previous is what was last sent before all three, and the count is 3", () => {
    const gone = merge(updated(pod("a"), pod("a", "Running"), ["phase"]), deleted(pod("a", "Running"))) as Event;
    const back = merge(gone, added(pod("a", "Pending", true, "u2")));
    expect(back).toMatchObject({
      type: "updated",
      previous: pod("a"),
      object: pod("a", "Pending", true, "u2"),
      changedFields: ["ready", "uid"],
      coalesced: 3,
    });
  });

  it("keys changes by kind, namespace and name; never merges what is not about one object", () => {
    expect(coalesceChanges.keyOf(added(pod("a")) as StreamEvent<unknown>)).toBe(
      coalesceChanges.keyOf(deleted(pod("a", "Running", true, "u9")) as StreamEvent<unknown>),
    );
    expect(coalesceChanges.keyOf(added(pod("a")) as StreamEvent<unknown>)).not.toBe(
      coalesceChanges.keyOf(added(pod("b")) as StreamEvent<unknown>),
    );
    expect(coalesceChanges.keyOf({ ...added(pod("a")), kind: "IDE" } as StreamEvent<unknown>)).not.toBe(
      coalesceChanges.keyOf(added(pod("a")) as StreamEvent<unknown>),
    );
    expect(coalesceChanges.keyOf(unavailable() as StreamEvent<unknown>)).toBeUndefined();
  });
});

function coalescingQueue(capacity: number) {
  const onOverflow = vi.fn();
  const queue = new SubscriberQueue<Event>({
    capacity,
    coalescer: coalesceChanges as never,
    onOverflow,
  });
  return { queue, onOverflow };
}

function drain(queue: SubscriberQueue<Event>): Event[] {
  const events: Event[] = [];
  queue.attach({
    deliver(event) {
      events.push(event);
      return true;
    },
    end() {},
  });
  return events;
}

const describeEvent = (event: Event) =>
  event.type === "added" || event.type === "updated" || event.type === "deleted"
    ? `${event.type} ${event.object.name} x${event.coalesced ?? 1} ${event.cursor}`
    : event.type;

describe("SubscriberQueue with coalesceChanges", () => {
  it("keeps every event, in order, while no more than capacity wait", () => {
    const { queue } = coalescingQueue(3);
    const events = [
      added(pod("a")),
      updated(pod("a"), pod("a", "Running"), ["phase"]),
      updated(pod("a", "Running"), pod("a", "Running", true), ["ready"]),
    ];
    for (const event of events) queue.push(event);
    expect(queue.isCoalescing).toBe(false);
    expect(drain(queue)).toEqual(events);
  });

  it("past capacity, one event per object, each in the place of its last change with its cursor, counting what it merged", () => {
    const { queue } = coalescingQueue(2);
    queue.pushInitial([added(pod("x"))]); // initial state: never merged, never counted
    queue.push(added(pod("a"))); // c2
    queue.push(added(pod("b"))); // c3
    queue.push(updated(pod("a"), pod("a", "Running"), ["phase"])); // c4: past capacity
    expect(queue.isCoalescing).toBe(true);
    queue.push(added(pod("c"))); // c5
    queue.push(deleted(pod("c"))); // c6: cancels c5
    queue.push(updated(pod("b"), pod("b", "Running"), ["phase"])); // c7
    queue.push(unavailable()); // kept in its place
    queue.push(updated(pod("a", "Running"), pod("a", "Running", true), ["ready"])); // c8
    expect(queue.depth).toBe(4);
    const events = drain(queue);
    expect(events.map(describeEvent)).toEqual(["added x x1 c1", "added b x2 c7", "unavailable", "added a x3 c8"]);
    expect(events[3]).toMatchObject({ object: pod("a", "Running", true) });
    expect(queue.isCoalescing).toBe(false);
    // Drained: ordinary events again.
    const later = updated(pod("a", "Running", true), pod("a", "Succeeded", true), ["phase"]);
    queue.push(later);
    expect(events.at(-1)).toBe(later);
  });

  it("stays bounded by the number of objects under a storm of changes, and its events add up to the final state", () => {
    const { queue } = coalescingQueue(100);
    const objects = 20;
    const state = new Map<string, Model>();
    const sent = new Map<string, Model>();
    let maxDepth = 0;
    let changes = 0;
    let lastCursor = "";
    for (let i = 0; i < 100_000; i += 1) {
      const name = `p${i % objects}`;
      const was = state.get(name);
      let event: Event;
      if (!was) {
        event = added(pod(name, `phase-${i}`));
        state.set(name, pod(name, `phase-${i}`));
      } else if (i % 7 === 0) {
        event = deleted(was);
        state.delete(name);
      } else {
        const next = pod(name, `phase-${i}`);
        event = updated(was, next, ["phase"]);
        state.set(name, next);
      }
      changes += 1;
      lastCursor = event.cursor;
      queue.push(event);
      maxDepth = Math.max(maxDepth, queue.depth);
    }
    expect(maxDepth).toBeLessThanOrEqual(100 + 1);
    expect(queue.depth).toBeLessThanOrEqual(objects);
    const events = drain(queue);
    let counted = 0;
    let cursor = 0;
    for (const event of events) {
      if (event.type !== "added" && event.type !== "updated" && event.type !== "deleted") continue;
      counted += event.coalesced ?? 1;
      // Cursors only move forwards: a client that resumes with the last one it read gets the rest.
      expect(Number(event.cursor.slice(1))).toBeGreaterThan(cursor);
      cursor = Number(event.cursor.slice(1));
      if (event.type === "updated") expect(event.previous).toEqual(sent.get(event.object.name));
      if (event.type === "added") expect(sent.has(event.object.name)).toBe(false);
      if (event.type === "deleted") expect(sent.has(event.object.name)).toBe(true);
      if (event.type === "deleted") sent.delete(event.object.name);
      else sent.set(event.object.name, event.object);
    }
    expect(sent).toEqual(state);
    // Every change is in one event, but those that cancelled out (added, then deleted).
    expect(counted).toBeLessThanOrEqual(changes);
    expect(counted).toBeGreaterThan(events.length);
    expect(events.at(-1)?.cursor).toBe(lastCursor);
  });

  it("puts the stream's last event after the coalesced ones, and overflow() ends it through onOverflow", () => {
    const { queue, onOverflow } = coalescingQueue(1);
    queue.push(added(pod("a")));
    queue.push(added(pod("b")));
    queue.end({ type: "error", code: "SHUTTING_DOWN", message: "", retryable: true, observedAt: "", cursor: "c99" });
    expect(drain(queue).map(describeEvent)).toEqual([`added a x1 c${sequence - 1}`, `added b x1 c${sequence}`, "error"]);
    queue.overflow("too many bytes");
    expect(onOverflow).not.toHaveBeenCalled(); // already over
    const other = coalescingQueue(1);
    other.queue.overflow("too many bytes");
    expect(other.onOverflow).toHaveBeenCalledWith("too many bytes");
  });

  it("coalesces while a sink waits, and hands the merged events over when it resumes", () => {
    const { queue } = coalescingQueue(1);
    const delivered: Event[] = [];
    let room = 1;
    queue.attach({
      deliver(event) {
        delivered.push(event);
        room -= 1;
        return room > 0;
      },
      end() {},
    });
    queue.push(added(pod("a"))); // taken; the sink now waits
    for (let i = 0; i < 1_000; i += 1) queue.push(updated(pod("a", `p${i}`), pod("a", `p${i + 1}`), ["phase"]));
    expect(queue.depth).toBe(1);
    room = 10;
    queue.resume();
    expect(delivered.map(describeEvent)).toEqual([`added a x1 c${sequence - 1000}`, `updated a x1000 c${sequence}`]);
    expect(delivered[1]).toMatchObject({ previous: pod("a", "p0"), object: pod("a", "p1000"), changedFields: ["phase"] });
  });
});
