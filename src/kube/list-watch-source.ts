import type { KubeObject } from "./types.ts";

/** The namespace of a source that lists and watches a resource in every namespace. */
export const allNamespaces = "";

/**
 * One page of a consistent LIST: its items and the list's resourceVersion (the same on every
 * page), from which to watch once the last page has come.
 */
export interface ListPage<T extends KubeObject> {
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
 * - list() yields the pages of one consistent LIST, in order, each as soon as it has arrived, so
 *   that the reader can reduce each page's objects (the informer's transform) before the next
 *   arrives, and never holds the whole list as it came. It throws a KubeApiError (see errors.ts)
 *   carrying the HTTP status when the API refuses, on any page; the reader then discards the
 *   pages it had.
 * - watch() resolves when the stream ends without error (server timeout, abort) and rejects with a
 *   KubeApiError when it cannot start or breaks. A resourceVersion that is too old is reported
 *   either as a rejection with status 410 or as an ERROR event with code 410.
 */
export interface ListWatchSource<T extends KubeObject = KubeObject> {
  /** For logs: "pods in team-a". */
  readonly description: string;
  list(signal: AbortSignal): AsyncIterable<ListPage<T>>;
  watch(options: WatchOptions<T>): Promise<void>;
}

/** Every page of a source's LIST, joined: for tests and tools; the informer reads page by page. */
export async function listAll<T extends KubeObject>(source: ListWatchSource<T>, signal: AbortSignal): Promise<ListPage<T>> {
  const items: T[] = [];
  let resourceVersion = "";
  for await (const page of source.list(signal)) {
    items.push(...page.items);
    resourceVersion = page.resourceVersion;
  }
  return { items, resourceVersion };
}
