import type { DirectSource, QueueSink } from "./direct-source.ts";

export interface SubscriberQueueOptions<E> {
  /** Live events that may wait for a slow reader before the queue overflows. */
  capacity: number;
  /** Runs exactly once, when the queue ends for any reason: reader's return(), end() or overflow. */
  onClose?: () => void;
  /** Runs, synchronously, for each event as it is handed to the reader. */
  onDeliver?: (event: E) => void;
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
 * - Writers never block: push() returns false when the live buffer is full, and the caller ends the
 *   stream with a terminal event (see fail()); a slow reader never holds up the informer.
 * - The initial state goes through pushInitial(), which is not bounded: it is what the subscriber
 *   asked for, and its size is known.
 * - return() ends the stream at once, even while a next() is pending (an async generator would
 *   wait for its next value), so a disconnected client's resources are released promptly.
 */
export class SubscriberQueue<E> implements DirectSource<E> {
  private readonly buffer = new Fifo<E>();
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
    this.onClose = options.onClose;
    this.onDeliver = options.onDeliver;
  }

  get isClosed(): boolean {
    return this.closed || this.ending;
  }

  /** Events waiting to be read. */
  get depth(): number {
    return this.buffer.length;
  }

  pushInitial(events: Iterable<E>): void {
    for (const event of events) {
      if (this.enqueue(event)) this.initialBuffered += 1;
    }
  }

  /** Queues a live event. Returns false when the queue is full (or already ending). */
  push(event: E): boolean {
    if (this.isClosed) return false;
    if (this.buffer.length - this.initialBuffered >= this.capacity) return false;
    this.enqueue(event);
    return true;
  }

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
    while (!this.sinkPaused && this.buffer.length > 0) {
      const event = this.buffer.take() as E;
      if (this.initialBuffered > 0) this.initialBuffered -= 1;
      this.onDeliver?.(event);
      if (!sink.deliver(event)) this.sinkPaused = true;
    }
    this.drainIfDone();
  }

  next(): Promise<IteratorResult<E>> {
    const event = this.buffer.take();
    if (event !== undefined) {
      if (this.initialBuffered > 0) this.initialBuffered -= 1;
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
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<E>> {
    this.buffer.clear();
    this.close();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Hands the event to a waiting reader, or buffers it; returns true when buffered. */
  private enqueue(event: E): boolean {
    if (this.isClosed) return false;
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
    if (this.ending && this.buffer.length === 0 && !this.closed) {
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
