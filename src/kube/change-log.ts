import type { Clock } from "../clock.ts";
import { RecentEntries, type RecentLimits } from "./recent-entries.ts";
import { compareResourceVersions } from "./resource-version.ts";
import type { Delta } from "./store.ts";
import type { KubeObject } from "./types.ts";

/** How many of its recent changes an informer keeps: at most size, none older than ageMs. */
export type ChangeLogLimits = RecentLimits;

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
  private readonly entries: RecentEntries<LoggedChange<T>>;
  private readonly limits: ChangeLogLimits;
  private readonly clock: Clock;
  from: string | undefined;

  constructor(limits: ChangeLogLimits, clock: Clock) {
    this.limits = limits;
    this.clock = clock;
    this.entries = new RecentEntries(limits, (entry) => this.raise(entry.resourceVersion));
  }

  record(delta: Delta<T>, cached: T | undefined, resourceVersion: string, namespace: string): void {
    if (this.from === undefined) return;
    const at = this.clock.now();
    this.entries.push(cached ? { delta, cached, resourceVersion, namespace, at } : { delta, resourceVersion, namespace, at });
  }

  /** A list at resourceVersion: nothing before it is known change by change. */
  reset(resourceVersion: string): void {
    this.entries.clear();
    this.from = this.limits.size > 0 ? resourceVersion : undefined;
  }

  /** The kept changes of one namespace, oldest first, and the resourceVersion after which they are all of them. */
  since(namespace: string): { from: string; changes: LoggedChange<T>[] } | undefined {
    this.entries.prune(this.clock.now());
    if (this.from === undefined) return undefined;
    return { from: this.from, changes: this.entries.filter((entry) => entry.namespace === namespace) };
  }

  private raise(resourceVersion: string): void {
    const order = this.from === undefined ? undefined : compareResourceVersions(resourceVersion, this.from);
    // An incomparable resourceVersion: nothing can be vouched for any more, until the next list.
    if (order === undefined) this.from = undefined;
    else if (order > 0) this.from = resourceVersion;
  }
}
