// An immutable map whose every change is a new version sharing almost everything with the last:
// what lets a LiveCollection hand a UI a new snapshot after every event without copying a
// collection of 50,000 objects each time.

/** In a delta: the key is removed from the base. */
const removed: unique symbol = Symbol("removed");
/** To changed(): the key leaves the delta (it is not in the base). */
const absent: unique symbol = Symbol("absent");

/**
 * A ReadonlyMap that is never changed: set() and delete() return a new version.
 *
 * A version is a base map, shared with other versions and never written, plus a small delta of its
 * own (new values, and tombstones for keys of the base it removed). A change copies the delta, so
 * it costs O(delta); once the delta outgrows the square root of the size (at least 64 entries), the
 * next change folds it into a new base, O(size) once every that many changes. Reads look in the
 * delta, then in the base. Iteration order is unspecified (not insertion order).
 */
export class PersistentMap<K, V> implements ReadonlyMap<K, V> {
  readonly size: number;
  private readonly base: ReadonlyMap<K, V>;
  private readonly delta: ReadonlyMap<K, V | typeof removed>;

  private constructor(base: ReadonlyMap<K, V>, delta: ReadonlyMap<K, V | typeof removed>, size: number) {
    this.base = base;
    this.delta = delta;
    this.size = size;
  }

  /** A version holding these entries; the map passed in is owned by it from then on and must not be changed. */
  static from<K, V>(entries: Map<K, V> = new Map()): PersistentMap<K, V> {
    return new PersistentMap(entries, new Map(), entries.size);
  }

  get(key: K): V | undefined {
    const value = this.delta.get(key);
    if (value === removed) return undefined;
    return value === undefined && !this.delta.has(key) ? this.base.get(key) : value;
  }

  has(key: K): boolean {
    return this.delta.has(key) ? this.delta.get(key) !== removed : this.base.has(key);
  }

  /** A version with key set to value. */
  set(key: K, value: V): PersistentMap<K, V> {
    const size = this.has(key) ? this.size : this.size + 1;
    return this.changed(key, value, size);
  }

  /** A version without key (this one if it has no key). */
  delete(key: K): PersistentMap<K, V> {
    if (!this.has(key)) return this;
    return this.changed(key, this.base.has(key) ? removed : absent, this.size - 1);
  }

  private changed(key: K, value: V | typeof removed | typeof absent, size: number): PersistentMap<K, V> {
    if (this.delta.size >= Math.max(64, Math.sqrt(this.size))) {
      const base = new Map(this.base);
      for (const [k, v] of this.delta) {
        if (v === removed) base.delete(k);
        else base.set(k, v);
      }
      if (value === absent || value === removed) base.delete(key);
      else base.set(key, value);
      return new PersistentMap(base, new Map(), size);
    }
    const delta = new Map(this.delta);
    if (value === absent) delta.delete(key);
    else delta.set(key, value);
    return new PersistentMap(this.base, delta, size);
  }

  *entries(): MapIterator<[K, V]> {
    for (const entry of this.base) if (!this.delta.has(entry[0])) yield entry;
    for (const [key, value] of this.delta) if (value !== removed) yield [key, value];
  }

  *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }
}
