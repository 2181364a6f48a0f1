import type { KubeObject } from "./types.ts";

/** The namespace of a source that lists and watches a resource in every namespace. */
export const allNamespaces = "";

/** The result of a consistent LIST: the items and the resourceVersion to watch from. */
export interface ListResult<T extends KubeObject> {
  items: T[];
  resourceVersion: string;
}

/** One event of a watch stream, as the apiserver sends it. */
export type WatchEvent<T extends KubeObject> =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: T }
  /** Carries only a resourceVersion: progress without a change. */
  | { type: "BOOKMARK"; resourceVersion: string }
  /** A metav1.Status; code 410 means the requested resourceVersion is gone. */
  | { type: "ERROR"; status: WatchErrorStatus };

export interface WatchErrorStatus {
  code?: number;
  reason?: string;
  message?: string;
}

export interface WatchOptions<T extends KubeObject> {
  /** Watch changes after this resourceVersion. */
  resourceVersion: string;
  /** Aborting ends the watch; the returned promise then resolves. */
  signal: AbortSignal;
  /** Called for each event, in order, synchronously with its arrival. */
  onEvent: (event: WatchEvent<T>) => void;
}

/**
 * List and watch one resource in one namespace. Implementations: the Kubernetes API
 * (kube-api-source.ts) and the in-memory cluster (memory-cluster.ts).
 *
 * Contract:
 * - list() rejects with a KubeApiError (see errors.ts) carrying the HTTP status when the API refuses.
 * - watch() resolves when the stream ends without error (server timeout, abort) and rejects with a
 *   KubeApiError when it cannot start or breaks. A resourceVersion that is too old is reported
 *   either as a rejection with status 410 or as an ERROR event with code 410.
 */
export interface ListWatchSource<T extends KubeObject = KubeObject> {
  /** For logs: "pods in team-a". */
  readonly description: string;
  list(signal: AbortSignal): Promise<ListResult<T>>;
  watch(options: WatchOptions<T>): Promise<void>;
}
