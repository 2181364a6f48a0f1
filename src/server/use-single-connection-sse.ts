import { once } from "node:events";
import type { ServerResponse } from "node:http";
import { type DocumentNode, type ExecutionResult, type GraphQLError, getOperationAST } from "graphql";
import { createHandler } from "graphql-sse/lib/use/fetch";
import type { Plugin } from "graphql-yoga";
import { type Clock, systemClock, type Timer } from "../clock.ts";
import { codedErrors, errorBody, errorContentType, errorResponse } from "./http-errors.ts";
import { withCode } from "./mask-error.ts";
import { randomStreamTokenKey, StreamTokens } from "./stream-token.ts";
import { directSourceOf, overflowMessage } from "./use-shared-sse.ts";

export interface SingleConnectionOptions {
  /** Where graphql-sse clients connect. */
  endpoint: string;
  /** Turns anything that is not one of kubesub's coded errors into a masked one, logged once. */
  maskError: (error: unknown) => GraphQLError;
  /**
   * An operation sent to a reservation whose event stream has not connected within this time is
   * ended, releasing its slot: a client that reserved and left never holds one for long. A
   * reservation's token also expires this long after the PUT if no replica has taken it up.
   * Default 30 s.
   */
  reservationTimeoutMs?: number;
  /**
   * The key that signs reservation tokens (stream-token.ts), the same for every replica so that
   * any of them accepts a reservation another one made. Default: a random key of this process.
   */
  streamTokenKey?: string | Uint8Array;
  /**
   * Aborted when kubesub shuts down: an operation that ends then (with SHUTTING_DOWN) gets no
   * `complete`; its connection is closed by the shutdown, and graphql-sse's client retries.
   */
  shutdown?: AbortSignal;
  /** Default systemClock. */
  clock?: Clock;
  /**
   * Bytes an event stream's connection may hold that its client has not read before the
   * operation whose event finds it so ends with OVERFLOW. Default 1 MiB.
   */
  maxBufferedBytes?: number;
}

const tokenHeader = "x-graphql-event-stream-token";

/**
 * graphql-sse's protocol (single connection mode, and distinct connections on the same endpoint)
 * over yoga's parse, validate, context and execution, as @graphql-yoga/plugin-graphql-sse does, with
 * what kubesub's clients need on top:
 * - a document that does not parse, does not validate or passes a query limit, and a subscription
 *   refused by its resolver (BAD_USER_INPUT, FORBIDDEN…), reach the client as a GraphQL result
 *   with coded errors on the stream, as in distinct mode; never "Unable to detect operation AST",
 *   which graphql-sse's client takes for a network error and retries forever;
 * - nothing escapes as a stack trace: an unexpected failure is masked and logged once;
 * - graphql-sse's own refusals ("Stream not found"…) carry a code;
 * - reservations are stateless: the PUT answers a signed token (stream-token.ts) and keeps
 *   nothing; the replica that first receives the token's event stream or one of its operations
 *   makes the reservation there (graphql-sse's own), after checking the token: a malformed,
 *   forged, expired or another caller's token is refused with a coded 4xx, never a stream;
 * - operations of a reservation whose stream never connects are ended (reservationTimeoutMs);
 * - an operation's events are taken from its stream only while the event stream's connection
 *   can take more (graphql-sse would otherwise take them all at once and hold them, printed,
 *   for as long as the client does not read): a slow client's changes wait in its queue, which
 *   coalesces them, and an operation that finds more than maxBufferedBytes unread ends with
 *   OVERFLOW.
 */
