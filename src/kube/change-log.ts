import type { Clock } from "../clock.ts";
import { compareResourceVersions } from "./resource-version.ts";
import type { Delta } from "./store.ts";
import type { KubeObject } from "./types.ts";

/** How many of its recent changes an informer keeps: at most size, none older than ageMs. */
export interface ChangeLogLimits {
  size: number;
  ageMs: number;
}

/** One change an informer applied: its delta (with the object's state before it), where and when. */
export interface LoggedChange<T extends KubeObject> {
  delta: Delta<T>;
  /** For a deletion: the object as it was cached before it (the delta's is the watch's). */
  cached?: T;
  resourceVersion: string;
  namespace: string;
  /** When the informer applied it, ms on the clock. */
  at: number;
}

/**
 * An informer's recent changes, oldest first, bounded by count and by age: what lets a view that
 * starts now begin from an earlier position (RewoundInformer), so that a client resuming from a
 * cursor another replica handed out just before finds the changes it missed even here, where no
 * view of its project was open then.
 *
 * Invariant: when `from` is defined, every change the informer applied with a resourceVersion above
 * it is kept, in order. A list sets it to the list's resourceVersion and forgets the rest (a list
 * breaks continuity); evicting a change raises it to that change's resourceVersion.
 */
export class ChangeLog<T extends KubeObject> {
  private entries: LoggedChange<T>[] = [];
  private head = 0;
  private readonly limits: ChangeLogLimits;
  private readonly clock: Clock;
  from: string | undefined;

  constructor(limits: ChangeLogLimits, clock: Clock) {
    this.limits = limits;
    this.clock = clock;
  }

  record(delta: Delta<T>, cached: T | undefined, resourceVersion: string, namespace: string): void {
    if (this.from === undefined) return;
    const at = this.clock.now();
    this.entries.push(cached ? { delta, cached, resourceVersion, namespace, at } : { delta, resourceVersion, namespace, at });
    while (this.entries.length - this.head > this.limits.size) this.evict();
    const oldest = at - this.limits.ageMs;
    while (this.entries.length > this.head && (this.entries[this.head] as LoggedChange<T>).at < oldest) this.evict();
  }

  /** A list at resourceVersion: nothing before it is known change by change. */
  reset(resourceVersion: string): void {
    this.entries = [];
    this.head = 0;
    this.from = this.limits.size > 0 ? resourceVersion : undefined;
  }

  /** The kept changes of one namespace, oldest first, and the resourceVersion after which they are all of them. */
  since(namespace: string): { from: string; changes: LoggedChange<T>[] } | undefined {
    if (this.from === undefined) return undefined;
    const oldest = this.clock.now() - this.limits.ageMs;
    while (this.entries.length > this.head && (this.entries[this.head] as LoggedChange<T>).at < oldest) this.evict();
    const changes: LoggedChange<T>[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i] as LoggedChange<T>;
      if (entry.namespace === namespace) changes.push(entry);
    }
    return this.from === undefined ? undefined : { from: this.from, changes };
  }

  private evict(): void {
    const entry = this.entries[this.head] as LoggedChange<T>;
    this.entries[this.head] = undefined as unknown as LoggedChange<T>;
    this.head += 1;
    const order = this.from === undefined ? undefined : compareResourceVersions(entry.resourceVersion, this.from);
    // An incomparable resourceVersion: nothing can be vouched for any more, until the next list.
    if (order === undefined) this.from = undefined;
    else if (order > 0) this.from = entry.resourceVersion;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
