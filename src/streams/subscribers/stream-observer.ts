import type { StreamEvent } from "./stream-event.ts";

/**
 * What the streams layer reports about its subscribers, for metrics. The server implements it
 * (server/metrics.ts); the default does nothing.
 */
export interface StreamObserver {
  opened(field: string): void;
  closed(field: string): void;
  /** An event was handed to the transport, with the subscriber's queue depth after it. */
  delivered(field: string, event: StreamEvent<unknown>, queueDepth: number): void;
  overflowed(field: string): void;
}

export const noObserver: StreamObserver = { opened() {}, closed() {}, delivered() {}, overflowed() {} };
