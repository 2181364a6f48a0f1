import type { Cursor } from "./cursor.ts";
import type { HistoryEntry } from "./history.ts";

/**
 * A change to a view's models, computed once per view for all of its subscribers.
 * resourceVersion is that of the Kubernetes change that caused it (for a join, possibly another
 * object's, such as a pod of a Dask cluster); cursor is the view's position just after it
 * (cursor.ts), the same for every subscriber.
 */
export type ModelDelta<M> = { resourceVersion: string; cursor: string } & (
  | { type: "added"; object: M }
  /** changedFields is never empty: an update that changes no served field is not a delta. */
  | { type: "updated"; old: M; object: M; changedFields: string[] }
  | { type: "deleted"; object: M }
);

/**
 * Why a resource could not be read; for the namespace itself (resource "namespaces"), whether it
 * is being deleted or does not exist.
 */
export type UnavailableReason = "NOT_INSTALLED" | "FORBIDDEN" | "UNREACHABLE" | "NAMESPACE_TERMINATING" | "NAMESPACE_NOT_FOUND";

export interface UnavailableSource {
  /** "daskclusters.kubernetes.dask.org" */
  resource: string;
  namespace: string;
  reason: UnavailableReason;
  message: string;
}

/**
 * A live, keyed set of models of one kind in one namespace (pods, IDEs, Dask clusters...), derived
 * from one or more informers and shared by every subscriber of that kind and namespace.
 *
 * Contract: a handler added with addHandler() sees every delta after the call and none before;
 * list() read in the same synchronous turn gives a consistent snapshot.
 */
export interface View<M> {
  readonly description: string;
  list(): M[];
  addHandler(handler: (delta: ModelDelta<M>) => void): () => void;
  /**
   * Resolves once every source has synced, failed permanently (not installed, forbidden) or the
   * signal aborted; never rejects. Sources still missing are then reported by unavailable().
   */
  settle(signal: AbortSignal): Promise<void>;
  unavailable(): UnavailableSource[];
  /**
   * Told when a source that could be read stops being readable (a CRD deleted, access taken
   * away), and when the view's namespace starts being deleted and when it is gone; cause
   * identifies the outage, the same for every view that reads that source or namespace.
   */
  addUnavailableHandler(handler: (source: UnavailableSource, cause: unknown) => void): () => void;
  /** The highest resourceVersion its sources have seen. */
  resourceVersion(): string;
  /** Its position now, between two changes (cursor.ts): what InitialStateComplete carries. */
  cursor(): string;
  /**
   * The deltas it emitted after the cursor's position, oldest first, when its history still holds
   * every one of them (and no relist broke continuity since); undefined otherwise, and for a
   * cursor of another namespace or family. Read it in the same synchronous turn as addHandler().
   */
  since(cursor: Cursor): HistoryEntry<M>[] | undefined;
  /** Whether the cursor names a position of this view's sources that this process has not read yet (another replica is ahead). */
  behind(cursor: Cursor): boolean;
}
