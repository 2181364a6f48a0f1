import type { Logger } from "pino";
import { type Clock, deadline, type Timer } from "../../clock.ts";
import { errorCatalogue } from "../../errors.ts";
import { type Cursor, encodeCursor } from "../views/cursor.ts";
import type { HistoryEntry } from "../views/history.ts";
import type { View } from "../views/view.ts";
import type { ViewLease } from "../views/view-registry.ts";
import type { Denial } from "./access.ts";
import { coalesceChanges } from "./coalesce.ts";
import type { Selection } from "./selection.ts";
import { type FeedRegistry, toEvent } from "./shared-feed.ts";
import type { StreamErrorCode, StreamEvent } from "./stream-event.ts";
import type { StreamLifetimes } from "./stream-lifetimes.ts";
import type { StreamObserver } from "./stream-observer.ts";
import { SubscriberQueue } from "./subscriber-queue.ts";

/** One view a subscriber reads: what it asked for, and its lease on the shared view. */
export interface SelectedView<M> {
  selection: Selection<M>;
  lease: ViewLease<M>;
}

export interface SubscriberStreamOptions {
  /**
   * Live events buffered, in order, for a slow subscriber; past this many its waiting changes are
   * coalesced, one per object (coalesce.ts).
   */
  queueCapacity: number;
  /** How long to wait for the sources to sync before starting with what is available. */
  syncTimeoutMs: number;
  /** Aborted when kubesub shuts down: the stream ends with SHUTTING_DOWN. */
  shutdown: AbortSignal;
  feeds: FeedRegistry;
  /** Asked every intervalMs while the stream lives; a Denial ends it with FORBIDDEN or UNAUTHENTICATED. */
  guard?: { intervalMs: number; check: () => Promise<Denial | undefined> };
  /** When the caller's credentials expire (epoch ms, on the clock): the stream ends then with UNAUTHENTICATED. */
  expiresAt?: number;
  /** When the stream ends with MAX_LIFETIME, for its client to reconnect (and resume). Default: never. */
  lifetimes?: StreamLifetimes;
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
  /**
   * Where the client left off (`after`, or Last-Event-ID): the stream resumes after it when every
   * view's history covers it, and starts with a snapshot otherwise.
   */
  after?: { text: string; cursor: Cursor };
}

/**
 * A subscriber's stream over one or more shared views: an "unavailable" event per source that
 * cannot be read (the view keeps retrying; its objects arrive as "added" once it can), the matching
 * models, one "initial-state-complete", then every change that concerns the subscriber, in order.
 *
 * A model whose change makes it match is sent as "added" (cause FILTER_CHANGE); one that stops
 * matching as "deleted" (cause FILTER_CHANGE).
 *
 * Resuming: with options.after, when every view's history still holds every delta after it
 * (View.since), the stream sends those deltas instead of the matching models, filtered as live
 * ones are, then "initial-state-complete" with resumed true; otherwise it starts as above, with
 * resumed false. Either way in the same synchronous turn as joining the feeds.
 *
 * A subscriber that reads slowly gets its waiting changes coalesced (one event per object, see
 * coalesce.ts) once more than queueCapacity wait; its stream ends with OVERFLOW only when its
 * transport calls overflow() (too many bytes waiting for its socket). The stream releases its
 * view leases when it ends, whichever way it ends: the reader's return(), overflow or shutdown.
 */
