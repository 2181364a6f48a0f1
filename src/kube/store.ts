import { type KubeObject, objectKey, resourceVersionOf } from "./types.ts";

/** A change to the store, as handlers see it. Updates carry the old and the new object. */
export type Delta<T extends KubeObject> =
  | { type: "added"; object: T }
  | { type: "updated"; old: T; object: T }
  /**
   * object is the last state the store held. resourceVersion is set when a relist found the object
   * gone: the list's resourceVersion, at which it was known to be deleted.
   */
  | { type: "deleted"; object: T; resourceVersion?: string };

/**
 * The informer's cache: the latest known state of each object, keyed by namespace/name.
 * Every mutation returns the deltas it caused, so that the cache and what handlers were told never
 * disagree: a key is in the store if and only if handlers were last told it was added or updated.
 */
export class ObjectStore<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  /** Keys by namespace, so that one project's objects are found without scanning the cluster's. */
  private readonly byNamespace = new Map<string, Set<string>>();

  get size(): number {
    return this.items.size;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  /** A copy of the current objects, in insertion order. */
  list(): T[] {
    return [...this.items.values()];
  }

  /** A copy of the current objects of one namespace. */
  listIn(namespace: string): T[] {
    const keys = this.byNamespace.get(namespace);
    if (!keys) return [];
    const objects: T[] = [];
    for (const key of keys) {
      const object = this.items.get(key);
      if (object) objects.push(object);
    }
    return objects;
  }

  /**
   * Replaces the whole content with a fresh LIST and returns the difference: what was added, what
   * changed (by resourceVersion) and what disappeared while nobody was watching.
   */
  replace(objects: readonly T[], resourceVersion?: string): Delta<T>[] {
    const deltas: Delta<T>[] = [];
    const seen = new Set<string>();
    for (const object of objects) {
      const key = objectKey(object);
      seen.add(key);
      const delta = this.upsert(key, object);
      if (delta) deltas.push(delta);
    }
    for (const [key, old] of this.items) {
      if (!seen.has(key)) {
        this.remove(key, old);
        deltas.push({ type: "deleted", object: old, resourceVersion });
      }
    }
    return deltas;
  }

  /** Applies one watch event. Returns undefined when the event changes nothing already known. */
  apply(type: "ADDED" | "MODIFIED" | "DELETED", object: T): Delta<T> | undefined {
    const key = objectKey(object);
    if (type === "DELETED") {
      const old = this.items.get(key);
      if (!old) return undefined;
      this.remove(key, old);
      return { type: "deleted", object };
    }
    return this.upsert(key, object);
  }

  private upsert(key: string, object: T): Delta<T> | undefined {
    const old = this.items.get(key);
    this.items.set(key, object);
    if (!old) {
      const namespace = object.metadata?.namespace ?? "";
      let keys = this.byNamespace.get(namespace);
      if (!keys) {
        keys = new Set();
        this.byNamespace.set(namespace, keys);
      }
      keys.add(key);
      return { type: "added", object };
    }
    if (resourceVersionOf(old) === resourceVersionOf(object)) return undefined;
    return { type: "updated", old, object };
  }

  private remove(key: string, old: T): void {
    this.items.delete(key);
    const namespace = old.metadata?.namespace ?? "";
    const keys = this.byNamespace.get(namespace);
    keys?.delete(key);
    if (keys?.size === 0) this.byNamespace.delete(namespace);
  }
}
