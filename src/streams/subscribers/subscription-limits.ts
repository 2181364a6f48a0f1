import { KubesubError } from "../../errors.ts";

export interface SubscriptionLimitsOptions {
  /** Open streams one identity may hold. */
  perSubject: number;
  /** Open streams this process holds for everyone together. */
  total: number;
}

/** Counts open streams per identity and in all; acquire() refuses past either limit. */
export class SubscriptionLimits {
  private readonly options: SubscriptionLimitsOptions;
  private readonly bySubject = new Map<string, number>();
  private open = 0;
  private drainWaiters: (() => void)[] = [];

  constructor(options: SubscriptionLimitsOptions) {
    this.options = options;
  }

  get total(): number {
    return this.open;
  }

  /** Resolves once no stream is open (at once when none is). */
  drained(): Promise<void> {
    if (this.open === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Returns the idempotent release function, or throws TOO_MANY_SUBSCRIPTIONS. */
  acquire(subject: string): () => void {
    const held = this.bySubject.get(subject) ?? 0;
    if (held >= this.options.perSubject) {
      throw new KubesubError(
        "TOO_MANY_SUBSCRIPTIONS",
        `you already hold ${held} subscription${held === 1 ? "" : "s"}, the most one identity may hold; close one first`,
        { limit: this.options.perSubject },
      );
    }
    if (this.open >= this.options.total) {
      throw new KubesubError(
        "TOO_MANY_SUBSCRIPTIONS",
        "this kubesub replica holds as many subscriptions as it may; retry later or on another replica",
        {
          limit: this.options.total,
        },
      );
    }
    this.bySubject.set(subject, held + 1);
    this.open += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open -= 1;
      const now = (this.bySubject.get(subject) ?? 1) - 1;
      if (now === 0) this.bySubject.delete(subject);
      else this.bySubject.set(subject, now);
      if (this.open === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
    };
  }
}
