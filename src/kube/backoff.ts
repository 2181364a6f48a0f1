import { type Clock, systemClock } from "../clock.ts";

export interface BackoffOptions {
  /** First delay. Default 800 ms, as client-go's reflector. */
  initialMs?: number;
  /** Upper bound of a delay, jitter included. Default 30 s. */
  maxMs?: number;
  /** Multiplier per failure. Default 2. */
  factor?: number;
  /** Fraction of each delay that is randomised: delay * (1 - jitter + random * 2 * jitter). Default 0.5. */
  jitter?: number;
  /** A run of success this long resets the delay to initialMs. Default 60 s. */
  resetAfterMs?: number;
  /** Random source in [0, 1). Default Math.random. */
  random?: () => number;
  /** What tells how long an attempt lasted. Default systemClock. */
  clock?: Pick<Clock, "now">;
}

/**
 * Jittered exponential backoff that forgets past failures after a stable period, like client-go's
 * wait.Backoff with a reset (NewExponentialBackoffManager).
 */
export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly resetAfterMs: number;
  private readonly random: () => number;
  private readonly clock: Pick<Clock, "now">;
  private currentMs: number;
  private lastStartedAt = Number.NEGATIVE_INFINITY;

  constructor(options: BackoffOptions = {}) {
    this.maxMs = options.maxMs ?? 30_000;
    this.initialMs = Math.min(options.initialMs ?? 800, this.maxMs);
    this.factor = options.factor ?? 2;
    this.jitter = options.jitter ?? 0.5;
    this.resetAfterMs = options.resetAfterMs ?? 60_000;
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? systemClock;
    this.currentMs = this.initialMs;
  }

  /** Marks the start of an attempt; an attempt that lasts resetAfterMs counts as stable. */
  started(): void {
    this.lastStartedAt = this.clock.now();
  }

  /** The delay before the next attempt. */
  next(): number {
    if (this.clock.now() - this.lastStartedAt >= this.resetAfterMs) {
      this.currentMs = this.initialMs;
    }
    const base = this.currentMs;
    this.currentMs = Math.min(this.maxMs, this.currentMs * this.factor);
    return Math.min(this.maxMs, Math.round(base * (1 - this.jitter + this.random() * 2 * this.jitter)));
  }
}
