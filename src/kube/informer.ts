import type { Logger } from "pino";
import { type Clock, systemClock } from "../clock.ts";
import { ChangeLog, type ChangeLogLimits, type LoggedChange } from "./change-log.ts";
import { isPermanent } from "./errors.ts";
import type { ListWatchSource } from "./list-watch-source.ts";
import { Reflector, type ReflectorOptions } from "./reflector.ts";
import { NamespaceDigests } from "./state-digest.ts";
import { type Delta, ObjectStore } from "./store.ts";
import { type KubeObject, objectKey } from "./types.ts";

/** Receives every delta, synchronously, in the order the store applied them. */
export type DeltaHandler<T extends KubeObject> = (delta: Delta<T>) => void;

export interface InformerStatus {
  synced: boolean;
  /** The last list or watch failure, cleared by the next successful list. */
  lastError: unknown;
  /** resourceVersion of the last list, event or bookmark. */
  resourceVersion: string | undefined;
  /** Relists after the first one (410 Gone, or recovery after a failed list). */
  relists: number;
  watchRestarts: number;
  /** When the last list or change event arrived, ms since the epoch; 0: never. */
  lastEventAt: number;
  /**
   * resourceVersion of the last change (added, modified, deleted) every handler has been told of,
   * or of the last list when none came since; never a bookmark's. Another process watching the same
   * resource reads that same change, so it can tell when it has read as far (unlike a bookmark,
   * which each watch gets at its own times). undefined before the first list.
   */
  changedThrough: string | undefined;
}

/**
 * What the layers above read of an informer: one resource, in one namespace or (with cluster-scope
 * informers) one namespace's share of a cluster-wide cache (namespace-informer.ts).
 */
export interface SharedInformer<T extends KubeObject> {
  readonly description: string;
  /** Whether the cache behind it lists and watches every namespace (--watch-scope cluster). */
  readonly clusterWide?: boolean;
  readonly hasSynced: boolean;
  readonly status: InformerStatus;
  waitForSync(signal?: AbortSignal): Promise<void>;
  list(): T[];
  /** By store key, namespace/name. */
  get(key: string): T | undefined;
  /** Returns the function that removes the handler. */
  addHandler(handler: DeltaHandler<T>): () => void;
  /**
   * Told once when the resource stops being readable for good (not installed any more, access
   * taken away: a 401, 403 or 404), not on every retry; told again only after it was read again.
   * Returns the function that removes the handler.
   */
  addOutageHandler(handler: (cause: unknown) => void): () => void;
  /**
   * The resourceVersion after which none of its objects (of its namespace, for a namespace's
   * share) has changed, as far back as the informer's last list: that of their last change, or of
   * the list when none changed since. A view started now can vouch that nothing it serves changed
   * between this and now. undefined before the first list.
   */
  quietSince(): string | undefined;
  /**
   * A digest of its objects in a namespace now (their names and resourceVersions, see
   * NamespaceDigests): equal on two replicas if and only if they hold the same objects there.
   */
  digest(namespace: string): string;
  /**
   * Its recent changes in a namespace, oldest first, and the resourceVersion after which they are
   * all of them (ChangeLog); undefined when it keeps none, or none it can vouch for.
   */
  recentChanges(namespace: string): { from: string; changes: LoggedChange<T>[] } | undefined;
}

export interface InformerOptions extends ReflectorOptions {
  logger?: Logger;
  /** How many recent changes it keeps for views that start at an earlier position. Default: none. */
  changeLog?: ChangeLogLimits;
}

