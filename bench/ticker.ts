/**
 * Calls tick() `rate` times a second, spread evenly: every 5 ms it catches up with the schedule,
 * so a late timer does not lower the rate.
 */
export class Ticker {
  private readonly tick: () => void;
  private timer: NodeJS.Timeout | undefined;
  private emitted = 0;

  constructor(tick: () => void) {
    this.tick = tick;
  }

  start(rate: number): void {
    this.stop();
    this.emitted = 0;
    const startedAt = performance.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((performance.now() - startedAt) / 1000) * rate);
      while (this.emitted < due) {
        this.emitted += 1;
        this.tick();
      }
    }, 5);
  }

  /** Returns how many ticks ran since start. */
  stop(): number {
    clearInterval(this.timer);
    this.timer = undefined;
    return this.emitted;
  }
}
