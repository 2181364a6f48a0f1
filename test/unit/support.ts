// Helpers of the unit tests alone (the shared ones are in test/helpers/): ways to let the
// in-memory cluster's microtask-driven work settle under fake timers without real sleeps, to
// record an informer's deltas, and a seeded random source.
import { vi } from "vitest";
import type { Informer } from "../../src/kube/informer.ts";
import type { Delta } from "../../src/kube/store.ts";
import type { KubeObject } from "../../src/kube/types.ts";

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

/**
 * Reads an async iterator under fake timers: available() returns every event the stream can
 * deliver once pending work has settled, keeping an unanswered next() for the following call.
 * (To read a number of events and leave the rest in the stream, take() them from test/helpers/streams.ts
 * before the first available().)
 */
export class StreamReader<E> {
  done = false;
  private pending: Promise<IteratorResult<E>> | undefined;
  private readonly iterator: AsyncIterator<E>;

  constructor(iterator: AsyncIterator<E>) {
    this.iterator = iterator;
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
