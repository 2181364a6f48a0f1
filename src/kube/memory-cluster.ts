import { randomUUID } from "node:crypto";
import { type Clock, systemClock } from "../clock.ts";
import { KubeApiError } from "./errors.ts";
import { allNamespaces, type ListPage, type ListWatchSource, type WatchEvent, type WatchOptions } from "./list-watch-source.ts";
import { namespaceResource } from "./resources.ts";
import { type KubeObject, objectKey, type ResourceType, resourceName } from "./types.ts";

type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

/** The store key of namespace/name, as objectKey makes it (a cluster-scoped object's is its name). */
const keyOf = (namespace: string, name: string) => (namespace ? `${namespace}/${name}` : name);

interface HistoryEntry {
  revision: number;
  resource: string;
  namespace: string;
  type: ChangeType;
  object: KubeObject;
}

interface ActiveWatch {
  resource: string;
  namespace: string;
  deliver: (event: WatchEvent<KubeObject>) => void;
  fail: (error: unknown) => void;
  close: () => void;
  silenced: boolean;
}

/** How an expired resourceVersion is reported to a watch: as HTTP 410 or as an ERROR event. */
export type GoneMode = "status" | "event";

/**
 * An in-memory Kubernetes API for one process: objects per resource and namespace, a global
 * revision counter (as etcd's), a change history that watches replay from, and fault injection for
 * tests. It serves the demo and the unit tests of the informer layer; it is not a stand-in for
 * the behaviour only a real apiserver shows.
 *
 * Watches deliver events asynchronously (in a microtask), in revision order.
 */
export class MemoryCluster {
  private revision = 1;
  /** Revisions at or below this are compacted: watching from them is 410 Gone. */
  private compactedRevision = 0;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: HistoryEntry[] = [];
  private readonly watches = new Set<ActiveWatch>();
  private pendingListFailures: unknown[] = [];
  private readonly pendingListFailuresOf = new Map<string, unknown[]>();
  private listGate: Promise<void> | undefined;
  /** Counters for tests and the demo: how many lists and watches each resource/namespace saw. */
  readonly stats = { lists: new Map<string, number>(), watchesStarted: new Map<string, number>() };
  goneMode: GoneMode = "status";
  /** Keep at most this many history entries; older ones are compacted. */
  historyLimit = 10_000;
  private readonly clock: Clock;

  /** clock stamps creationTimestamp; default systemClock. */
  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /** The source the informer layer reads, for one resource in one namespace. */
  source<T extends KubeObject>(type: ResourceType, namespace: string): ListWatchSource<T> {
    const resource = resourceName(type);
    return {
      description: namespace === allNamespaces ? `${resource} in all namespaces` : `${resource} in ${namespace}`,
      list: (signal) => this.list(resource, namespace, signal) as AsyncIterable<ListPage<T>>,
      watch: (options) => this.watch(resource, namespace, options as unknown as WatchOptions<KubeObject>),
    };
  }

  get currentRevision(): string {
    return String(this.revision);
  }

  /** Active watches on a resource in a namespace. */
  activeWatches(type: ResourceType, namespace: string): number {
    const resource = resourceName(type);
    return [...this.watches].filter((w) => w.resource === resource && w.namespace === namespace).length;
  }

  // ---- reads and writes -------------------------------------------------------------------

  get<T extends KubeObject>(type: ResourceType, namespace: string, name: string): T | undefined {
    const object = this.bucket(resourceName(type), namespace).get(keyOf(namespace, name));
    return object ? (structuredClone(object) as T) : undefined;
  }

  objectsOf<T extends KubeObject>(type: ResourceType, namespace: string): T[] {
    return [...this.bucket(resourceName(type), namespace).values()].map((o) => structuredClone(o) as T);
  }

  /**
   * Stores a new object: assigns uid, creationTimestamp and resourceVersion. Throws 409 if it exists.
   * An object in a namespace that has no Namespace yet creates that Namespace first (as if an admin
   * had), so that the demo and tests need not; in a namespace being deleted it is refused with 403,
   * as the apiserver refuses it.
   */
  create<T extends KubeObject>(type: ResourceType, object: T): T {
    const resource = resourceName(type);
    const namespace = object.metadata?.namespace ?? "";
    if (namespace !== "" && !type.clusterScoped) {
      const owner = this.bucket(resourceName(namespaceResource), "").get(namespace);
      if (!owner) this.createNamespace(namespace);
      else if (owner.metadata?.deletionTimestamp) {
        throw new KubeApiError(`${resource} "${objectKey(object)}" is forbidden: namespace ${namespace} is being terminated`, {
          statusCode: 403,
          reason: "Forbidden",
        });
      }
    }
    const bucket = this.bucket(resource, namespace);
    const key = objectKey(object);
    if (bucket.has(key)) throw new KubeApiError(`${resource} "${key}" already exists`, { statusCode: 409 });
    const stored = structuredClone(object);
    stored.metadata = {
      ...stored.metadata,
      uid: stored.metadata?.uid ?? randomUUID(),
      creationTimestamp: stored.metadata?.creationTimestamp ?? this.clock.date().toISOString(),
    };
    return this.commit(resource, namespace, "ADDED", stored) as T;
  }

