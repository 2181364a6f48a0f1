import { isDeepStrictEqual } from "node:util";
import { changedFields } from "../../domain/changed-fields.ts";
import type { StreamEvent } from "./stream-event.ts";
import type { Coalescer } from "./subscriber-queue.ts";

type Event = StreamEvent<unknown>;
type Change = Extract<Event, { type: "added" | "updated" | "deleted" }>;

/**
 * How a slow subscriber's queue merges the changes it has not sent yet (SubscriberQueue, once its
 * backlog passes its capacity): one event per object, which the client, applying it to what it
 * was last sent, brings to the object's latest state.
 *
 * - added, then updated: added (its cause), with the latest object.
 * - added, then deleted: nothing; the client never knew the object.
 * - updated, then updated: updated; previous is what the client was last sent, changedFields the
 *   union of both, less the fields that ended as they were (nothing at all when none is left).
 * - updated, then deleted: deleted (its cause), the last known state as object.
 * - deleted, then added (deleted and created again, or out of the filter and back in): updated
 *   from what the client was last sent to the new object (the fields that differ; nothing when
 *   none does). An update, not a deletion and an addition: a normalised cache (Apollo's, urql's
 *   Graphcache) keeps the entry and what points to it, where a removal would drop it from lists
 *   and views for an instant, and one event per object keeps the backlog's bound.
 *
 * The merged event takes the resourceVersion, observedAt and cursor of the last change it holds,
 * and counts the changes it stands for in `coalesced`. Events that are not about one object
 * (ResourceUnavailable) are never merged.
 */
export const coalesceChanges: Coalescer<Event> = {
  keyOf(event) {
    if (event.type !== "added" && event.type !== "updated" && event.type !== "deleted") return undefined;
    const object = event.object as { namespace?: string; name?: string };
    return `${event.kind}\u0000${object.namespace ?? ""}\u0000${object.name ?? ""}`;
  },
  merge(waiting, next) {
    return merge(waiting as Change, next as Change);
  },
};

function merge(waiting: Change, next: Change): Event | undefined {
  const coalesced = (waiting.coalesced ?? 1) + (next.coalesced ?? 1);
  const { kind, resourceVersion, observedAt, cursor } = next;
  const stamp = { kind, resourceVersion, observedAt, cursor, own: true as const, coalesced };
  switch (waiting.type) {
    case "added":
      if (next.type === "deleted") return undefined;
      return { type: "added", object: next.object, cause: waiting.cause, ...stamp };
    case "updated":
      if (next.type === "deleted") return { type: "deleted", object: next.object, cause: next.cause, lastSent: waiting.previous, ...stamp };
      return updated(waiting.previous, next.object, union(waiting.changedFields, fieldsOf(waiting.previous, next)), stamp);
    case "deleted": {
      if (next.type !== "added") return { ...next, ...stamp };
      const sent = waiting.lastSent ?? waiting.object;
      return updated(sent, next.object, changedFields(sent as object, next.object as object, ["resourceVersion" as never]), stamp);
    }
  }
}

/** The fields an event changes: an updated's, or every field of an added's object that differs. */
function fieldsOf(previous: unknown, next: Change): string[] {
  if (next.type === "updated") return next.changedFields;
  return changedFields(previous as object, next.object as object, ["resourceVersion" as never]);
}

function union(a: string[], b: string[]): string[] {
  const all = [...a];
  for (const field of b) if (!all.includes(field)) all.push(field);
  return all;
}

/** An update from previous to object over the fields that still differ; undefined when none does. */
function updated(
  previous: unknown,
  object: unknown,
  fields: string[],
  stamp: { kind: string; resourceVersion: string; observedAt: string; cursor: string; own: true; coalesced: number },
): Event | undefined {
  const before = previous as Record<string, unknown>;
  const after = object as Record<string, unknown>;
  const changed = fields.filter((field) => !isDeepStrictEqual(before[field], after[field]));
  if (changed.length === 0) return undefined;
  return { type: "updated", object, previous, changedFields: changed, ...stamp };
}
