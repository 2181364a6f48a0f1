import type { DirectSource, QueueSink } from "./direct-source.ts";

export interface SubscriberQueueOptions<E> {
  /**
   * Live events that may wait for a slow reader, in order, before the queue coalesces them (with
   * a coalescer) or refuses more (without one).
   */
  capacity: number;
  /**
   * Merges a slow reader's waiting events per object once more than capacity wait: the backlog is
   * then bounded by the number of objects, not by the rate of change.
   */
  coalescer?: Coalescer<E>;
  /** Runs exactly once, when the queue ends for any reason: reader's return(), end() or fail(). */
  onClose?: () => void;
  /** Runs, synchronously, for each event as it is handed to the reader. */
  onDeliver?: (event: E) => void;
  /** What overflow() does: a transport found more bytes waiting for its socket than it allows. */
  onOverflow?: (message: string) => void;
}

/** How a slow reader's waiting events are merged (see coalesce.ts for kubesub's). */
export interface Coalescer<E> {
  /** The object an event is about; undefined for an event that is never merged (kept in its place). */
  keyOf(event: E): string | undefined;
  /**
   * One event standing for both, neither of them sent yet (waiting came first), placed where next
   * is; undefined when they cancel out (nothing is sent).
   */
  merge(waiting: E, next: E): E | undefined;
}

/**
 * A first-in first-out list whose take() costs the same at any length: Array.prototype.shift()
 * copies a long array on every call, which made handing over an initial state of 50,000 events
 * quadratic.
 */
class Fifo<E> {
  private items: (E | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: E): void {
    this.items.push(item);
  }

  take(): E | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    if (this.head === this.items.length) this.clear();
    else if (this.head >= 4_096 && this.head * 2 >= this.items.length) {
      // Half of it taken: drop what was taken, so that a long-lived queue does not keep it.
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Empties it in place: a queue that drains many times a second allocates nothing for it. */
  clear(): void {
    this.items.length = 0;
    this.head = 0;
  }
}

/**
 * One subscriber's event buffer, read as an async iterator or through an attached sink (DirectSource).
 *
 * - Writers never block; a slow reader never holds up the informer. Past capacity live events,
 *   with a coalescer, the waiting live events become one per object (Coalescer.merge), each in the
 *   place of its object's last change, until the reader has taken them all; without one, push()
 *   returns false and the caller ends the stream with a terminal event (see fail()).
 * - The initial state goes through pushInitial(), which is not bounded: it is what the subscriber
 *   asked for, and its size is known.
 * - return() ends the stream at once, even while a next() is pending (an async generator would
 *   wait for its next value), so a disconnected client's resources are released promptly.
 */
export class SubscriberQueue<E> implements DirectSource<E> {
  private readonly buffer = new Fifo<E>();
  /**
   * While coalescing: the live events after the buffer (which then holds initial state only), one
   * per object, in the order of each one's last change (a merged event is moved to the end).
   */
  private coalescing: Map<string | symbol, E> | undefined;
  private readonly coalescer: Coalescer<E> | undefined;
  private readonly onOverflow: ((message: string) => void) | undefined;
  /** How many of the buffered events, at the head, are initial state (not bounded). */
  private initialBuffered = 0;
  private readonly capacity: number;
  private onClose: (() => void) | undefined;
  private readonly onDeliver: ((event: E) => void) | undefined;
  private waiting: ((result: IteratorResult<E>) => void) | undefined;
  private ending = false;
  private closed = false;
  private sink: QueueSink<E> | undefined;
  private sinkPaused = false;

  constructor(options: SubscriberQueueOptions<E>) {
    this.capacity = options.capacity;
    this.coalescer = options.coalescer;
    this.onOverflow = options.onOverflow;
    this.onClose = options.onClose;
    this.onDeliver = options.onDeliver;
  }

  get isClosed(): boolean {
    return this.closed || this.ending;
  }

  /** Events waiting to be read. */
  get depth(): number {
    return this.buffer.length + (this.coalescing?.size ?? 0);
  }

  /** Whether waiting events are being merged per object (from passing capacity until the reader has taken them all). */
  get isCoalescing(): boolean {
    return this.coalescing !== undefined;
  }

  pushInitial(events: Iterable<E>): void {
    for (const event of events) {
      if (this.enqueue(event)) this.initialBuffered += 1;
    }
  }

  /** Queues a live event. Returns false when the queue is full (without a coalescer) or already ending. */
  push(event: E): boolean {
    if (this.isClosed) return false;
    const { coalescer } = this;
    if (this.coalescing && coalescer) {
      this.coalesce(this.coalescing, coalescer, event);
      if (this.coalescing.size === 0) this.coalescing = undefined;
      return true;
    }
    if (this.buffer.length - this.initialBuffered >= this.capacity) {
      if (!coalescer) return false;
      this.startCoalescing(coalescer, event);
      return true;
    }
    this.enqueue(event);
    return true;
  }

