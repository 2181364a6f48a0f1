/**
 * How a transport may read a subscriber's stream without a promise per event: it attaches a sink,
 * which the stream calls synchronously for each event, buffered and future, in order.
 */
export interface QueueSink<E> {
  /** Takes one event; false asks the stream to hold the next ones until resume(). */
  deliver(event: E): boolean;
  /** The stream ended after its last event (not called when the reader itself returned). */
  end(): void;
}

/**
 * A subscriber's stream that can be read either as an async iterator (next/return) or through an
 * attached sink. Backpressure: events wait in the stream (past its capacity, coalesced per object)
 * while the sink is paused. return() ends the stream and releases everything it holds, however it
 * was read.
 */
export interface DirectSource<E> extends AsyncIterableIterator<E> {
  attach(sink: QueueSink<E>): void;
  /** The sink can take events again. */
  resume(): void;
  return(): Promise<IteratorResult<E>>;
  /**
   * The transport holds more bytes for this stream's socket than it allows: the stream ends with
   * OVERFLOW (message says why), after what was handed over already.
   */
  overflow(message: string): void;
  /**
   * The stream ended for its client to reconnect (SHUTTING_DOWN, MAX_LIFETIME): a transport then
   * writes no `complete` and closes the connection, which graphql-sse's client retries.
   */
  readonly endsForReconnect?: boolean;
}

export function isDirectSource(value: unknown): value is DirectSource<unknown> {
  const candidate = value as Partial<DirectSource<unknown>> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.attach === "function" &&
    typeof candidate.resume === "function" &&
    typeof candidate.return === "function"
  );
}