export function useSingleConnectionSse(options: SingleConnectionOptions): Plugin {
  const { maskError } = options;
  const contexts = new WeakMap<Request, Record<string, unknown>>();
  const clock = options.clock ?? systemClock;
  const reservationTimeoutMs = options.reservationTimeoutMs ?? 30_000;
  const tokens = new StreamTokens(options.streamTokenKey ?? randomStreamTokenKey(), reservationTimeoutMs, () => clock.now());
  /** Tokens whose reservation exists in this process's graphql-sse handler. */
  const local = new Set<string>();
  const reservations = new PendingReservations(clock, reservationTimeoutMs, (token) => {
    if (!local.delete(token)) return;
    // Ends graphql-sse's reservation itself: a stream that connects and is gone at once.
    void handler(syntheticRequest(options.endpoint, "GET", token, AbortSignal.abort())).then((response) => response.body?.cancel());
  });
  const maxBufferedBytes = options.maxBufferedBytes ?? 1_048_576;
  /** The Node response of each reservation's event stream, once it has connected. */
  const connections = new Map<string, ServerResponse>();
  let handler: (request: Request) => Promise<Response>;

  // yoga's `http` extension is for yoga's own transports.
  const coded = (error: GraphQLError, code: string) => withCode(error, code, ["http"]);
  const failed = (error: unknown, code: string): ExecutionResult => ({
    data: null,
    errors: [coded(maskError(error), code)],
  });

  return {
    onYogaInit({ yoga }) {
      handler = createHandler(
        {
          onSubscribe: async (req, params) => {
            const request = req.raw as Request;
            try {
              const enveloped = yoga.getEnveloped({ ...contexts.get(request), request, params });
              let document: DocumentNode;
              try {
                document = enveloped.parse(params.query);
              } catch (error) {
                return failed(error, "GRAPHQL_PARSE_FAILED");
              }
              const errors = enveloped.validate(enveloped.schema, document);
              if (errors.length > 0) return { data: null, errors: errors.map((e: GraphQLError) => coded(e, "GRAPHQL_VALIDATION_FAILED")) };
              const contextValue = await enveloped.contextFactory();
              const operation = getOperationAST(document, params.operationName);
              const run = operation?.operation === "subscription" ? enveloped.subscribe : enveloped.execute;
              const result = (await run({
                schema: enveloped.schema,
                document,
                contextValue,
                variableValues: params.variables,
                operationName: params.operationName,
              })) as ExecutionResult | AsyncIterableIterator<ExecutionResult>;
              if (Symbol.asyncIterator in result) {
                const token = tokenOf(request);
                if (token !== undefined) reservations.operation(token, result);
                // Distinct connections mode on this endpoint: the operation's own response is its stream.
                const connection = () =>
                  token !== undefined ? connections.get(token) : (contexts.get(request)?.res as ServerResponse | undefined);
                return heldBack(result, connection, directSourceOf(request), maxBufferedBytes, options.shutdown);
              }
              // graphql-sse tells a result from a set of arguments by its `data` key.
              return { data: null, ...result };
            } catch (error) {
              // A query limit, for example, is enforced by throwing from validation.
              return failed(error, "GRAPHQL_VALIDATION_FAILED");
            }
          },
        },
        yoga.fetchAPI,
      );
    },
    async onRequest({ request, url, endResponse, serverContext, fetchAPI }) {
      if (url.pathname !== options.endpoint) return;
      contexts.set(request, serverContext as Record<string, unknown>);
      const subject = (serverContext as { access?: { subject?: string } }).access?.subject ?? "";
      if (request.method === "PUT") {
        const accept = request.headers.get("accept") || "*/*";
        if (!["*/*", "text/plain"].includes(accept)) {
          endResponse(
            errorResponse(fetchAPI, 406, { message: "A reservation is answered as text/plain.", extensions: { code: "NOT_ACCEPTABLE" } }),
          );
        } else {
          endResponse(
            new fetchAPI.Response(tokens.issue(subject), { status: 201, headers: { "content-type": "text/plain; charset=utf-8" } }),
          );
        }
        return;
      }
      const token = tokenOf(request);
      const eventStream = request.headers.get("accept") === "text/event-stream";
      if (token !== undefined) {
        const refusal = tokens.check(token, subject, local.has(token));
        if (refusal) {
          endResponse(errorResponse(fetchAPI, refusal.status, { message: refusal.message, extensions: { code: refusal.code } }));
          return;
        }
        if (!local.has(token) && (eventStream || request.method === "POST")) {
          // This replica takes the reservation up, as graphql-sse's PUT would have made it here.
          const made = await handler(syntheticRequest(options.endpoint, "PUT", token));
          if (made.status === 201 || made.status === 409) local.add(token);
          // Bounded even if no operation is ever sent to it and its stream never connects.
          if (made.status === 201) reservations.reserved(token);
        }
      }
      if (token !== undefined && eventStream) {
        reservations.connected(token, request.signal);
        request.signal.addEventListener("abort", () => local.delete(token), { once: true });
        const res = (serverContext as { res?: ServerResponse }).res;
        if (res) {
          connections.set(token, res);
          res.once("close", () => {
            if (connections.get(token) === res) connections.delete(token);
          });
        }
      }
      return handler(request).then(
        async (response) => endResponse(await withCodedBody(response, fetchAPI)),
        (error: unknown) => {
          maskError(error);
          endResponse(errorResponse(fetchAPI, 500, { message: "Unexpected error.", extensions: { code: "INTERNAL_SERVER_ERROR" } }));
        },
      );
    },
  };
}

/**
 * An operation's results, each taken from its stream only once the connection it is written to
 * can take more; past maxBytes unread, the stream is told to end with OVERFLOW (its last event,
 * read next).
 */