  /** A transport's bound on bytes waiting for its socket is passed: see SubscriberQueueOptions.onOverflow. */
  overflow(message: string): void {
    if (!this.isClosed) this.onOverflow?.(message);
  }

  /** See DirectSource.endsForReconnect: set by whoever ends it so. */
  endsForReconnect = false;

  /** Ends the stream after the buffered events, optionally with one last event. */
  end(last?: E): void {
    if (this.isClosed) return;
    if (last !== undefined) this.enqueue(last);
    this.ending = true;
    this.drainIfDone();
  }

  /** Drops what is buffered and ends the stream with this event (overflow, revoked access...). */
  fail(last: E): void {
    if (this.isClosed) return;
    this.buffer.clear();
    this.coalescing = undefined;
    this.initialBuffered = 0;
    this.sinkPaused = false; // the last event goes out even to a reader that asked to wait
    this.end(last);
  }

  /**
   * Hands every event, buffered and future, straight to a synchronous reader instead of next():
   * no promise per event, which matters when one change goes to thousands of subscribers. The sink
   * applies backpressure by returning false; resume() when it can take more. Capacity and overflow
   * work as with next(): events wait in the buffer while the sink is paused.
   */
  attach(sink: QueueSink<E>): void {
    this.sink = sink;
    this.resume();
  }

  resume(): void {
    this.sinkPaused = false;
    const sink = this.sink;
    if (!sink) return;
    while (!this.sinkPaused && this.depth > 0) {
      const event = this.take() as E;
      this.onDeliver?.(event);
      if (!sink.deliver(event)) this.sinkPaused = true;
    }
    this.drainIfDone();
  }

  next(): Promise<IteratorResult<E>> {
    const event = this.take();
    if (event !== undefined) {
      this.onDeliver?.(event);
      this.drainIfDone();
      return Promise.resolve({ value: event, done: false });
    }
    if (this.closed || this.ending) {
      this.close();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<E>> {
    this.buffer.clear();
    this.coalescing = undefined;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<E>> {
    this.buffer.clear();
    this.coalescing = undefined;
    this.close();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next event to hand over: the buffer's, then the coalesced ones'. */
  private take(): E | undefined {
    if (this.buffer.length > 0) {
      if (this.initialBuffered > 0) this.initialBuffered -= 1;
      return this.buffer.take();
    }
    const coalescing = this.coalescing;
    if (!coalescing) return undefined;
    const first = coalescing.entries().next().value as [string | symbol, E];
    coalescing.delete(first[0]);
    if (coalescing.size === 0) this.coalescing = undefined;
    return first[1];
  }

  /** The live events buffered, and this one, merged per object from now on. */
  private startCoalescing(coalescer: Coalescer<E>, event: E): void {
    const initial: E[] = [];
    for (let i = 0; i < this.initialBuffered; i += 1) initial.push(this.buffer.take() as E);
    const live: E[] = [];
    while (this.buffer.length > 0) live.push(this.buffer.take() as E);
    this.buffer.clear();
    for (const e of initial) this.buffer.push(e);
    const coalescing = new Map<string | symbol, E>();
    for (const e of live) this.coalesce(coalescing, coalescer, e);
    this.coalesce(coalescing, coalescer, event);
    this.coalescing = coalescing.size > 0 ? coalescing : undefined;
  }

  private coalesce(coalescing: Map<string | symbol, E>, coalescer: Coalescer<E>, event: E): void {
    const key = coalescer.keyOf(event) ?? Symbol();
    const waiting = coalescing.get(key);
    if (waiting === undefined) {
      coalescing.set(key, event);
      return;
    }
    coalescing.delete(key);
    const merged = coalescer.merge(waiting, event);
    if (merged !== undefined) coalescing.set(key, merged);
  }

  /** Hands the event to a waiting reader, or buffers it; returns true when buffered. */
  private enqueue(event: E): boolean {
    if (this.isClosed) return false;
    if (this.coalescing) {
      // After the events being coalesced (the stream's last event): never merged.
      this.coalescing.set(Symbol(), event);
      return false;
    }
    if (this.sink && !this.sinkPaused && this.buffer.length === 0) {
      this.onDeliver?.(event);
      if (!this.sink.deliver(event)) this.sinkPaused = true;
      return false;
    }
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      this.onDeliver?.(event);
      waiting({ value: event, done: false });
      return false;
    }
    this.buffer.push(event);
    return true;
  }

  private drainIfDone(): void {
    if (this.ending && this.depth === 0 && !this.closed) {
      this.close();
      this.sink?.end();
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ending = true;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ value: undefined, done: true });
    const onClose = this.onClose;
    this.onClose = undefined;
    onClose?.();
  }
}
