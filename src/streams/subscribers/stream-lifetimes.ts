import type { Clock, Timer } from "../../clock.ts";

/**
 * When streams reach their maximum lifetime (--max-stream-lifetime): each at a random time between
 * half maxMs and maxMs after it starts, so that clients reconnect (and resume) a few at a time and
 * spread over the replicas again, as the apiserver bounds its watches with randomised timeouts.
 *
 * One timer serves every stream, not one per stream (a timer per idle stream cost about 0.8 KiB of
 * heap in the fan-out benchmark): deadlines are grouped by tick, a twentieth of maxMs (at most 1 s),
 * and each fires at most one tick late.
 */
export class StreamLifetimes {
  private readonly maxMs: number;
  private readonly clock: Clock;
  private readonly tickMs: number;
  /** The callbacks due at each tick (a deadline divided by tickMs, rounded up). */
  private readonly due = new Map<number, Set<() => void>>();
  private timer: Timer | undefined;

  constructor(maxMs: number, clock: Clock) {
    this.maxMs = maxMs;
    this.clock = clock;
    this.tickMs = Math.max(10, Math.min(1_000, maxMs / 20));
  }

  /** Calls end when the stream reaches its lifetime; returns the function that forgets it. */
  start(end: () => void): () => void {
    const at = this.clock.now() + this.maxMs * (0.5 + Math.random() / 2);
    const tick = Math.ceil(at / this.tickMs);
    let due = this.due.get(tick);
    if (!due) {
      due = new Set();
      this.due.set(tick, due);
    }
    due.add(end);
    this.timer ??= this.clock.interval(() => this.sweep(), this.tickMs).unref();
    const held = due;
    return () => {
      held.delete(end);
      if (held.size === 0 && this.due.get(tick) === held) this.due.delete(tick);
      this.stopWhenIdle();
    };
  }

  private sweep(): void {
    const now = this.clock.now() / this.tickMs;
    for (const [tick, due] of this.due) {
      if (tick > now) continue;
      this.due.delete(tick);
      for (const end of due) end();
    }
    this.stopWhenIdle();
  }

  private stopWhenIdle(): void {
    if (this.due.size > 0) return;
    this.timer?.cancel();
    this.timer = undefined;
  }
}
