// Shared helpers for the unit tests: pod fixtures, a capturing logger, and ways to let the
// in-memory cluster's microtask-driven work settle under fake timers without real sleeps.
import { pino } from "pino";
import { vi } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import type { Informer } from "../../src/kube/informer.ts";
import type { Delta } from "../../src/kube/store.ts";
import type { KubeObject } from "../../src/kube/types.ts";

export const userLabel = "kubesub.io/user";

/** A pod as a client would create it: Pending, unscheduled, owned by `user` when given. */
export function podFixture(
  namespace: string,
  name: string,
  options: { user?: string; labels?: Record<string, string>; managedFields?: unknown[] } = {},
): KubePod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      labels: { ...(options.user ? { [userLabel]: options.user } : {}), ...options.labels },
      ...(options.managedFields ? { managedFields: options.managedFields } : {}),
    },
    spec: {},
    status: { phase: "Pending" },
  };
}

/**
 * Lets every queued microtask chain run to completion (the in-memory cluster delivers watch events
 * and list results in microtasks), then fires the fake timers that are due now. Deterministic and
 * bounded: it never waits for real time.
 */
export async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

/** "added a", "updated a", "deleted a": what a handler was told, in order. */
export function describeDelta(delta: Delta<KubeObject>): string {
  return `${delta.type} ${delta.object.metadata?.name}`;
}

/** Records every delta an informer dispatches from now on. */
export function recordDeltas<T extends KubeObject>(informer: Informer<T>): Delta<T>[] {
  const deltas: Delta<T>[] = [];
  informer.addHandler((delta) => deltas.push(delta));
  return deltas;
}

export interface LogRecord {
  level: number;
  msg: string;
  err?: { type?: string; message?: string; statusCode?: number };
  retryInMs?: number;
  [field: string]: unknown;
}

/** A real pino logger whose JSON lines are kept in memory. */
export function captureLogger(): { logger: pino.Logger; records: LogRecord[]; problems: () => LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = pino({ level: "trace" }, { write: (line: string) => records.push(JSON.parse(line) as LogRecord) });
  // pino: warn is 40, error 50.
  return { logger, records, problems: () => records.filter((r) => r.level >= 40) };
}

/**
 * Reads an async iterator under fake timers: available() returns every event the stream can
 * deliver once pending work has settled, keeping an unanswered next() for the following call.
 */
export class StreamReader<E> {
  done = false;
  private pending: Promise<IteratorResult<E>> | undefined;
  private readonly iterator: AsyncIterator<E>;

  constructor(iterator: AsyncIterator<E>) {
    this.iterator = iterator;
  }

  /**
   * Reads exactly count events that are available now, leaving no next() pending, so that later
   * events stay buffered in the stream until the next read. Throws if fewer are available.
   */
  async take(count: number): Promise<E[]> {
    const events: E[] = [];
    while (events.length < count) {
      this.pending ??= this.iterator.next();
      let result: IteratorResult<E> | undefined;
      void this.pending.then((r) => {
        result = r;
      });
      await settle();
      if (result === undefined || result.done) {
        throw new Error(`expected ${count} events, got ${events.length}: ${JSON.stringify(events).slice(0, 500)}`);
      }
      this.pending = undefined;
      events.push(result.value);
    }
    return events;
  }

  async available(): Promise<E[]> {
    const events: E[] = [];
    while (!this.done) {
      this.pending ??= this.iterator.next();
      let result: IteratorResult<E> | undefined;
      void this.pending.then((r) => {
        result = r;
      });
      await settle();
      if (result === undefined) break;
      this.pending = undefined;
      if (result.done) this.done = true;
      else events.push(result.value);
    }
    return events;
  }
}

/** A seeded pseudo-random source in [0, 1) (mulberry32), for reproducible scenarios. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