  /** Applies mutate to a copy of the stored object and stores the result under a new resourceVersion. */
  update<T extends KubeObject>(type: ResourceType, namespace: string, name: string, mutate: (object: T) => void): T {
    const resource = resourceName(type);
    const current = this.bucket(resource, namespace).get(keyOf(namespace, name));
    if (!current) throw new KubeApiError(`${resource} "${namespace}/${name}" not found`, { statusCode: 404 });
    const next = structuredClone(current) as T;
    mutate(next);
    return this.commit(resource, namespace, "MODIFIED", next) as T;
  }

  delete(type: ResourceType, namespace: string, name: string): void {
    const resource = resourceName(type);
    const current = this.bucket(resource, namespace).get(keyOf(namespace, name));
    if (!current) throw new KubeApiError(`${resource} "${namespace}/${name}" not found`, { statusCode: 404 });
    this.commit(resource, namespace, "DELETED", structuredClone(current));
  }

  // ---- namespaces ---------------------------------------------------------------------------

  /** Creates the Namespace (phase Active). Throws 409 if it exists. */
  createNamespace(name: string): KubeObject {
    return this.create(namespaceResource, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name },
      status: { phase: "Active" },
    } as KubeObject);
  }

  /**
   * The first half of a namespace's deletion, as the apiserver does it: deletionTimestamp set and
   * phase Terminating; new objects in it are refused from now on. Idempotent.
   */
  terminateNamespace(name: string): void {
    const current = this.get(namespaceResource, "", name);
    if (!current) throw new KubeApiError(`namespaces "${name}" not found`, { statusCode: 404 });
    if (current.metadata?.deletionTimestamp) return;
    this.update<KubeObject & { status?: { phase?: string } }>(namespaceResource, "", name, (namespace) => {
      namespace.metadata = { ...namespace.metadata, deletionTimestamp: this.clock.date().toISOString() };
      namespace.status = { ...namespace.status, phase: "Terminating" };
    });
  }

  /**
   * Deletes a namespace as the apiserver and its namespace controller do: terminating first, then
   * every object in it deleted, then the Namespace itself.
   */
  deleteNamespace(name: string): void {
    this.terminateNamespace(name);
    for (const [id, bucket] of this.objects) {
      const resource = id.slice(0, id.lastIndexOf("/"));
      if (id !== `${resource}/${name}`) continue;
      for (const object of [...bucket.values()]) this.commit(resource, name, "DELETED", structuredClone(object));
    }
    this.delete(namespaceResource, "", name);
  }

  // ---- faults -----------------------------------------------------------------------------

  /** The next lists fail with these errors, one each, in order. */
  failNextLists(...errors: unknown[]): void {
    this.pendingListFailures.push(...errors);
  }

  /** The next lists of this resource (in any namespace) fail with these errors, in order. */
  failNextListsOf(type: ResourceType, ...errors: unknown[]): void {
    const resource = resourceName(type);
    this.pendingListFailuresOf.set(resource, [...(this.pendingListFailuresOf.get(resource) ?? []), ...errors]);
  }

  /** Lists wait until the returned function is called (to test stop() during a list). */
  holdLists(): () => void {
    let release!: () => void;
    this.listGate = new Promise((resolve) => {
      release = () => {
        this.listGate = undefined;
        resolve();
      };
    });
    return release;
  }

  /** Forgets all history: watches from any earlier resourceVersion get 410 Gone. */
  compact(): void {
    this.compactedRevision = this.revision;
    this.history.length = 0;
  }

  /** Breaks every open watch as a reset connection would. */
  breakWatches(error: unknown = new KubeApiError("connection reset (injected)")): void {
    for (const watch of this.watches) watch.fail(error);
  }

  /** Ends every open watch normally, as the server's timeoutSeconds would. */
  closeWatches(): void {
    for (const watch of this.watches) watch.close();
  }

  /** Sends a 410 ERROR event on every open watch, as the apiserver does when its window moves on. */
  expireWatches(): void {
    for (const watch of this.watches) {
      watch.deliver({ type: "ERROR", status: { code: 410, reason: "Expired", message: "too old resource version" } });
    }
  }

  /** Open watches stay open but receive nothing more: a black-holed connection. */
  silenceWatches(): void {
    for (const watch of this.watches) watch.silenced = true;
  }

  /** Sends a bookmark at the current revision on every open watch. */
  sendBookmarks(): void {
    for (const watch of this.watches) watch.deliver({ type: "BOOKMARK", resourceVersion: this.currentRevision });
  }

  // ---- internals --------------------------------------------------------------------------

  private bucket(resource: string, namespace: string): Map<string, KubeObject> {
    const id = `${resource}/${namespace}`;
    let bucket = this.objects.get(id);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(id, bucket);
    }
    return bucket;
  }

  private commit(resource: string, namespace: string, type: ChangeType, object: KubeObject): KubeObject {
    this.revision += 1;
    object.metadata = { ...object.metadata, resourceVersion: String(this.revision) };
    const bucket = this.bucket(resource, namespace);
    if (type === "DELETED") bucket.delete(objectKey(object));
    else bucket.set(objectKey(object), object);
    this.history.push({ revision: this.revision, resource, namespace, type, object });
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.compactedRevision = dropped.at(-1)?.revision ?? this.compactedRevision;
    }
    for (const watch of this.watches) {
      if (watch.resource === resource && (watch.namespace === namespace || watch.namespace === allNamespaces)) {
        watch.deliver({ type, object: structuredClone(object) });
      }
    }
    return structuredClone(object);
  }

  private count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  /** One page, whatever the number of objects. */
  private async *list(resource: string, namespace: string, signal: AbortSignal): AsyncIterable<ListPage<KubeObject>> {
    this.count(this.stats.lists, `${resource}/${namespace}`);
    await Promise.resolve();
    if (this.listGate) {
      const gate = this.listGate;
      await new Promise<void>((resolve) => {
        void gate.then(resolve);
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    }
    if (signal.aborted) throw new KubeApiError("list aborted");
    const failure = this.pendingListFailuresOf.get(resource)?.shift() ?? this.pendingListFailures.shift();
    if (failure !== undefined) throw failure;
    const buckets =
      namespace === allNamespaces
        ? [...this.objects].filter(([id]) => id.startsWith(`${resource}/`)).map(([, bucket]) => bucket)
        : [this.bucket(resource, namespace)];
    yield {
      items: buckets.flatMap((bucket) => [...bucket.values()].map((o) => structuredClone(o))),
      resourceVersion: this.currentRevision,
    };
  }

  private watch(resource: string, namespace: string, options: WatchOptions<KubeObject>): Promise<void> {
    this.count(this.stats.watchesStarted, `${resource}/${namespace}`);
    const from = Number(options.resourceVersion);
    if (!Number.isFinite(from) || from < this.compactedRevision) {
      const status = { code: 410, reason: "Expired", message: `too old resource version: ${options.resourceVersion}` };
      if (this.goneMode === "status") return Promise.reject(new KubeApiError(status.message, { statusCode: 410, reason: "Expired" }));
      queueMicrotask(() => options.onEvent({ type: "ERROR", status }));
    }
    return new Promise<void>((resolve, reject) => {
      const queue: WatchEvent<KubeObject>[] = [];
      let scheduled = false;
      let ended = false;
      const end = (error?: unknown) => {
        if (ended) return;
        ended = true;
        this.watches.delete(watch);
        options.signal.removeEventListener("abort", onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const flush = () => {
        scheduled = false;
        for (const event of queue.splice(0)) {
          if (ended) return;
          options.onEvent(event);
        }
      };
      const watch: ActiveWatch = {
        resource,
        namespace,
        silenced: false,
        deliver: (event) => {
          if (ended || watch.silenced) return;
          queue.push(event);
          if (!scheduled) {
            scheduled = true;
            queueMicrotask(flush);
          }
        },
        fail: (error) => queueMicrotask(() => end(error)),
        close: () => queueMicrotask(() => end()),
      };
      const onAbort = () => end();
      if (options.signal.aborted) return end();
      options.signal.addEventListener("abort", onAbort, { once: true });
      this.watches.add(watch);
      // Replay what happened after the requested revision.
      if (from >= this.compactedRevision) {
        for (const entry of this.history) {
          if (entry.revision > from && entry.resource === resource && (entry.namespace === namespace || namespace === allNamespaces)) {
            watch.deliver({ type: entry.type, object: structuredClone(entry.object) });
          }
        }
      }
    });
  }
}
