import type { StreamErrorCode } from "../../errors.ts";
import type { UnavailableReason } from "../views/view.ts";

export type { StreamErrorCode };

/** Why an object entered or left a subscriber's view. */
export type EventCause =
  /** Part of the current state sent when the stream starts. */
  | "INITIAL_STATE"
  /** The object itself was created or deleted (or found created or deleted by a relist). */
  | "CLUSTER_CHANGE"
  /** The object changed so that it now matches, or no longer matches, the subscriber's filter. */
  | "FILTER_CHANGE";

interface Stamped {
  /** resourceVersion of the object (or, for the marker, the highest its sources have seen). */
  resourceVersion: string;
  /** When kubesub observed the change, ISO 8601. */
  observedAt: string;
}

/**
 * Every event's position in its stream (views/cursor.ts), handed back as `after` or
 * Last-Event-ID to resume after it. Events before InitialStateComplete carry a position of no
 * change, from which a stream resumes with a fresh snapshot.
 */
interface Positioned {
  cursor: string;
}

/**
 * A change made for one subscriber, not shared with a feed's other members: one replayed from a
 * view's history to a stream that resumes.
 */
interface Own {
  own?: true;
}

/**
 * How many changes to its object the event stands for: absent (one) for an ordinary event; more
 * for one a slow subscriber's queue merged from several it had not been sent yet (coalesce.ts).
 */
interface Coalesced {
  coalesced?: number;
}

/** Which model an event is about, for streams that carry several (Dask clusters and jobs...). */
interface Kinded {
  kind: string;
}

/**
 * What one subscriber receives, in order: "unavailable" for each source that cannot be read yet,
 * the initial state as "added" with cause INITIAL_STATE, one "initial-state-complete", then live
 * changes. An "error" is always the last event of a stream.
 */
export type StreamEvent<M> =
  | ({ type: "added"; object: M; cause: EventCause } & Stamped & Kinded & Positioned & Own & Coalesced)
  | ({ type: "updated"; object: M; previous: M; changedFields: string[] } & Stamped & Kinded & Positioned & Own & Coalesced)
  | ({
      type: "deleted";
      object: M;
      cause: EventCause;
      /** Of a deletion merged with changes before it that the subscriber was not sent: the state it was last sent. */
      lastSent?: M;
    } & Stamped &
      Kinded &
      Positioned &
      Own &
      Coalesced)
  /** resumed: the stream resumed after a cursor (the changes since came before it), rather than sending a snapshot. */
  | ({ type: "initial-state-complete"; count: number; resumed: boolean } & Stamped & Positioned)
  | ({
      type: "unavailable";
      resource: string;
      namespace: string;
      reason: UnavailableReason;
      message: string;
      observedAt: string;
    } & Positioned)
  | ({ type: "error"; code: StreamErrorCode; message: string; retryable: boolean; observedAt: string } & Positioned);

/**
 * Whether an event is one a shared feed hands to every member (a live change), rather than one
 * made for a single subscriber (its initial state, an unavailable source, its last error): only
 * the former is worth executing and serialising once for all (server/use-shared-sse.ts).
 */
export function isSharedEvent(event: StreamEvent<unknown>): boolean {
  switch (event.type) {
    case "updated":
      return event.own !== true;
    case "added":
    case "deleted":
      return event.cause !== "INITIAL_STATE" && event.own !== true;
    default:
      return false;
  }
}