export function subscriberStream(
  selected: SelectedView<unknown>[],
  options: SubscriberStreamOptions,
): AsyncIterableIterator<StreamEvent<unknown>> {
  // What an open stream keeps is what the closures below capture, for as long as it is open: only
  // what they need, not the options object nor the selections (a process holds tens of thousands).
  const { clock, field, observer, shutdown, queueCapacity, callerLogger, logger, onClose } = options;
  const log = () => callerLogger?.() ?? logger;
  const leases = selected.map(({ lease }) => lease);
  let detach: (() => void)[] = [];
  let guardTimer: Timer | undefined;
  let expiryTimer: Timer | undefined;
  let forgetLifetime: (() => void) | undefined;
  /** The cursor of the last change pushed, and of the last event handed to the client: what its own later events carry. */
  const position = { pushed: "", delivered: "" };
  /** Whether its initial state has been pushed and it follows its views' changes. */
  let joined = false;
  /** Ends the wait for the sources to settle if the stream ends first; dropped once they have. */
  let stop: AbortController | undefined = new AbortController();

  const queue = new SubscriberQueue<StreamEvent<unknown>>({
    capacity: queueCapacity,
    coalescer: coalesceChanges,
    onOverflow: (message) => {
      log()?.warn({ depth: queue.depth, field }, "subscriber's connection overflowed; ending its stream");
      observer.overflowed(field);
      queue.fail(errorEvent(clock, "OVERFLOW", message, position.delivered));
    },
    onClose: () => {
      stop?.abort();
      guardTimer?.cancel();
      expiryTimer?.cancel();
      forgetLifetime?.();
      for (const d of detach) d();
      shutdown.removeEventListener("abort", onShutdown);
      for (const lease of leases) lease.release();
      onClose?.();
      observer.closed(field);
    },
    onDeliver: (event) => {
      position.delivered = event.cursor;
      observer.delivered(field, event, queue.depth);
    },
  });
  observer.opened(field);
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
            if (denial) queue.fail(errorEvent(clock, denial.code, denial.message, position.delivered));
          },
          (error: unknown) => log()?.warn({ err: error }, "access re-check failed; keeping the stream until the next one"),
        )
        .finally(() => {
          checking = false;
        });
    }, guard.intervalMs);
    guardTimer.unref();
  }
  const { expiresAt } = options;
  // Beyond a timer's range (about 24 days), the re-checks find the expiry instead.
  if (expiresAt !== undefined && expiresAt - clock.now() < 2 ** 31 - 1) {
    const expire = () =>
      queue.fail(errorEvent(clock, "UNAUTHENTICATED", "your token has expired; sign in again before reconnecting", position.delivered));
    if (expiresAt <= clock.now()) expire();
    else expiryTimer = clock.timeout(expire, expiresAt - clock.now()).unref();
  }
  // Every change pushed before it reaches the client first, so a stream that has started can hand
  // its views' positions now, not its last change's: a quiet stream then resumes on a replica that
  // started after that change (DerivedView.positionsByResource).
  // Both end the stream for its client to come back (with the cursor, to resume): transports then
  // write no `complete`, which stock graphql-sse clients would take for the end of the subscription.
  const endForReconnect = (code: "SHUTTING_DOWN" | "MAX_LIFETIME", message: string) => {
    if (queue.isClosed) return;
    queue.endsForReconnect = true;
    queue.end(errorEvent(clock, code, message, joined ? positionNow(leases) : position.pushed));
  };
  const onShutdown = () => endForReconnect("SHUTTING_DOWN", "kubesub is shutting down; reconnect");
  forgetLifetime = options.lifetimes?.start(() =>
    endForReconnect("MAX_LIFETIME", "this stream reached its maximum lifetime; reconnect with its cursor to resume"),
  );
  shutdown.addEventListener("abort", onShutdown, { once: true });
  if (shutdown.aborted) onShutdown();

  const onEvent = (event: StreamEvent<unknown>) => {
    if (queue.isClosed) return;
    // A stream's own event (an unavailable source) takes the position of the change before it.
    if (event.cursor === "") event.cursor = position.pushed;
    else position.pushed = event.cursor;
    // With a coalescer, the queue takes every event: a slow reader's are merged per object.
    queue.push(event);
  };

  // Called with the selections and options, not from a closure: a closure here would keep them
  // in this function's context for as long as the stream is open.
  void start(selected, options, queue, onEvent, log, stop.signal, (leaveAll, cursor) => {
    detach = leaveAll;
    position.pushed = cursor;
    joined = true;
  }).finally(() => {
    stop = undefined;
  });
  return queue;
}

