/** Latencies in whole milliseconds, counted in buckets up to maxMs (larger ones in the last). */
export class LatencyHistogram {
  private readonly buckets: Uint32Array;
  private count = 0;
  private highest = 0;

  constructor(maxMs = 60_000) {
    this.buckets = new Uint32Array(maxMs + 1);
  }

  record(ms: number): void {
    const bucket = Math.min(this.buckets.length - 1, Math.max(0, Math.round(ms)));
    this.buckets[bucket] = (this.buckets[bucket] ?? 0) + 1;
    this.count += 1;
    if (ms > this.highest) this.highest = ms;
  }

  get size(): number {
    return this.count;
  }

  get max(): number {
    return this.highest;
  }

  /** The smallest latency at or above which lies the fraction 1 - q of the samples. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let ms = 0; ms < this.buckets.length; ms += 1) {
      seen += this.buckets[ms] ?? 0;
      if (seen >= rank) return ms;
    }
    return this.buckets.length - 1;
  }
}
