// Taking events from streams with a bounded wait, the one way every test does it: take() pulls from
// an async iterator (nothing is read beyond what it takes), an Inbox holds what a stream read in
// the background delivered (each item handed out once, in order, and what was not taken stays
// visible as untaken).

// Waits are in real time, also in a test that fakes timers (where what take() waits for arrives in
// microtasks): the wait is a bound on a failing test, not part of what it checks.
const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout } = globalThis;

export interface TakeOptions<T> {
  /** How many items to take; default 1. */
  count?: number;
  /** Instead of a count: take up to and including the first item this accepts. */
  until?: (item: T, taken: T[]) => boolean;
  /** Fails after this long with what arrived; default 5 s. */
  timeoutMs?: number;
  /** How an item reads in a failure's message; default its JSON. */
  describe?: (item: T) => string;
}

/** How many of the available items a take wants, or undefined while it wants more. */
function wanted<T>(available: T[], options: TakeOptions<T>): number | undefined {
  if (options.until) {
    const until = options.until;
    const index = available.findIndex((item, i) => until(item, available.slice(0, i + 1)));
    return index === -1 ? undefined : index + 1;
  }
  const count = options.count ?? 1;
  return available.length >= count ? count : undefined;
}

function described<T>(items: T[], options: TakeOptions<T>): string {
  return options.describe ? JSON.stringify(items.map(options.describe)) : JSON.stringify(items).slice(0, 2000);
}

function timedOut<T>(timeoutMs: number, items: T[], options: TakeOptions<T>): Error {
  return new Error(`timed out after ${timeoutMs} ms with ${items.length} items: ${described(items, options)}`);
}

/**
 * Reads from an async iterator until it has what the options ask for, and no further. Returns
 * fewer when the iterator ends first; rejects when the iterator throws, or after timeoutMs with
 * what it has so far. Does not close the iterator.
 */
export async function take<T>(iterator: AsyncIterator<T>, options: TakeOptions<T>): Promise<T[]> {
  const items: T[] = [];
  const timeoutMs = options.timeoutMs ?? 5_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = realSetTimeout(() => reject(timedOut(timeoutMs, items, options)), timeoutMs);
  });
  try {
    while (wanted(items, options) === undefined) {
      const result = await Promise.race([iterator.next(), timeout]);
      if (result.done) break;
      items.push(result.value);
    }
    return items;
  } finally {
    realClearTimeout(timer);
  }
}

/**
 * What a stream delivered on its own (read in the background, pushed by a handler), handed out in
 * order, each item once, by take().
 */
export class Inbox<T> {
  /** Everything pushed, taken or not. */
  readonly items: T[] = [];
  private cursor = 0;
  private ending: { error?: unknown } | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly describe: ((item: T) => string) | undefined;

  /** describe: how an item reads in a failure's message (default its JSON). */
  constructor(describe?: (item: T) => string) {
    this.describe = describe;
  }

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  /** No more items will come: the stream completed, or failed with error. */
  end(error?: unknown): void {
    this.ending ??= error === undefined ? {} : { error };
    this.wake();
  }

  get ended(): { error?: unknown } | undefined {
    return this.ending;
  }

  /** Items pushed and not yet taken. */
  get untaken(): T[] {
    return this.items.slice(this.cursor);
  }

  /**
   * The next items, as the options ask for them. Rejects after timeoutMs, or once the stream has
   * ended without them, saying what arrived.
   */
  async take(options: TakeOptions<T>): Promise<T[]> {
    const settings = { describe: this.describe, ...options };
    const timeoutMs = options.timeoutMs ?? 5_000;
    let expired = false;
    const timer = realSetTimeout(() => {
      expired = true;
      this.wake();
    }, timeoutMs);
    try {
      for (;;) {
        const available = this.items.slice(this.cursor);
        const n = wanted(available, settings);
        if (n !== undefined) {
          this.cursor += n;
          return available.slice(0, n);
        }
        if (this.ending) {
          throw new Error(`stream ended (${String(this.ending.error ?? "complete")}) after ${described(available, settings)}`);
        }
        if (expired) throw timedOut(timeoutMs, available, settings);
        await new Promise<void>((resolve) => this.waiters.add(resolve));
      }
    } finally {
      realClearTimeout(timer);
    }
  }

  private wake(): void {
    for (const resolve of this.waiters) resolve();
    this.waiters.clear();
  }
}