function heldBack<T>(
  results: AsyncIterableIterator<T>,
  connection: () => ServerResponse | undefined,
  source: { overflow(message: string): void; readonly endsForReconnect?: boolean } | undefined,
  maxBytes: number,
  shutdown?: AbortSignal,
): AsyncIterableIterator<T> {
  const message = overflowMessage(maxBytes);
  /** Resolves the next() that holds back an operation's end while kubesub shuts down. */
  let release: ((result: IteratorResult<T>) => void) | undefined;
  const wrapped: AsyncIterableIterator<T> = {
    async next() {
      const res = connection();
      if (res && !res.destroyed && res.writableNeedDrain) {
        if (res.writableLength > maxBytes) source?.overflow(message);
        else {
          const done = new AbortController();
          await Promise.race([once(res, "drain", { signal: done.signal }), once(res, "close", { signal: done.signal })]).catch(() => {});
          done.abort();
        }
      }
      const result = await results.next();
      // Shutting down: no `complete` after SHUTTING_DOWN; the shutdown closes the connection, and
      // graphql-sse's client, seeing it closed with the operation still open, retries. After
      // MAX_LIFETIME likewise, but the connection is closed here, for every operation on it: they
      // come back together, over a new reservation that the proxy may send to another replica.
      if (result.done && (shutdown?.aborted || source?.endsForReconnect)) {
        if (!shutdown?.aborted) {
          const res = connection();
          res?.end(() => res.socket?.destroy());
        }
        return new Promise<IteratorResult<T>>((resolve) => (release = resolve));
      }
      return result;
    },
    return: (value?: unknown) => {
      release?.({ done: true, value: undefined as never });
      return results.return?.(value as never) ?? Promise.resolve({ done: true, value: undefined as never });
    },
    throw: (error?: unknown) => results.throw?.(error) ?? Promise.reject(error),
    [Symbol.asyncIterator]() {
      return wrapped;
    },
  };
  return wrapped;
}

/** A request to graphql-sse's handler from kubesub itself, for a reservation's token. */
function syntheticRequest(endpoint: string, method: string, token: string, signal?: AbortSignal): Request {
  const headers = { [tokenHeader]: token, accept: method === "PUT" ? "*/*" : "text/event-stream" };
  return new Request(`http://localhost${endpoint}`, { method, headers, signal });
}

function tokenOf(request: Request): string | undefined {
  const header = request.headers.get(tokenHeader);
  if (header) return header;
  return new URL(request.url, "http://localhost").searchParams.get("token") ?? undefined;
}

/** graphql-sse's JSON refusals, each error given a code. */
async function withCodedBody(response: Response, fetchAPI: { Response: typeof Response }): Promise<Response> {
  if (response.status < 400 || !(response.headers.get("content-type") ?? "").includes("json")) return response;
  const errors = codedErrors(await response.text(), response.status);
  const headers = new Headers(response.headers);
  headers.set("content-type", errorContentType);
  headers.delete("content-length");
  const body = errorBody(errors ?? [{ message: response.statusText, extensions: { code: "BAD_REQUEST" } }]);
  return new fetchAPI.Response(body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * Operations sent to reservations (single connection mode) whose event stream has not connected
 * yet. graphql-sse keeps them, and their subscriptions, until the stream connects and later
 * closes; a stream that never connects would hold them forever.
 */
class PendingReservations {
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly onExpire: (token: string) => void;
  private readonly pending = new Map<string, { operations: Set<AsyncIterator<unknown>>; timer: Timer }>();
  private readonly open = new Set<string>();

  constructor(clock: Clock, timeoutMs: number, onExpire: (token: string) => void) {
    this.clock = clock;
    this.timeoutMs = timeoutMs;
    this.onExpire = onExpire;
  }

  /** A reservation made in this process: it is ended if its stream does not connect in time. */
  reserved(token: string): { operations: Set<AsyncIterator<unknown>>; timer: Timer } | undefined {
    if (this.open.has(token)) return undefined;
    let entry = this.pending.get(token);
    if (!entry) {
      const timer = this.clock.timeout(() => this.expire(token), this.timeoutMs).unref();
      entry = { operations: new Set(), timer };
      this.pending.set(token, entry);
    }
    return entry;
  }

  operation(token: string, operation: AsyncIterator<unknown>): void {
    this.reserved(token)?.operations.add(operation);
  }

  /** The reservation's stream connected; graphql-sse ends its operations when it closes. */
  connected(token: string, signal: AbortSignal): void {
    const entry = this.pending.get(token);
    entry?.timer.cancel();
    this.pending.delete(token);
    this.open.add(token);
    signal.addEventListener("abort", () => this.open.delete(token), { once: true });
  }

  private expire(token: string): void {
    const entry = this.pending.get(token);
    this.pending.delete(token);
    for (const operation of entry?.operations ?? []) void operation.return?.();
    this.onExpire(token);
  }
}
