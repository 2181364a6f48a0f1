/** Why an object entered or left a subscriber's view. */
export type EventCause =
  /** Part of the current state sent when the stream starts. */
  | "INITIAL_STATE"
  /** The object itself was created or deleted (or found created or deleted by a relist). */
  | "CLUSTER_CHANGE"
  /** The object changed so that it now matches, or no longer matches, the subscriber's filter. */
  | "FILTER_CHANGE";

export type StreamErrorCode =
  /** The subscriber read too slowly and its queue filled up; reconnect for a fresh initial state. */
  | "OVERFLOW"
  /** kubesub could not read the resource from the cluster (unreachable, or forbidden to kubesub). */
  | "SOURCE_UNAVAILABLE"
  /** kubesub is shutting down; reconnect to another replica or after the restart. */
  | "SHUTTING_DOWN";

interface Stamped {
  /** resourceVersion of the object (or, for markers, of the informer's cache). */
  resourceVersion: string;
  /** When kubesub observed the change, ISO 8601. */
  observedAt: string;
}

/**
 * What one subscriber of one resource receives, in order: the initial state as "added" with cause
 * INITIAL_STATE, one "initial-state-complete", then live changes. An "error" is always the last
 * event of a stream.
 */
export type StreamEvent<M> =
  | ({ type: "added"; object: M; cause: EventCause } & Stamped)
  | ({ type: "updated"; object: M; previous: M; changedFields: string[] } & Stamped)
  | ({ type: "deleted"; object: M; cause: EventCause } & Stamped)
  | ({ type: "initial-state-complete"; count: number } & Stamped)
  | { type: "error"; code: StreamErrorCode; message: string; retryable: boolean; observedAt: string };
