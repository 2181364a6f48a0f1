import { type Clock, systemClock } from "../../clock.ts";
import type { ModelDelta, View } from "../views/view.ts";
import type { Selection } from "./selection.ts";
import type { StreamEvent } from "./stream-event.ts";

/** What a feed is keyed by and filters with: the selection's kind and filter. */
type FeedFilter<M> = Pick<Selection<M>, "kind" | "filterKey" | "matches">;

type Member = (event: StreamEvent<unknown>) => void;

interface Feed {
  members: Set<Member>;
  detach: () => void;
}

/**
 * Subscribers of one view with the same filter share one feed: each delta is filtered and turned
 * into an event once, and the same event object reaches every member, which lets the GraphQL layer
 * execute and serialise it once for all of them (server/use-shared-sse.ts). Members keep
 * their own queues, access checks and overflow.
 */
export class FeedRegistry {
  private readonly feeds = new WeakMap<View<unknown>, Map<string, Feed>>();
  private readonly clock: Clock;

  /** clock stamps each event's observedAt. */
  constructor(clock: Clock = systemClock) {
    this.clock = clock;
  }

  /** Call in the same synchronous turn as reading the view's snapshot. Returns leave(). */
  join<M>(view: View<M>, filter: FeedFilter<M>, member: Member): () => void {
    let byFilter = this.feeds.get(view as View<unknown>);
    if (!byFilter) {
      byFilter = new Map();
      this.feeds.set(view as View<unknown>, byFilter);
    }
    const key = `${filter.kind}\u0000${filter.filterKey}`;
    let feed = byFilter.get(key);
    if (!feed) {
      feed = this.open(view, filter);
      byFilter.set(key, feed);
    }
    return leave(byFilter, key, feed, member);
  }

  private open<M>(view: View<M>, filter: FeedFilter<M>): Feed {
    const members = new Set<Member>();
    const detach = view.addHandler((delta) => {
      const event = toEvent(filter, delta, this.clock.date().toISOString());
      if (event) for (const m of members) m(event as StreamEvent<unknown>);
    });
    return { members, detach };
  }
}

/** A member's leave(): it holds the feed, not the member's own filter (each member holds one). */
function leave(byFilter: Map<string, Feed>, key: string, feed: Feed, member: Member): () => void {
  feed.members.add(member);
  return () => {
    if (!feed.members.delete(member) || feed.members.size > 0) return;
    feed.detach();
    if (byFilter.get(key) === feed) byFilter.delete(key);
  };
}

/**
 * The event a delta means for a filter: transitions in and out of it are FILTER_CHANGE. The same
 * for a live delta and for one replayed from a view's history to a stream that resumes.
 */
export function toEvent<M>(filter: FeedFilter<M>, delta: ModelDelta<M>, observedAt: string): StreamEvent<M> | undefined {
  const { kind, matches } = filter;
  const { resourceVersion, cursor } = delta;
  const cause = "CLUSTER_CHANGE" as const;
  switch (delta.type) {
    case "added":
      return matches(delta.object) ? { type: "added", kind, object: delta.object, cause, resourceVersion, observedAt, cursor } : undefined;
    case "deleted":
      return matches(delta.object)
        ? { type: "deleted", kind, object: delta.object, cause, resourceVersion, observedAt, cursor }
        : undefined;
    case "updated": {
      const was = matches(delta.old);
      const is = matches(delta.object);
      if (was && is) {
        return {
          type: "updated",
          kind,
          object: delta.object,
          previous: delta.old,
          changedFields: delta.changedFields,
          resourceVersion,
          observedAt,
          cursor,
        };
      }
      if (is) return { type: "added", kind, object: delta.object, cause: "FILTER_CHANGE", resourceVersion, observedAt, cursor };
      if (was) return { type: "deleted", kind, object: delta.object, cause: "FILTER_CHANGE", resourceVersion, observedAt, cursor };
      return undefined;
    }
  }
}
