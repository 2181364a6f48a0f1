import { type Clock, systemClock, type Timer } from "../clock.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { isGone, KubeApiError, WatchInactiveError } from "./errors.ts";
import type { ListWatchSource, WatchEvent } from "./list-watch-source.ts";
import type { KubeObject } from "./types.ts";

/** Where a reflector writes what it learns. Called synchronously, in order. */
export interface ReflectorSink<T extends KubeObject> {
  /** A LIST succeeded: this is now the complete state at resourceVersion. */
  replace(items: T[], resourceVersion: string): void;
  /** A watch event changed one object. */
  apply(type: "ADDED" | "MODIFIED" | "DELETED", object: T): void;
  /** An attempt failed; the reflector will retry after delayMs (undefined: relists at once). */
  error(error: unknown, delayMs: number | undefined): void;
}

export interface ReflectorOptions {
  /** Backoff between failed attempts. Defaults: see Backoff. */
  backoff?: BackoffOptions;
  /**
   * A watch that delivers nothing (no event, no bookmark) for this long is presumed dead and is
   * restarted from the last resourceVersion. The apiserver sends a bookmark about every minute
   * to watches that allow them, so keep it above 60 s against a real cluster. Default 90 s.
   */
  inactivityTimeoutMs?: number;
  /** A watch that ends normally sooner than this is treated as a failure (avoids a hot loop). Default 1 s. */
  minWatchDurationMs?: number;
  /** Applied to every object before it reaches the sink (for example, dropping managedFields). */
  transform?: <O extends KubeObject>(object: O) => O;
  /** Times watches and backoff sleeps. Default systemClock. */
  clock?: Clock;
}

/** A watch under way: when it started, and its end (a rejection when it failed). */
interface RunningWatch {
  startedAt: number;
  ended: Promise<void>;
}

/**
 * Keeps a sink in step with one resource: LIST, then WATCH from the list's resourceVersion, forever.
 *
 * - A watch that ends normally is resumed from the last resourceVersion seen (event or bookmark).
 * - A watch or list that fails is retried after a jittered exponential backoff; the backoff resets
 *   once an attempt has been stable for BackoffOptions.resetAfterMs.
 * - 410 Gone, as an HTTP status or as an ERROR event, makes it relist at once; the sink's replace()
 *   then sees what happened during the gap.
 * - stop() aborts whatever is in flight (list, watch or backoff) and resolves once the loop has
 *   exited. After stop() the sink is never called again.
 */
export class Reflector<T extends KubeObject> {
  private readonly source: ListWatchSource<T>;
  private readonly sink: ReflectorSink<T>;
  private readonly backoff: Backoff;
  private readonly inactivityTimeoutMs: number;
  private readonly minWatchDurationMs: number;
  private readonly transform: (object: T) => T;
  private readonly clock: Clock;
  private readonly stopController = new AbortController();
  private running: Promise<void> | undefined;
  private lastResourceVersion: string | undefined;

  constructor(source: ListWatchSource<T>, sink: ReflectorSink<T>, options: ReflectorOptions = {}) {
    this.source = source;
    this.sink = sink;
    this.clock = options.clock ?? systemClock;
    this.backoff = new Backoff({ clock: this.clock, ...options.backoff });
    this.inactivityTimeoutMs = options.inactivityTimeoutMs ?? 90_000;
    this.minWatchDurationMs = options.minWatchDurationMs ?? 1_000;
    this.transform = options.transform ?? ((object) => object);
  }

  /** The resourceVersion the next watch would start from; undefined before the first list. */
  get resourceVersion(): string | undefined {
    return this.lastResourceVersion;
  }

  /** Starts the loop once; later calls return the same promise, which resolves after stop(). */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Idempotent. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async loop(): Promise<void> {
    const signal = this.stopController.signal;
    while (!this.stopped) {
      try {
        let watch: RunningWatch;
        if (this.lastResourceVersion === undefined) {
          this.backoff.started();
          const listed = await this.listThenWatch(signal);
          if (!listed) return;
          watch = listed;
        } else {
          watch = this.startWatch(this.lastResourceVersion);
        }
        await watch.ended;
        if (this.stopped) return;
        if (this.clock.now() - watch.startedAt < this.minWatchDurationMs) {
          await this.clock.sleep(this.backoff.next(), signal);
        }
      } catch (error) {
        if (this.stopped) return;
        if (isGone(error)) {
          // The resourceVersion fell out of the server's window: relist and diff.
          this.lastResourceVersion = undefined;
          this.sink.error(error, undefined);
          continue;
        }
        const delayMs = this.backoff.next();
        this.sink.error(error, delayMs);
        await this.clock.sleep(delayMs, signal);
      }
    }
  }

  /**
   * LIST, hand the sink the transformed items and start the watch from the list's resourceVersion,
   * in one synchronous turn (whoever waited for the sync finds the watch open). Each page is
   * transformed as it arrives, so that only one page of objects as they came is alive at a time,
   * beside the transformed ones. A method of its own, which returns once the watch has started:
   * a suspended async function keeps its locals, and loop() waits for as long as the watch lasts.
   * Resolves to undefined when stopped meanwhile.
   */
  private async listThenWatch(signal: AbortSignal): Promise<RunningWatch | undefined> {
    const items: T[] = [];
    let resourceVersion = "";
    for await (const page of this.source.list(signal)) {
      if (this.stopped) return undefined;
      for (const object of page.items) items.push(this.transform(object));
      resourceVersion = page.resourceVersion;
    }
    if (this.stopped) return undefined;
    this.lastResourceVersion = resourceVersion;
    this.sink.replace(items, resourceVersion);
    return this.startWatch(resourceVersion);
  }

  private startWatch(resourceVersion: string): RunningWatch {
    this.backoff.started();
    const ended = this.watchOnce(resourceVersion);
    // loop() awaits it a microtask later; a watch that fails at once is not an unhandled rejection meanwhile.
    ended.catch(() => {});
    return { startedAt: this.clock.now(), ended };
  }

  private async watchOnce(resourceVersion: string): Promise<void> {
    const watchController = new AbortController();
    const stopWatch = () => watchController.abort();
    this.stopController.signal.addEventListener("abort", stopWatch, { once: true });

    let failure: unknown;
    let timer: Timer | undefined;
    const fail = (error: unknown) => {
      failure ??= error;
      watchController.abort();
    };
    const armInactivityTimer = () => {
      timer?.cancel();
      timer = this.clock.timeout(() => fail(new WatchInactiveError(this.inactivityTimeoutMs)), this.inactivityTimeoutMs);
    };

    const onEvent = (event: WatchEvent<T>) => {
      if (failure !== undefined || watchController.signal.aborted) return;
      armInactivityTimer();
      switch (event.type) {
        case "BOOKMARK":
          this.lastResourceVersion = event.resourceVersion || this.lastResourceVersion;
          return;
        case "ERROR":
          fail(
            new KubeApiError(event.status.message ?? "watch ERROR event", {
              statusCode: event.status.code,
              reason: event.status.reason,
            }),
          );
          return;
        default: {
          const object = this.transform(event.object);
          this.lastResourceVersion = object.metadata?.resourceVersion || this.lastResourceVersion;
          this.sink.apply(event.type, object);
        }
      }
    };

    try {
      armInactivityTimer();
      await this.source.watch({ resourceVersion, signal: watchController.signal, onEvent });
    } catch (error) {
      failure ??= error;
    } finally {
      timer?.cancel();
      this.stopController.signal.removeEventListener("abort", stopWatch);
    }
    if (failure !== undefined && !this.stopped) throw failure;
  }
}
