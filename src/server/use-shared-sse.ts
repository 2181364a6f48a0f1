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
import { type Clock, systemClock } from "../clock.ts";
import { type DirectSource, isDirectSource } from "../streams/subscribers/direct-source.ts";

type Result = ExecutionResult | Promise<ExecutionResult>;

export interface SharedSseOptions {
  /** A comment line keeps proxies from closing an idle stream. Default 12 s, as yoga's. */
  pingIntervalMs?: number;
  /** Applied to every error of a result the direct path executes (yoga masks the others). */
  maskError: (error: unknown) => GraphQLError;
  /** Runs the ping timer. Default systemClock. */
  clock?: Clock;
}

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
 *    each is one chunk whose bytes are shared by every subscriber that receives the same result; the
 *    body is a Node stream that the server adapter pipes straight into the response. A client that
 *    reads too slowly stops the flow (backpressure) until its stream overflows and ends with
 *    OVERFLOW; a client that disconnects ends the subscription.
 * Anything else (graphql-sse's single connection mode, a single result) is left to yoga's own
 * processing, with the same shared execution.
 *
 * A subscription lives no longer than its request: one whose client leaves before its response is
 * written (or whose response is never written) is ended all the same.
 */
export function useSharedSse(options: SharedSseOptions): Plugin {
  const pingIntervalMs = options.pingIntervalMs ?? 12_000;
  const clock = options.clock ?? systemClock;
  const execution = sharedExecution();
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
        if (request && isDirectSource(source)) directStreams.set(request, { source, execute });
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
        const body = directBody(direct.source, direct.execute, masked, clock, pingIntervalMs);
        return new fetchAPI.Response(body as unknown as BodyInit, { status: 200, headers: sseHeaders });
      }, "text/event-stream");
    },
  };
}

/** One result and operation's executions, shared: see useSharedSse. */
function sharedExecution() {
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 0;
  const results = new WeakMap<object, Map<string, Result>>();
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
    ) {
      const operation = `${documentId(args.document)}\u0000${args.operationName ?? ""}\u0000${JSON.stringify(args.variableValues ?? {})}`;
      // An open stream then holds none of its request's objects either.
      const eventArgs = { ...validated, contextValue: sharedEventContext };
      return (event: unknown): Result => {
        const perEvent = { ...eventArgs, rootValue: event };
        if (typeof event !== "object" || event === null) return executeSubscriptionEvent(perEvent);
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

/** One result as one SSE frame, encoded once per result object, whoever it is sent to. */
function frameOf(result: ExecutionResult): Uint8Array {
  let frame = frames.get(result);
  if (!frame) {
    const { extensions, ...rest } = result as ExecutionResult & { extensions?: Record<string, unknown> };
    const visible = extensions && Object.keys(extensions).some((k) => !k.startsWith("http")) ? { ...rest, extensions } : rest;
    frame = encoder.encode(`event: next\ndata: ${JSON.stringify(visible)}\n\n`);
    frames.set(result, frame);
  }
  return frame;
}

/** The response body of a direct-path stream: a Node Readable fed synchronously by the source. */
function directBody(
  source: DirectSource<unknown>,
  execute: (event: unknown) => Result,
  masked: (result: ExecutionResult) => ExecutionResult,
  clock: Clock,
  pingIntervalMs: number,
): Readable {
  // read() is called when the socket wants more: backpressure from a slow client.
  const body = new Readable({ read: () => source.resume() });
  const timer = clock.interval(() => body.push(ping), pingIntervalMs).unref();
  let open = true;
  body.once("close", () => {
    open = false;
    timer.cancel();
    void source.return();
  });
  body.push(ping);
  source.attach({
    deliver(event) {
      if (!open) return false;
      const result = execute(event);
      if (!(result instanceof Promise)) return body.push(frameOf(masked(result)));
      // Resolvers are synchronous today; an asynchronous one keeps the order by pausing.
      result.then(
        (settled) => {
          if (open && body.push(frameOf(masked(settled)))) source.resume();
        },
        (error: unknown) => body.destroy(error as Error),
      );
      return false;
    },
    end() {
      timer.cancel();
      body.push(complete);
      body.push(null);
    },
  });
  return body;
}

function endWithRequest(source: AsyncIterable<unknown> & Partial<AsyncIterator<unknown>>, signal: AbortSignal): void {
  if (signal.aborted) {
    void source.return?.();
    return;
  }
  signal.addEventListener("abort", () => void source.return?.(), { once: true });
}
