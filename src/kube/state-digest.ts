import type { Delta } from "./store.ts";
import type { KubeObject } from "./types.ts";

/**
 * A digest of each namespace's objects in a cache: which names it holds at which resourceVersions,
 * kept up to date delta by delta (an XOR of one 64-bit hash per object, so adding and removing are
 * the same cheap step, and the order of changes does not matter).
 *
 * Contract: two caches of the same resource hold the same objects of a namespace, at the same
 * resourceVersions, if and only if their digests of it are equal (but for a hash collision, about
 * one chance in 2^64). Every change to an object gives it a new resourceVersion, so an equal digest
 * means nothing in the namespace changed between the two, but for objects created and deleted in
 * between, whose net effect is nothing. This lets a replica vouch for a cursor taken on another one
 * without having watched the time between (DerivedView.since).
 */
export class NamespaceDigests {
  private readonly digests = new Map<string, [number, number]>();

  /** The digest of a namespace's objects now: "0.0" when it holds none. */
  of(namespace: string): string {
    const digest = this.digests.get(namespace);
    return digest ? `${digest[0].toString(36)}.${digest[1].toString(36)}` : "0.0";
  }

  /** cached: for a deletion, the object as it was cached (the delta's may carry a later resourceVersion). */
  apply<T extends KubeObject>(delta: Delta<T>, cached?: T): void {
    if (delta.type !== "added") this.toggle(delta.type === "updated" ? delta.old : (cached ?? delta.object));
    if (delta.type !== "deleted") this.toggle(delta.object);
  }

  /** Forgets everything, then digests the objects: a list's items. */
  reset(objects: Iterable<KubeObject>): void {
    this.digests.clear();
    for (const object of objects) this.toggle(object);
  }

  private toggle(object: KubeObject): void {
    const namespace = object.metadata?.namespace ?? "";
    const key = `${object.metadata?.name ?? ""}/${object.metadata?.resourceVersion ?? ""}`;
    const digest = this.digests.get(namespace) ?? [0, 0];
    digest[0] = (digest[0] ^ fnv1a(key)) >>> 0;
    digest[1] = (digest[1] ^ djb2(key)) >>> 0;
    if (digest[0] === 0 && digest[1] === 0) this.digests.delete(namespace);
    else this.digests.set(namespace, digest);
  }
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function djb2(text: string): number {
  let hash = 5381;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 33) ^ text.charCodeAt(i)) | 0;
  // A final mix, so that keys that differ only at the end spread over every bit.
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}