/** Waits for the sources, then in one synchronous turn reads the snapshot, joins the feeds and hands over their leave()s. */
async function start(
  selected: SelectedView<unknown>[],
  options: SubscriberStreamOptions,
  queue: SubscriberQueue<StreamEvent<unknown>>,
  onEvent: (event: StreamEvent<unknown>) => void,
  log: () => Logger | undefined,
  stop: AbortSignal,
  joined: (leaveAll: (() => void)[], cursor: string) => void,
): Promise<void> {
  const { clock, after } = options;
  await settle(selected, clock, options.syncTimeoutMs, stop);
  if (after) await catchUp(selected, after.cursor, clock, Math.min(options.syncTimeoutMs, catchUpMs), stop);
  if (queue.isClosed) return;
  // Snapshot (or resume) and handler registration happen in one synchronous turn: no delta falls between.
  const missed = after && since(selected, after.cursor);
  const initial = missed ? resumedState(selected, missed, after.text, clock, log) : initialState(selected, clock, log);
  queue.pushInitial(initial);
  const unavailable = outageReporter(onEvent, clock, log);
  // Of its exact size: an open stream keeps it.
  const detach = new Array<() => void>(selected.length * 2);
  selected.forEach(({ lease, selection }, i) => {
    detach[2 * i] = options.feeds.join(lease.view, selection, onEvent);
    detach[2 * i + 1] = lease.view.addUnavailableHandler(unavailable);
  });
  joined(detach, (initial[initial.length - 1] as StreamEvent<unknown>).cursor);
}

function errorEvent(clock: Clock, code: StreamErrorCode, message: string, cursor: string): StreamEvent<unknown> {
  return { type: "error", code, message, retryable: errorCatalogue[code].retryable, observedAt: clock.date().toISOString(), cursor };
}

type Missed = { entry: HistoryEntry<unknown>; selection: Selection<unknown> }[];

/** Every view's deltas after the cursor, in the order they were emitted; undefined unless every view's history covers it. */
function since(selected: SelectedView<unknown>[], cursor: Cursor): Missed | undefined {
  const missed: Missed = [];
  for (const { lease, selection } of selected) {
    const entries = lease.view.since(cursor);
    if (!entries) return undefined;
    for (const entry of entries) missed.push({ entry, selection });
  }
  return missed.sort((a, b) => a.entry.sequence - b.entry.sequence);
}

/**
 * A resumed stream's start: an "unavailable" per resource that cannot be read, the changes since
 * the cursor that the selections match, as live ones (count is their number), "initial-state-complete".
 */
function resumedState(
  selected: SelectedView<unknown>[],
  missed: Missed,
  after: string,
  clock: Clock,
  log: () => Logger | undefined,
): StreamEvent<unknown>[] {
  const observedAt = clock.date().toISOString();
  // What it says before the changes takes the position the client gave.
  const initial = unavailableNow(selected, observedAt, after, log);
  let count = 0;
  for (const { entry, selection } of missed) {
    const event = toEvent(selection, entry.delta, new Date(entry.at).toISOString());
    if (!event) continue;
    count += 1;
    initial.push({ ...event, own: true } as StreamEvent<unknown>);
  }
  initial.push(complete(selected, count, true, observedAt));
  return initial;
}

/** "initial-state-complete", at the views' position now. */
function complete(selected: SelectedView<unknown>[], count: number, resumed: boolean, observedAt: string): StreamEvent<unknown> {
  let resourceVersion = "";
  for (const { lease } of selected) resourceVersion = lease.view.resourceVersion() || resourceVersion;
  return {
    type: "initial-state-complete",
    count,
    resumed,
    resourceVersion,
    observedAt,
    cursor: positionNow(selected.map(({ lease }) => lease)),
  };
}

/** The views' position now, between two changes, as one cursor. */
function positionNow(leases: readonly ViewLease<unknown>[]): string {
  // Each view takes its position now (a source first read or relisted since is noticed here, not
  // in the middle of another view's change); the first then carries them all.
  let cursor = "";
  for (const lease of leases.toReversed()) cursor = lease.view.cursor();
  return cursor;
}

