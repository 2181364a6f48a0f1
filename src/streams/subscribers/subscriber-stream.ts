import type { Logger } from "pino";
import { type Clock, deadline, type Timer } from "../../clock.ts";
import { errorCatalogue } from "../../errors.ts";
import type { View } from "../views/view.ts";
import type { ViewLease } from "../views/view-registry.ts";
import type { Denial } from "./access.ts";
import type { Selection } from "./selection.ts";
import type { FeedRegistry } from "./shared-feed.ts";
import type { StreamErrorCode, StreamEvent } from "./stream-event.ts";
import type { StreamObserver } from "./stream-observer.ts";
import { SubscriberQueue } from "./subscriber-queue.ts";

/** One view a subscriber reads: what it asked for, and its lease on the shared view. */
export interface SelectedView<M> {
  selection: Selection<M>;
  lease: ViewLease<M>;
}

export interface SubscriberStreamOptions {
  /** Live events buffered for a slow subscriber before its stream ends with OVERFLOW. */
  queueCapacity: number;
  /** How long to wait for the sources to sync before starting with what is available. */
  syncTimeoutMs: number;
  /** Aborted when kubesub shuts down: the stream ends with SHUTTING_DOWN. */
  shutdown: AbortSignal;
  feeds: FeedRegistry;
  /** Asked every intervalMs while the stream lives; a Denial ends it with FORBIDDEN or UNAUTHENTICATED. */
  guard?: { intervalMs: number; check: () => Promise<Denial | undefined> };
  /** Runs once when the stream ends, whichever way. */
  onClose?: () => void;
  /** The caller's logger (with its request id), asked for only when the stream has something to say. */
  callerLogger?: () => Logger | undefined;
  /** The GraphQL field this stream serves, for metrics. */
  field: string;
  observer: StreamObserver;
  logger?: Logger;
  /** Times the sync timeout and the access re-checks, and stamps observedAt. */
  clock: Clock;
}

/**
 * A subscriber's stream over one or more shared views: an "unavailable" event per source that
 * cannot be read (the view keeps retrying; its objects arrive as "added" once it can), the matching
 * models, one "initial-state-complete", then every change that concerns the subscriber, in order.
 *
 * A model whose change makes it match is sent as "added" (cause FILTER_CHANGE); one that stops
 * matching as "deleted" (cause FILTER_CHANGE). The stream releases its view leases when it ends,
 * whichever way it ends: the reader's return(), overflow or shutdown.
 */
export function subscriberStream(
  selected: SelectedView<unknown>[],
  options: SubscriberStreamOptions,
): AsyncIterableIterator<StreamEvent<unknown>> {
  const { clock } = options;
  const log = () => options.callerLogger?.() ?? options.logger;
  const stop = new AbortController();
  const detach: (() => void)[] = [];
  let guardTimer: Timer | undefined;

  const queue = new SubscriberQueue<StreamEvent<unknown>>({
    capacity: options.queueCapacity,
    onClose: () => {
      stop.abort();
      guardTimer?.cancel();
      for (const d of detach) d();
      options.shutdown.removeEventListener("abort", onShutdown);
      for (const { lease } of selected) lease.release();
      options.onClose?.();
      options.observer.closed(options.field);
    },
    onDeliver: (event) => options.observer.delivered(options.field, event, queue.depth),
  });
  options.observer.opened(options.field);
  const errorEvent = (code: StreamErrorCode, message: string): StreamEvent<unknown> => ({
    type: "error",
    code,
    message,
    retryable: errorCatalogue[code].retryable,
    observedAt: clock.date().toISOString(),
  });
  const { guard } = options;
  if (guard) {
    let checking = false;
    guardTimer = clock.interval(() => {
      if (checking) return;
      checking = true;
      guard
        .check()
        .then(
          (denial) => {
            if (denial) queue.fail(errorEvent(denial.code, denial.message));
          },
          (error: unknown) => log()?.warn({ err: error }, "access re-check failed; keeping the stream until the next one"),
        )
        .finally(() => {
          checking = false;
        });
    }, guard.intervalMs);
    guardTimer.unref();
  }
  const onShutdown = () => queue.end(errorEvent("SHUTTING_DOWN", "kubesub is shutting down; reconnect"));
  options.shutdown.addEventListener("abort", onShutdown, { once: true });
  if (options.shutdown.aborted) onShutdown();

  const start = async () => {
    // Given back once settled, so that no stream holds a timer and listeners for the whole sync timeout.
    const waiting = deadline(clock, options.syncTimeoutMs, stop.signal);
    try {
      await Promise.all(selected.map(({ lease }) => lease.view.settle(waiting.signal)));
    } finally {
      waiting.cancel();
    }
    if (queue.isClosed) return;
    // Snapshot and handler registration happen in one synchronous turn: no delta falls between.
    const observedAt = clock.date().toISOString();
    const initial: StreamEvent<unknown>[] = [];
    let count = 0;
    let resourceVersion = "";
    // Views of one stream may read the same resource (pods, Dask clusters): it is reported once.
    const reported = new Set<string>();
    for (const { lease, selection } of selected) {
      const { kind, matches, resourceVersion: versionOf } = selection;
      const view: View<unknown> = lease.view;
      for (const missing of view.unavailable()) {
        const key = `${missing.resource}/${missing.namespace}`;
        if (reported.has(key)) continue;
        reported.add(key);
        log()?.warn({ ...missing }, "stream starts without a resource it reads");
        initial.push({ type: "unavailable", ...missing, observedAt });
      }
      for (const model of view.list()) {
        if (!matches(model)) continue;
        count += 1;
        initial.push({ type: "added", kind, object: model, cause: "INITIAL_STATE", resourceVersion: versionOf(model), observedAt });
      }
      resourceVersion = view.resourceVersion() || resourceVersion;
    }
    initial.push({ type: "initial-state-complete", count, resourceVersion, observedAt });
    queue.pushInitial(initial);
    const onEvent = (event: StreamEvent<unknown>) => {
      if (queue.isClosed || queue.push(event)) return;
      log()?.warn({ depth: queue.depth, field: options.field }, "subscriber queue overflowed; ending its stream");
      options.observer.overflowed(options.field);
      queue.fail(
        errorEvent(
          "OVERFLOW",
          `this client fell more than ${options.queueCapacity} events behind; reconnect to receive a fresh initial state`,
        ),
      );
    };
    // A resource that stops being readable mid-stream (its CRD deleted, access taken away) is told
    // once per outage, however many of the stream's views read it; its objects come back as added.
    const outages = new WeakSet<object>();
    for (const { lease, selection } of selected) {
      detach.push(options.feeds.join(lease.view, selection, onEvent));
      detach.push(
        lease.view.addUnavailableHandler((missing, cause) => {
          if (typeof cause === "object" && cause !== null) {
            if (outages.has(cause)) return;
            outages.add(cause);
          }
          log()?.warn({ ...missing }, "a resource the stream reads is no longer readable");
          onEvent({ type: "unavailable", ...missing, observedAt: clock.date().toISOString() });
        }),
      );
    }
  };
  void start();
  return queue;
}
