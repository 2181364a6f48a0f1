import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionResult,
  executeSubscriptionEvent,
  GraphQLError,
  mapSourceToResponseEvent,
  type ValidatedSubscriptionArgs,
  validateSubscriptionArgs,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import { type Clock, systemClock, type Timer } from "../clock.ts";
import { type DirectSource, isDirectSource, type QueueSink } from "../streams/subscribers/direct-source.ts";
import { isSharedEvent, type StreamEvent } from "../streams/subscribers/stream-event.ts";

type Result = ExecutionResult | Promise<ExecutionResult>;

export interface SharedSseOptions {
  /** A comment line keeps proxies from closing an idle stream. Default 12 s, as yoga's. */
  pingIntervalMs?: number;
  /** Applied to every error of a result the direct path executes (yoga masks the others). */
  maskError: (error: unknown) => GraphQLError;
  /** Runs the ping timer. Default systemClock. */
  clock?: Clock;
  /**
   * Bytes a direct-path stream's response may hold that its client has not read (its
   * writableLength) before the stream ends with OVERFLOW. Default 1 MiB.
   */
  maxBufferedBytes?: number;
  /**
   * Aborted when kubesub shuts down: a stream that ends then (with SHUTTING_DOWN, its last event)
   * ends without graphql-sse's `complete` and its connection closes, which graphql-sse's client
   * (and urql and Apollo over it) take for a network error and retry by themselves.
   */
  shutdown?: AbortSignal;
}

/** The OVERFLOW message of a stream whose connection holds more than maxBufferedBytes unread. */
export function overflowMessage(maxBufferedBytes: number): string {
  return `this client left more than ${maxBufferedBytes} bytes unread on its connection; reconnect with the last cursor received to resume without losing anything`;
}

/**
 * The subscriber's stream a request (one operation) opened, for useSingleConnectionSse, which
 * holds it back while its connection waits for the client and ends it with OVERFLOW.
 */
export function directSourceOf(request: Request): DirectSource<unknown> | undefined {
  return sourcesOfRequests.get(request);
}

const sourcesOfRequests = new WeakMap<Request, DirectSource<unknown>>();

/**
 * The context that events of a subscription are executed with. Their results are shared by every
 * subscriber that runs the same operation (see useSharedSse), so resolvers below a subscription
 * field read only their parent, the event, never the context: reading it is a bug, and fails loudly.
 */
export const sharedEventContext: object = new Proxy(Object.freeze({}), {
  get(_target, key) {
    throw new Error(
      `a resolver below a subscription field read context.${String(key)}: events are executed once for every subscriber, so these resolvers may read only their parent`,
    );
  },
});

/**
 * kubesub's subscriptions over SSE, fast when one change goes to thousands of subscribers:
 *
 * 1. Shared execution. Subscribers with the same filter receive the same event objects
 *    (streams/subscribers/shared-feed.ts). For an event object, the same document and variables give the same
 *    result, so the result is computed once, kept in a WeakMap on the event (collected with it), and
 *    handed to every subscriber; Apollo Router's subscription deduplication and graphql-ruby's
 *    broadcast subscriptions do the same. This holds because events execute with
 *    sharedEventContext (see there), never with a request's context.
 * 2. The direct path (distinct connections mode, kubesub's own streams: a DirectSource). Events are
 *    taken synchronously from the subscriber's stream and executed as above: no promise per event;
 *    each is one chunk whose bytes are shared by every subscriber that receives the same result.
 *    Once the stream is set up, the HTTP edge hands it the Node response (http-edge.ts,
 *    DirectSse.writeTo) and lets yoga's Request and Response go: frames are written to the
 *    response itself, and one timer pings every open stream. A client that reads too slowly stops
 *    the flow (backpressure: write()'s answer, then 'drain'): its changes wait in its queue, which
 *    coalesces them past --queue-size; its stream ends with OVERFLOW only when its response holds
 *    more than maxBufferedBytes unread (a frame larger than the socket's buffers). A client that
 *    disconnects ends the subscription.
 * Anything else (graphql-sse's single connection mode, a single result) is left to yoga's own
 * processing, with the same shared execution.
 *
 * A subscription lives no longer than its request: one whose client leaves before its response is
 * written (or whose response is never written) is ended all the same.
 */