/** Drops managedFields: large, never served, and rewritten by every apply. */
export function dropManagedFields<O extends KubeObject>(object: O): O {
  if (!object.metadata?.managedFields) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/**
 * A cache of one resource in one namespace, kept current by a Reflector, that tells handlers
 * about every change: adds, updates (old and new object) and deletes, including the ones a relist
 * discovers after a gap.
 *
 * Contracts:
 * - A handler added with addHandler() sees every delta after the call and none before it; read
 *   list() in the same synchronous turn to get a consistent snapshot-then-changes view.
 * - A handler that throws is logged and skipped; the informer and other handlers go on.
 * - stop() is idempotent and ends the reflector; waiters on waitForSync() are rejected.
 */
export class Informer<T extends KubeObject> implements SharedInformer<T> {
  readonly description: string;
  private readonly store = new ObjectStore<T>();
  private readonly handlers = new Set<DeltaHandler<T>>();
  /** Handlers of one namespace's deltas only: a cluster-wide informer routes each delta to its project's. */
  private readonly namespaceHandlers = new Map<string, Set<DeltaHandler<T>>>();
  private readonly outageHandlers = new Set<(cause: unknown) => void>();
  /** Since the last permanent failure, until the next successful list. */
  private inOutage = false;
  private readonly reflector: Reflector<T>;
  private readonly logger: Logger | undefined;
  private readonly clock: Clock;
  private readonly syncWaiters = new Set<{ resolve: () => void; reject: (error: unknown) => void }>();
  private stopped = false;
  private lists = 0;
  /** resourceVersion of the last list. */
  private listedAt: string | undefined;
  /** See InformerStatus.changedThrough. */
  private changedThrough: string | undefined;
  /** By namespace, the resourceVersion of its objects' last change since the last list. */
  private readonly namespaceChanges = new Map<string, string>();
  private readonly digests = new NamespaceDigests();
  private readonly changeLog: ChangeLog<T> | undefined;
  private readonly state: { synced: boolean; lastError: unknown; watchRestarts: number; lastEventAt: number } = {
    synced: false,
    lastError: undefined,
    watchRestarts: 0,
    lastEventAt: 0,
  };

  constructor(source: ListWatchSource<T>, options: InformerOptions = {}) {
    this.description = source.description;
    this.logger = options.logger?.child({ informer: source.description });
    this.clock = options.clock ?? systemClock;
    if (options.changeLog && options.changeLog.size > 0) this.changeLog = new ChangeLog(options.changeLog, this.clock);
    this.reflector = new Reflector(
      source,
      {
        replace: (items, resourceVersion) => this.onReplace(items, resourceVersion),
        apply: (type, object) => {
          this.state.lastEventAt = this.clock.now();
          // A deletion's delta carries the deleted object as the watch gave it; the digest and the
          // change log need it as it was cached.
          const cached = type === "DELETED" ? this.store.get(objectKey(object)) : undefined;
          const delta = this.store.apply(type, object);
          if (!delta) return;
          this.dispatch(delta);
          this.digests.apply(delta, cached);
          // Only once every handler has handled it: a position read meanwhile must not claim it.
          const resourceVersion = object.metadata?.resourceVersion;
          if (resourceVersion) {
            const namespace = object.metadata?.namespace ?? "";
            this.changedThrough = resourceVersion;
            this.namespaceChanges.set(namespace, resourceVersion);
            this.changeLog?.record(delta, cached, resourceVersion, namespace);
          }
        },
        error: (error, delayMs) => this.onError(error, delayMs),
      },
      { transform: dropManagedFields, ...options },
    );
  }

  start(): void {
    if (this.stopped) return;
    void this.reflector.run();
  }

  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      for (const waiter of this.syncWaiters) waiter.reject(new Error(`informer for ${this.description} stopped`));
      this.syncWaiters.clear();
      this.handlers.clear();
      this.namespaceHandlers.clear();
      this.outageHandlers.clear();
    }
    await this.reflector.stop();
  }

  get hasSynced(): boolean {
    return this.state.synced;
  }

  get status(): InformerStatus {
    return {
      synced: this.state.synced,
      lastError: this.state.lastError,
      resourceVersion: this.reflector.resourceVersion,
      relists: Math.max(0, this.lists - 1),
      watchRestarts: this.state.watchRestarts,
      lastEventAt: this.state.lastEventAt,
      changedThrough: this.changedThrough,
    };
  }

  quietSince(): string | undefined {
    return this.changedThrough;
  }

  digest(namespace: string): string {
    return this.digests.of(namespace);
  }

  recentChanges(namespace: string): { from: string; changes: LoggedChange<T>[] } | undefined {
    return this.changeLog?.since(namespace);
  }

  /** quietSince() of one namespace's objects. */
  quietSinceIn(namespace: string): string | undefined {
    return this.namespaceChanges.get(namespace) ?? this.listedAt;
  }

  /**
   * Resolves once the first list has landed in the cache. Rejects when the informer stops, when
   * the signal aborts, or on a permanent failure (401, 403, 404) before the first sync, so that a
   * caller can report it instead of waiting forever.
   */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.state.synced) return Promise.resolve();
    if (this.stopped) return Promise.reject(new Error(`informer for ${this.description} stopped`));
    if (isPermanent(this.state.lastError)) return Promise.reject(this.state.lastError);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.syncWaiters.delete(waiter);
        reject(signal?.reason);
      };
      const waiter = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (error: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.syncWaiters.add(waiter);
    });
  }

  /** A snapshot of the cache. */
  list(): T[] {
    return this.store.list();
  }

  /** A snapshot of one namespace's objects in the cache. */
  listIn(namespace: string): T[] {
    return this.store.listIn(namespace);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  /** Returns the function that removes the handler. */
  addHandler(handler: DeltaHandler<T>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  addOutageHandler(handler: (cause: unknown) => void): () => void {
    this.outageHandlers.add(handler);
    return () => this.outageHandlers.delete(handler);
  }

  /** A handler of the deltas of one namespace's objects only. Returns the function that removes it. */
  addNamespaceHandler(namespace: string, handler: DeltaHandler<T>): () => void {
    let handlers = this.namespaceHandlers.get(namespace);
    if (!handlers) {
      handlers = new Set();
      this.namespaceHandlers.set(namespace, handlers);
    }
    handlers.add(handler);
    const added = handlers;
    return () => {
      added.delete(handler);
      if (added.size === 0 && this.namespaceHandlers.get(namespace) === added) this.namespaceHandlers.delete(namespace);
    };
  }

  private onReplace(items: T[], resourceVersion: string): void {
    this.lists += 1;
    this.state.lastEventAt = this.clock.now();
    const deltas = this.store.replace(items, resourceVersion);
    // A list breaks continuity: what changed before it, and its own differences, are not known
    // change by change. Set before the differences are dispatched: they are its.
    this.listedAt = resourceVersion;
    this.changedThrough = resourceVersion;
    this.namespaceChanges.clear();
    this.digests.reset(this.store.list());
    this.changeLog?.reset(resourceVersion);
    const firstSync = !this.state.synced;
    this.state.synced = true;
    this.state.lastError = undefined;
    this.inOutage = false;
    if (firstSync) {
      this.logger?.info({ objects: items.length, resourceVersion }, "informer synced");
    } else {
      this.logger?.info({ changes: deltas.length, resourceVersion }, "relisted; applying the difference");
    }
    for (const delta of deltas) this.dispatch(delta);
    for (const waiter of this.syncWaiters) waiter.resolve();
    this.syncWaiters.clear();
  }

  private onError(error: unknown, delayMs: number | undefined): void {
    this.state.lastError = error;
    if (this.reflector.resourceVersion !== undefined) this.state.watchRestarts += 1;
    this.logger?.warn(
      { err: error, retryInMs: delayMs },
      delayMs === undefined ? "watch expired; relisting" : "list/watch failed; retrying",
    );
    if (!this.state.synced && isPermanent(error)) {
      for (const waiter of this.syncWaiters) waiter.reject(error);
      this.syncWaiters.clear();
    }
    if (isPermanent(error) && !this.inOutage) {
      this.inOutage = true;
      for (const handler of this.outageHandlers) {
        try {
          handler(error);
        } catch (failure) {
          this.logger?.error({ err: failure }, "informer outage handler threw; continuing");
        }
      }
    }
  }

  private dispatch(delta: Delta<T>): void {
    for (const handler of this.handlers) this.call(handler, delta);
    if (this.namespaceHandlers.size === 0) return;
    const handlers = this.namespaceHandlers.get(delta.object.metadata?.namespace ?? "");
    if (handlers) for (const handler of handlers) this.call(handler, delta);
  }

  private call(handler: DeltaHandler<T>, delta: Delta<T>): void {
    try {
      handler(delta);
    } catch (error) {
      this.logger?.error({ err: error }, "informer handler threw; continuing");
    }
  }
}