/** An "unavailable" per resource the views cannot read now, each once. */
function unavailableNow(
  selected: SelectedView<unknown>[],
  observedAt: string,
  cursor: string,
  log: () => Logger | undefined,
): StreamEvent<unknown>[] {
  const events: StreamEvent<unknown>[] = [];
  // Views of one stream may read the same resource (pods, Dask clusters): it is reported once.
  const reported = new Set<string>();
  for (const { lease } of selected) {
    for (const missing of lease.view.unavailable()) {
      const key = `${missing.resource}/${missing.namespace}`;
      if (reported.has(key)) continue;
      reported.add(key);
      log()?.warn({ ...missing }, "stream starts without a resource it reads");
      events.push({ type: "unavailable", ...missing, observedAt, cursor });
    }
  }
  return events;
}

/** How long a stream that resumes waits for this process to read as far as its cursor. */
const catchUpMs = 2_000;

/**
 * A cursor from another replica may name changes this process has not read yet (its watch is a
 * few milliseconds behind): wait, at most timeoutMs, until it has read them, so that the stream
 * resumes rather than starting with a snapshot.
 */
async function catchUp(
  selected: SelectedView<unknown>[],
  cursor: Cursor,
  clock: Clock,
  timeoutMs: number,
  stop: AbortSignal,
): Promise<void> {
  const until = clock.now() + timeoutMs;
  while (!stop.aborted && clock.now() < until && selected.some(({ lease }) => lease.view.behind(cursor))) await clock.sleep(20, stop);
}

/** Waits for the views' sources to settle, at most timeoutMs; the timer and listeners go with it. */
async function settle(selected: SelectedView<unknown>[], clock: Clock, timeoutMs: number, stop: AbortSignal): Promise<void> {
  const waiting = deadline(clock, timeoutMs, stop);
  try {
    await Promise.all(selected.map(({ lease }) => lease.view.settle(waiting.signal)));
  } finally {
    waiting.cancel();
  }
}

/** The initial state: an "unavailable" per resource that cannot be read, the matching models, "initial-state-complete". */
function initialState(selected: SelectedView<unknown>[], clock: Clock, log: () => Logger | undefined): StreamEvent<unknown>[] {
  const observedAt = clock.date().toISOString();
  // Until InitialStateComplete, a position of no change: a client cut off mid-snapshot starts again.
  const cursor = encodeCursor({ namespace: "", family: "", views: undefined });
  const initial = unavailableNow(selected, observedAt, cursor, log);
  let count = 0;
  for (const { lease, selection } of selected) {
    const { kind, matches, resourceVersion: versionOf } = selection;
    const view: View<unknown> = lease.view;
    for (const model of view.list()) {
      if (!matches(model)) continue;
      count += 1;
      initial.push({ type: "added", kind, object: model, cause: "INITIAL_STATE", resourceVersion: versionOf(model), observedAt, cursor });
    }
  }
  initial.push(complete(selected, count, false, observedAt));
  return initial;
}

/**
 * A resource that stops being readable mid-stream (its CRD deleted, access taken away) is told
 * once per outage, however many of the stream's views read it; its objects come back as added.
 */
function outageReporter(
  onEvent: (event: StreamEvent<unknown>) => void,
  clock: Clock,
  log: () => Logger | undefined,
): Parameters<View<unknown>["addUnavailableHandler"]>[0] {
  let outages: WeakSet<object> | undefined;
  return (missing, cause) => {
    if (typeof cause === "object" && cause !== null) {
      outages ??= new WeakSet();
      if (outages.has(cause)) return;
      outages.add(cause);
    }
    log()?.warn({ ...missing }, "a resource the stream reads is no longer readable");
    onEvent({ type: "unavailable", ...missing, observedAt: clock.date().toISOString(), cursor: "" });
  };
}