export function useSharedSse(options: SharedSseOptions): Plugin {
  const pingIntervalMs = options.pingIntervalMs ?? 12_000;
  const overflow = { maxBytes: options.maxBufferedBytes ?? 1_048_576, message: overflowMessage(options.maxBufferedBytes ?? 1_048_576) };
  const clock = options.clock ?? systemClock;
  const execution = sharedExecution();
  const pings = new Pings(clock, pingIntervalMs);
  /** The subscription a request opened, from onSubscribe to onResultProcess of the same request. */
  const directStreams = new WeakMap<Request, { source: DirectSource<unknown>; execute: (event: unknown) => Result }>();
  const masked = (result: ExecutionResult): ExecutionResult =>
    result.errors ? { ...result, errors: result.errors.map((error) => options.maskError(error)) } : result;

  return {
    onSubscribe({ args, setSubscribeFn }) {
      const request = (args.contextValue as { request?: Request }).request;
      setSubscribeFn(async (subscribeArgs) => {
        const validated = validateSubscriptionArgs(subscribeArgs);
        if (!("schema" in validated)) {
          // Variables that do not fit their types: the caller's mistake, as for any other argument. No
          // HTTP status of its own: over SSE the errors must arrive in a `next` event of an
          // accepted stream (graphql-sse's PROTOCOL.md), which a 400 would prevent.
          const errors = validated.map(
            (error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: "BAD_USER_INPUT", ...error.extensions } }),
          );
          return { errors };
        }
        const source = await createSourceEventStream(validated);
        if (!(Symbol.asyncIterator in source)) return source;
        if (request) endWithRequest(source, request.signal);
        const execute = execution.executor(validated, subscribeArgs);
        if (request && isDirectSource(source)) {
          directStreams.set(request, { source, execute });
          sourcesOfRequests.set(request, source);
        }
        return mapSourceToResponseEvent(validated, source, (perEvent) => execute(perEvent.rootValue));
      });
    },
    onResultProcess({ request, result, setResultProcessor }) {
      if (!(typeof result === "object" && result !== null && Symbol.asyncIterator in result)) return;
      if (!(request.headers.get("accept") ?? "").includes("text/event-stream")) return;
      const direct = directStreams.get(request);
      directStreams.delete(request);
      if (!direct) return;
      // yoga's iterator over the same stream is never read, nor kept: ending the stream ends it.
      setResultProcessor((_result, fetchAPI) => {
        const stream = new DirectSse(direct.source, direct.execute, masked, pings, overflow, options.shutdown);
        const response = new fetchAPI.Response(stream.readable() as unknown as BodyInit, { status: 200, headers: sseHeaders });
        directResponses.set(response, stream);
        return response;
      }, "text/event-stream");
    },
  };
}

/**
 * The direct-path stream a response of useSharedSse carries, for an HTTP edge that holds the Node
 * response to write it itself (see DirectSse.writeTo): undefined for every other response, and for
 * one whose body has been read already.
 */
export function directStreamOf(response: Response): DirectSse | undefined {
  const stream = directResponses.get(response);
  directResponses.delete(response);
  return stream?.attached ? undefined : stream;
}

const directResponses = new WeakMap<Response, DirectSse>();

/**
 * One result and operation's executions, shared: see useSharedSse. Streams of the same operation
 * (document, operation name and variables) also share one executor, held weakly here: it lives as
 * long as one of its streams does.
 */
function sharedExecution() {
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 0;
  const results = new WeakMap<object, Map<string, Result>>();
  const executors = new Map<string, WeakRef<(event: unknown) => Result>>();
  const forget = new FinalizationRegistry<string>((operation) => {
    if (executors.get(operation)?.deref() === undefined) executors.delete(operation);
  });
  const documentId = (document: DocumentNode) => {
    let id = documentIds.get(document);
    if (id === undefined) {
      nextDocumentId += 1;
      id = nextDocumentId;
      documentIds.set(document, id);
    }
    return id;
  };
  return {
    /** Executes one operation's events, each result computed once per event and operation. */
    executor(
      validated: ValidatedSubscriptionArgs,
      args: { document: DocumentNode; operationName?: string | null; variableValues?: unknown },
    ): (event: unknown) => Result {
      const operation = `${documentId(args.document)}\u0000${args.operationName ?? ""}\u0000${JSON.stringify(args.variableValues ?? {})}`;
      const existing = executors.get(operation)?.deref();
      if (existing) return existing;
      // An open stream then holds none of its request's objects either: not its context, not its
      // signal (an event's execution serves every subscriber; one leaving does not abort it).
      const eventArgs = { ...validated, contextValue: sharedEventContext, externalAbortSignal: undefined };
      const execute = (event: unknown): Result => {
        const perEvent = { ...eventArgs, rootValue: event };
        // A subscriber's own event (its initial state...) is executed for it alone: nothing to keep.
        if (!shared(event)) return executeSubscriptionEvent(perEvent);
        let byOperation = results.get(event);
        if (!byOperation) {
          byOperation = new Map();
          results.set(event, byOperation);
        }
        let result = byOperation.get(operation);
        if (!result) {
          result = executeSubscriptionEvent(perEvent);
          byOperation.set(operation, result);
        }
        return result;
      };
      executors.set(operation, new WeakRef(execute));
      forget.register(execute, operation);
      return execute;
    },
  };
}

