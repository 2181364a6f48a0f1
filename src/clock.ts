/**
 * kubesub's one source of time, handed down to whatever waits, schedules or stamps, as client-go
 * hands down its clock.Clock: the informer layer (backoff, inactivity and linger timers, lastEventAt),
 * the streams (sync timeout, access re-checks, observedAt), the in-memory cluster and shutdown.
 * Nothing in src/kube or src/streams reads the time or sets a timer any other way (a unit test
 * keeps it so).
 *
 * Tests: systemClock reads Date.now() and setTimeout() when called, not when this module loads, so
 * vitest's fake timers (vi.useFakeTimers(), vi.advanceTimersByTimeAsync(), vi.setSystemTime()) drive
 * everything that runs on it.
 */
export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now(): number;
  /** The current time as a Date, for timestamps (observedAt, creationTimestamp). */
  date(): Date;
  /** Calls fn once, ms from now: setTimeout. */
  timeout(fn: () => void, ms: number): Timer;
  /** Calls fn every ms until cancelled: setInterval. */
  interval(fn: () => void, ms: number): Timer;
  /** Resolves after ms, or at once (without rejecting) when the signal aborts; the timer goes with it. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A pending timeout() or interval(). */
export interface Timer {
  /** Idempotent: clearTimeout or clearInterval. */
  cancel(): void;
  /** Lets the process exit while the timer is pending. Returns the timer. */
  unref(): Timer;
}

function nodeTimer(handle: NodeJS.Timeout, clear: (handle: NodeJS.Timeout) => void): Timer {
  const timer: Timer = {
    cancel: () => clear(handle),
    unref: () => {
      handle.unref();
      return timer;
    },
  };
  return timer;
}

/** Node's clock and timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  date: () => new Date(),
  timeout: (fn, ms) => nodeTimer(setTimeout(fn, ms), clearTimeout),
  interval: (fn, ms) => nodeTimer(setInterval(fn, ms), clearInterval),
  sleep: (ms, signal) => sleepOn(systemClock, ms, signal),
};

/** Clock.sleep on any clock's timeout(). */
export function sleepOn(clock: Pick<Clock, "timeout">, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      timer.cancel();
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = clock.timeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** A signal that aborts at a deadline; cancel() drops its timer and listener once the wait is over. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Idempotent. The signal then never aborts. */
  cancel(): void;
}

/**
 * A signal that aborts ms from now on the clock, or as soon as `also` aborts. Unlike
 * AbortSignal.timeout it runs on the clock, and a wait that settles early gives its timer back
 * with cancel() instead of holding it (and `also`'s listener) for the rest of the timeout.
 */
export function deadline(clock: Clock, ms: number, also?: AbortSignal): Deadline {
  const controller = new AbortController();
  const expire = () => controller.abort();
  const timer = clock.timeout(expire, ms);
  also?.addEventListener("abort", expire, { once: true });
  if (also?.aborted) expire();
  return {
    signal: controller.signal,
    cancel: () => {
      timer.cancel();
      also?.removeEventListener("abort", expire);
    },
  };
}
