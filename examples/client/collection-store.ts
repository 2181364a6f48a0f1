// The keyed collections a kubesub stream's events describe, and the one rule that keeps a UI honest
// across reconnects: what a (re)subscription sends before InitialStateComplete is held back and
// shown in one step when InitialStateComplete says what it was. No transport, no timers: the
// reducer that LiveCollection (./live-collection.ts) runs on every event.
import { PersistentMap } from "./persistent-map.ts";

/**
 * Collection name -> the type of its objects, as one stream fills them: `{ pods: Pod }`, or
 * `{ clusters: DaskCluster; workerGroups: DaskWorkerGroup; ... }` for daskEvents.
 */
export type Collections<C> = { [K in keyof C]: object };

/** What one change member of an event union (XAdded, XUpdated, XDeleted) does to a collection. */
export type ObjectChange<C> = {
  [K in keyof C]: {
    collection: K;
    /** upsert: XAdded or XUpdated, coalesced or not (the object as it is now); remove: XDeleted (its last known state). */
    type: "upsert" | "remove";
    object: C[K];
    /** Of an XUpdated: the fields kubesub names in changedFields. */
    changedFields?: readonly string[];
    /** Of an XAdded: the resource (as ResourceUnavailable names it) that the object shows to be readable. */
    readable?: string;
  };
}[keyof C];

/** A change as it was applied, with the key the object is stored under. */
export type AppliedChange<C> = ObjectChange<C> & { key: string };

/** The key an object is stored under in its collection. */
export type KeyOf<C> = (object: C[keyof C], collection: keyof C) => string;

/** What ResourceUnavailable carries that the store needs: the resource, as RBAC names it. */
export interface Unavailable {
  resource: string;
}

/** The collections as they are shown: never changed in place (a change makes new maps). */
export interface CollectionView<C, U extends Unavailable> {
  readonly collections: { readonly [K in keyof C]: ReadonlyMap<string, C[K]> };
  /** Resources kubesub says it cannot read, by resource: their objects are missing from the collections. */
  readonly unavailable: ReadonlyMap<string, U>;
  /** Whether an InitialStateComplete has arrived: before it, empty collections mean "not known yet". */
  readonly loaded: boolean;
}

/** What complete() did: replaced every collection with a fresh snapshot, or applied the changes missed. */
export type Completion<C> = { kind: "snapshot" } | { kind: "changes"; changes: AppliedChange<C>[] };

/**
 * An object's namespace (or project, as IDE and Dask models call it) and name: "team-a/etl-1".
 * Objects that carry an `id` can be keyed by it instead (`key: (object) => object.id`).
 */
export function namespacedName(object: object): string {
  const { namespace, project, name } = object as { namespace?: unknown; project?: unknown; name?: unknown };
  const scope = namespace ?? project;
  if (typeof name !== "string" || typeof scope !== "string") {
    throw new TypeError("an object without a string name and namespace (or project) cannot be keyed by them: pass a key function");
  }
  return `${scope}/${name}`;
}

/**
 * The collections of one stream, kept from its events.
 *
 * Contract:
 * - begin() starts a (re)subscription: from then until complete(), changes and ResourceUnavailable
 *   events are staged, in order, and the collections shown do not change. Changes staged by a
 *   subscription that ended before its InitialStateComplete are kept ahead of the next one's: a
 *   resumed stream cut off in the middle of the changes missed resumes after the last one received;
 * - complete(resumed: false) (a fresh snapshot): the changes staged by this subscription build new
 *   collections, which replace the shown ones whole (those kept from an earlier one are dropped).
 *   Objects absent from the snapshot (deleted while away) are gone; there is never a moment with
 *   only part of the snapshot shown;
 * - complete(resumed: true) (the changes missed since the cursor): the staged changes, those kept
 *   from earlier subscriptions first, are applied in order to the collections shown;
 * - in both cases the staged ResourceUnavailable events replace the unavailable ones (kubesub
 *   repeats, at every subscription, each resource it still cannot read);
 * - after complete(), each change applies at once: upsert adds or replaces the object under its key,
 *   remove deletes it (a missing key is no error); ResourceUnavailable adds its resource, and an
 *   upsert whose `readable` names a resource removes it.
 *
 * view() returns the same object until something changes, then a new one; the maps it hands out
 * are never changed (each collection is a PersistentMap: a change makes a new version sharing
 * almost everything with the last, so a view after every event stays cheap at 50,000 objects).
 */