const encoder = new TextEncoder();
const frames = new WeakMap<object, Uint8Array>();
const ping = encoder.encode(":\n\n");
const complete = encoder.encode("event: complete\ndata:\n\n");
const sseHeaders = {
  "Content-Type": "text/event-stream",
  Connection: "keep-alive",
  "Cache-Control": "no-cache",
  "Content-Encoding": "none",
};

/** Whether an event may reach several subscribers, its result and frame then computed once for all. */
function shared(event: unknown): event is object {
  return typeof event === "object" && event !== null && isSharedEvent(event as StreamEvent<unknown>);
}

/**
 * One result as one SSE frame, with the event's cursor as its id, encoded once per result object
 * of a shared event, whoever it is sent to. A subscriber's own events are not kept in the cache: an initial state of 50,000 objects
 * would grow its table for good.
 */
function frameOf(result: ExecutionResult, event: unknown): Uint8Array {
  const cache = shared(event);
  let frame = cache ? frames.get(result) : undefined;
  if (!frame) {
    const { extensions, ...rest } = result as ExecutionResult & { extensions?: Record<string, unknown> };
    const visible = extensions && Object.keys(extensions).some((k) => !k.startsWith("http")) ? { ...rest, extensions } : rest;
    frame = encoder.encode(`${idLine(event)}event: next\ndata: ${JSON.stringify(visible)}\n\n`);
    if (cache) frames.set(result, frame);
  }
  return frame;
}

/**
 * An event's cursor as the frame's SSE id, which an EventSource sends back as Last-Event-ID when it
 * reconnects (cursors are base64url: never a line break).
 */
function idLine(event: unknown): string {
  const cursor = typeof event === "object" && event !== null ? (event as { cursor?: unknown }).cursor : undefined;
  return typeof cursor === "string" && cursor !== "" ? `id: ${cursor}\n` : "";
}

/**
 * The comment line every open direct-path stream gets every interval: one timer for all of them,
 * not one per stream.
 */
class Pings {
  private readonly streams = new Set<DirectSse>();
  private timer: Timer | undefined;
  private readonly clock: Clock;
  private readonly intervalMs: number;

  constructor(clock: Clock, intervalMs: number) {
    this.clock = clock;
    this.intervalMs = intervalMs;
  }

  add(stream: DirectSse): void {
    this.streams.add(stream);
    this.timer ??= this.clock.interval(() => this.ping(), this.intervalMs).unref();
  }

  delete(stream: DirectSse): void {
    if (!this.streams.delete(stream) || this.streams.size > 0) return;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private ping(): void {
    for (const stream of this.streams) stream.write(ping);
  }
}

/**
 * A direct-path stream: events taken synchronously from the subscriber's stream, executed (shared),
 * and written as pre-serialised frames. An HTTP edge that holds the Node response hands it over
 * (writeTo), and the frames go to it with nothing else in between: no WHATWG Request, Response or
 * stream, no piping, one 'close' listener. Anyone else reads the Response's body, a Node Readable
 * fed the same way (readable()).
 */
export class DirectSse implements QueueSink<unknown> {
  /** Where the frames go, once someone reads: the Node response, or the Response's body. */
  private response: ServerResponse | undefined;
  private body: Readable | undefined;
  private open = true;
  /** Waiting for the response's 'drain'. */
  private draining = false;
  private readonly drained = () => {
    this.draining = false;
    this.source.resume();
  };
  private readonly close = () => this.closed();
  private readonly source: DirectSource<unknown>;
  private readonly execute: (event: unknown) => Result;
  private readonly masked: (result: ExecutionResult) => ExecutionResult;
  private readonly pings: Pings;
  /** Past maxBytes unread in the response (or the body), the stream ends with OVERFLOW. */
  private readonly overflow: { maxBytes: number; message: string };
  /** Aborted when kubesub shuts down: the stream then ends without `complete`. */
  private readonly shutdown: AbortSignal | undefined;

