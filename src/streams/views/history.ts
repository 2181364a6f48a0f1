import type { Clock } from "../../clock.ts";
import { RecentEntries, type RecentLimits } from "../../kube/recent-entries.ts";
import { compareResourceVersions } from "../../kube/resource-version.ts";
import type { ModelDelta } from "./view.ts";

/** How much of its recent deltas a view keeps for streams that resume: at most size, none older than ageMs. */
export type HistoryLimits = RecentLimits;

/** One delta a view emitted, where it came from, and when. */
export interface HistoryEntry<M> {
  delta: ModelDelta<M>;
  /** The index of the view's source whose change caused it. */
  source: number;
  /** Its rank among the deltas that one change caused in the view, from 1. */
  index: number;
  /** When the view emitted it, ms on the clock. */
  at: number;
  /** The order of emission among every view of the process, to merge several views' histories. */
  sequence: number;
}

let sequence = 0;

/**
 * A view's recent deltas, oldest first, bounded by count and by age, with what they cover.
 *
 * Invariant: for every source i whose covered[i] is not null, every delta the view emitted for a
 * change of source i with a resourceVersion above covered[i] is kept, in order. Evicting a delta
 * raises its source's coverage to that delta's resourceVersion; reset() (a relist broke continuity,
 * or the view starts) forgets every entry and sets each source's coverage to where the view can
 * vouch that nothing it serves changed since: its position, or earlier, its informer's
 * quietSince(). A source never read has position and coverage ""; null: nothing of that source is
 * trusted.
 */
export class DeltaHistory<M> {
  private readonly entries: RecentEntries<HistoryEntry<M>>;
  private readonly limits: HistoryLimits;
  private readonly clock: Clock;
  covered: (string | null)[];
  /**
   * Per source, the rank of the last evicted delta of the change at covered[i] (0 when none of it
   * was evicted): that change's deltas after this rank are still kept.
   */
  coveredIndex: number[];

  constructor(limits: HistoryLimits, clock: Clock, coverage: readonly string[]) {
    this.limits = limits;
    this.clock = clock;
    this.entries = new RecentEntries(limits, (entry) => this.raise(entry.source, entry.delta.resourceVersion, entry.index));
    this.covered = [...coverage];
    this.coveredIndex = coverage.map(() => 0);
  }

  get size(): number {
    return this.entries.size;
  }

  record(delta: ModelDelta<M>, source: number, index: number): void {
    if (this.limits.size <= 0) {
      this.raise(source, delta.resourceVersion, index);
      return;
    }
    sequence += 1;
    this.entries.push({ delta, source, index, at: this.clock.now(), sequence });
  }

  /** Forgets every entry; coverage starts again where the view can vouch for (see the class). */
  reset(coverage: readonly string[]): void {
    this.entries.clear();
    this.covered = [...coverage];
    this.coveredIndex = coverage.map(() => 0);
  }

  /** Evicts entries older than the age limit. */
  prune(now = this.clock.now()): void {
    this.entries.prune(now);
  }

  /** The kept entries, oldest first. */
  kept(): HistoryEntry<M>[] {
    return this.entries.kept();
  }

  private raise(source: number, resourceVersion: string, index: number): void {
    const covered = this.covered[source];
    if (covered === null || covered === undefined) return;
    const order = compareResourceVersions(resourceVersion, covered);
    // An incomparable resourceVersion: nothing of this source can be trusted any more.
    if (order === undefined) this.covered[source] = null;
    else if (order >= 0) {
      this.covered[source] = resourceVersion;
      this.coveredIndex[source] = index;
    }
  }
}