export class CollectionStore<C extends Collections<C>, U extends Unavailable> {
  private readonly key: KeyOf<C>;
  private readonly names: readonly (keyof C)[];
  private maps: { [K in keyof C]: PersistentMap<string, C[K]> };
  /** Never changed in place: replaced by a copy on every change. */
  private unavailable: ReadonlyMap<string, U> = new Map();
  private staged: { earlier: ObjectChange<C>[]; changes: ObjectChange<C>[]; unavailable: U[] } | undefined;
  private loaded = false;
  private current: CollectionView<C, U> | undefined;

  constructor(names: readonly (keyof C)[], key: KeyOf<C> = namespacedName) {
    this.names = names;
    this.key = key;
    this.maps = Object.fromEntries(names.map((name) => [name, PersistentMap.from()])) as typeof this.maps;
  }

  /** A (re)subscription starts; the changes an unfinished one before it staged are kept, its ResourceUnavailable events dropped. */
  begin(): void {
    const earlier = this.staged ? [...this.staged.earlier, ...this.staged.changes] : [];
    this.staged = { earlier, changes: [], unavailable: [] };
  }

  /** Applies a change, or stages it until complete(); returns it as applied, or undefined if staged. */
  change(change: ObjectChange<C>): AppliedChange<C> | undefined {
    if (this.staged) {
      this.staged.changes.push(change);
      return undefined;
    }
    return this.apply(change);
  }

  /** Records a ResourceUnavailable, or stages it; returns whether it was applied. */
  resourceUnavailable(event: U): boolean {
    if (this.staged) {
      this.staged.unavailable.push(event);
      return false;
    }
    this.unavailable = new Map(this.unavailable).set(event.resource, event);
    this.current = undefined;
    return true;
  }

  /** InitialStateComplete: shows what was staged, as a fresh snapshot or as the changes missed. */
  complete(resumed: boolean): Completion<C> {
    const staged = this.staged ?? { earlier: [], changes: [], unavailable: [] };
    this.staged = undefined;
    this.loaded = true;
    this.unavailable = new Map(staged.unavailable.map((event) => [event.resource, event]));
    this.current = undefined;
    if (resumed) return { kind: "changes", changes: [...staged.earlier, ...staged.changes].map((change) => this.apply(change)) };
    const maps = new Map(this.names.map((name) => [name, new Map<string, unknown>()]));
    for (const change of staged.changes) {
      const map = maps.get(change.collection);
      if (!map) throw undeclared(change.collection);
      const key = this.key(change.object, change.collection);
      if (change.type === "upsert") map.set(key, change.object);
      else map.delete(key);
    }
    this.maps = Object.fromEntries(this.names.map((name) => [name, PersistentMap.from(maps.get(name))])) as typeof this.maps;
    return { kind: "snapshot" };
  }

  view(): CollectionView<C, U> {
    if (this.current) return this.current;
    this.current = { collections: { ...this.maps }, unavailable: this.unavailable, loaded: this.loaded };
    return this.current;
  }

  private apply(change: ObjectChange<C>): AppliedChange<C> {
    const map = this.maps[change.collection] as PersistentMap<string, unknown> | undefined;
    if (!map) throw undeclared(change.collection);
    const key = this.key(change.object, change.collection);
    if (change.type === "upsert") {
      this.maps[change.collection] = map.set(key, change.object) as (typeof this.maps)[typeof change.collection];
      if (change.readable !== undefined && this.unavailable.has(change.readable)) {
        const unavailable = new Map(this.unavailable);
        unavailable.delete(change.readable);
        this.unavailable = unavailable;
      }
    } else this.maps[change.collection] = map.delete(key) as (typeof this.maps)[typeof change.collection];
    this.current = undefined;
    return { ...change, key };
  }
}

function undeclared(collection: PropertyKey): Error {
  return new Error(`a change names the collection "${String(collection)}", which its stream definition does not declare`);
}
