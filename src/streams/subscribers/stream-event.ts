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
  | ({ type: "added"; object: M; cause: EventCause } & Stamped & Kinded)
  | ({ type: "updated"; object: M; previous: M; changedFields: string[] } & Stamped & Kinded)
  | ({ type: "deleted"; object: M; cause: EventCause } & Stamped & Kinded)
  | ({ type: "initial-state-complete"; count: number } & Stamped)
  | { type: "unavailable"; resource: string; namespace: string; reason: UnavailableReason; message: string; observedAt: string }
  | { type: "error"; code: StreamErrorCode; message: string; retryable: boolean; observedAt: string };

/**
 * Whether an event is one a shared feed hands to every member (a live change), rather than one
 * made for a single subscriber (its initial state, an unavailable source, its last error): only
 * the former is worth executing and serialising once for all (server/use-shared-sse.ts).
 */
export function isSharedEvent(event: StreamEvent<unknown>): boolean {
  switch (event.type) {
    case "updated":
      return true;
    case "added":
    case "deleted":
      return event.cause !== "INITIAL_STATE";
    default:
      return false;
  }
}
