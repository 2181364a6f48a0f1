/** How many entries a log of recent ones keeps: at most size, none older than ageMs. */
export interface RecentLimits {
  size: number;
  ageMs: number;
}

/**
 * The most recent entries of a log, oldest first, bounded by count and by age: a queue that drops
 * its oldest entries, telling onEvict of each, so that its owner can say how far back what is left
 * reaches (DeltaHistory's coverage, ChangeLog's `from`). Entries are stamped by their owner (`at`,
 * ms on its clock). Eviction is amortised O(1): the array is compacted once half of it is gone.
 */
export class RecentEntries<E extends { at: number }> {
  private entries: E[] = [];
  private head = 0;
  private readonly limits: RecentLimits;
  private readonly onEvict: (entry: E) => void;

  constructor(limits: RecentLimits, onEvict: (entry: E) => void) {
    this.limits = limits;
    this.onEvict = onEvict;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  /** Adds an entry, then evicts past the count and age limits (age measured from its `at`). */
  push(entry: E): void {
    this.entries.push(entry);
    while (this.size > this.limits.size) this.evict();
    this.prune(entry.at);
  }

  /** Evicts the entries older than the age limit. */
  prune(now: number): void {
    const oldest = now - this.limits.ageMs;
    while (this.size > 0 && (this.entries[this.head] as E).at < oldest) this.evict();
  }

  /** Forgets every entry, evicting none. */
  clear(): void {
    this.entries = [];
    this.head = 0;
  }

  /** The kept entries, oldest first. */
  kept(): E[] {
    return this.entries.slice(this.head);
  }

  /** The kept entries that pass a test, oldest first, without copying the others. */
  filter(test: (entry: E) => boolean): E[] {
    const found: E[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i] as E;
      if (test(entry)) found.push(entry);
    }
    return found;
  }

  private evict(): void {
    const entry = this.entries[this.head] as E;
    this.entries[this.head] = undefined as unknown as E;
    this.head += 1;
    this.onEvict(entry);
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