  constructor(
    source: DirectSource<unknown>,
    execute: (event: unknown) => Result,
    masked: (result: ExecutionResult) => ExecutionResult,
    pings: Pings,
    overflow: { maxBytes: number; message: string },
    shutdown?: AbortSignal,
  ) {
    this.source = source;
    this.execute = execute;
    this.masked = masked;
    this.pings = pings;
    this.overflow = overflow;
    this.shutdown = shutdown;
  }

  /** Whether the stream is being written already. */
  get attached(): boolean {
    return this.response !== undefined || this.body !== undefined;
  }

  /**
   * Writes the stream to the Node response, whose status and headers the caller has set (not sent):
   * backpressure through write()'s answer and 'drain', and the subscription ends when the response
   * closes (the client left). Returns false, writing nothing, when the stream is read already.
   */
  writeTo(request: IncomingMessage, response: ServerResponse): boolean {
    if (this.attached) return false;
    const { socket } = request;
    if (response.destroyed || socket.destroyed) {
      // The client left before its stream could start.
      this.closed();
      return true;
    }
    // As the server adapter does for a streamed body.
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    socket.setTimeout(0);
    this.response = response;
    response.once("close", this.close);
    this.start();
    return true;
  }

  /** The Response's body, for a reader other than the HTTP edge: fed from its first read. */
  readable(): Readable {
    const body: Readable = new Readable({
      read: () => {
        if (this.body) this.source.resume();
        else if (!this.attached) {
          this.body = body;
          body.once("close", this.close);
          this.start();
        }
      },
    });
    return body;
  }

  deliver(event: unknown): boolean {
    if (!this.open) return false;
    const result = this.execute(event);
    if (!(result instanceof Promise)) return this.written(this.write(frameOf(this.masked(result), event)));
    // Resolvers are synchronous today; an asynchronous one keeps the order by pausing.
    result.then(
      (settled) => {
        if (this.write(frameOf(this.masked(settled), event))) this.source.resume();
      },
      (error: unknown) => {
        this.closed();
        this.response?.destroy(error as Error);
        this.body?.destroy(error as Error);
      },
    );
    return false;
  }

  /**
   * The stream is over: `complete`, so that the client does not come back. Except when it ended
   * for its client to reconnect (kubesub shuts down, or the stream reached its maximum lifetime):
   * the last event (SHUTTING_DOWN, MAX_LIFETIME) is followed by no `complete` and the connection
   * closes, which graphql-sse's client takes for a network error and retries, maybe on another replica.
   */
  end(): void {
    if (!this.open) return;
    this.open = false;
    this.pings.delete(this);
    if (this.shutdown?.aborted || this.source.endsForReconnect) {
      const { response } = this;
      response?.end(() => response.socket?.destroy());
      this.body?.push(null);
      return;
    }
    this.response?.end(complete);
    if (this.body) {
      this.body.push(complete);
      this.body.push(null);
    }
  }

  /**
   * After a frame that the reader is to be waited for: past the bound of unread bytes, the stream
   * ends with OVERFLOW, after what is written (once the queue has taken this frame's answer).
   */
  private written(writable: boolean): boolean {
    if (writable || !this.open) return writable;
    const unread = this.response?.writableLength ?? this.body?.readableLength ?? 0;
    if (unread > this.overflow.maxBytes) queueMicrotask(() => this.source.overflow(this.overflow.message));
    return false;
  }

  /** Writes a frame now; false when the reader is to be waited for (or the stream is over). */
  write(frame: Uint8Array): boolean {
    if (!this.open) return false;
    const { response } = this;
    if (!response) return this.body?.push(frame) ?? false;
    if (response.write(frame)) return true;
    if (!this.draining) {
      this.draining = true;
      response.once("drain", this.drained);
    }
    return false;
  }

  private start(): void {
    this.write(ping);
    this.pings.add(this);
    this.source.attach(this);
  }

  /** The client left (or its response failed): the subscription ends, releasing what it holds. */
  private closed(): void {
    this.open = false;
    this.pings.delete(this);
    void this.source.return();
  }
}

function endWithRequest(source: AsyncIterable<unknown> & Partial<AsyncIterator<unknown>>, signal: AbortSignal): void {
  if (signal.aborted) {
    void source.return?.();
    return;
  }
  signal.addEventListener("abort", () => void source.return?.(), { once: true });
}
