// A GraphQL-over-SSE subscriber for any of kubesub's subscription fields, as a client sees it:
// each result with its data or its errors (extensions included), read continuously in the
// background, handed out in order with bounded waits. Also plain GraphQL requests over fetch, for
// what happens before a stream opens (status codes, refusals).
import { type Client, createClient, type ExecutionResult, NetworkError } from "graphql-sse";

/** A GraphQL error as it reaches a client. */
export interface GraphqlError {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
}

/** One event of any union (PodEvent, IDEEvent, DaskEvent), as the documents of the tests select it. */
export interface UnionEvent {
  __typename: string;
  [field: string]: unknown;
}

/** One result of a subscription: an event, or the GraphQL errors that took its place. */
export interface StreamResult<E> {
  event?: E;
  errors?: GraphqlError[];
}

export interface SubscribeOptions {
  /** Sent as Authorization: Bearer <token>. */
  token?: string;
  /** graphql-sse's single connection mode on /graphql/stream; default distinct connections on /graphql. */
  singleConnection?: boolean;
}

export interface TakeResultsOptions<E> {
  count?: number;
  /** Stops at (and includes) the first result it accepts. */
  until?: (result: StreamResult<E>) => boolean;
  /** Default 10 s. */
  timeoutMs?: number;
}

/** How a stream ended: completed by the server, or failed (refused over HTTP, or connection lost). */
export interface StreamEnd {
  error?: unknown;
  /** When the server refused the request: its HTTP status and body. */
  refusal?: { status: number; body: string };
}

/**
 * One subscription through a real graphql-sse client. retryAttempts is 0: a broken connection ends
 * the stream, and so does a refusal; `ended` resolves then, with the client's error if any.
 */
export class SubscriptionStream<E extends UnionEvent = UnionEvent> {
  readonly results: StreamResult<E>[] = [];
  /** Resolves when the server completes the stream or the connection fails. */
  readonly ended: Promise<StreamEnd>;
  private readonly client: Client;
  private readonly iterator: AsyncIterableIterator<ExecutionResult<Record<string, E>>>;
  private cursor = 0;
  private finished: StreamEnd | undefined;
  private wake: () => void = () => {};

  constructor(origin: string, document: string, variables: Record<string, unknown>, options: SubscribeOptions = {}) {
    const single = options.singleConnection ?? false;
    this.client = createClient({
      url: `${origin}${single ? "/graphql/stream" : "/graphql"}`,
      singleConnection: single,
      retryAttempts: 0,
      headers: options.token === undefined ? undefined : { authorization: `Bearer ${options.token}` },
    });
    this.iterator = this.client.iterate({ query: document, variables }) as AsyncIterableIterator<ExecutionResult<Record<string, E>>>;
    this.ended = this.pump();
  }

  /** The next results, in order, each handed out once; rejects after timeoutMs with what arrived. */
  async take(options: TakeResultsOptions<E> = {}): Promise<StreamResult<E>[]> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = performance.now() + timeoutMs;
    const start = this.cursor;
    const wanted = () => {
      const available = this.results.slice(start);
      if (options.until) {
        const index = available.findIndex(options.until);
        return index === -1 ? undefined : index + 1;
      }
      return available.length >= (options.count ?? 1) ? (options.count ?? 1) : undefined;
    };
    for (;;) {
      const n = wanted();
      if (n !== undefined) {
        this.cursor = start + n;
        return this.results.slice(start, start + n);
      }
      const pending = JSON.stringify(this.results.slice(start).map(summarize));
      if (this.finished) throw new Error(`stream ended (${String(this.finished.error ?? "complete")}) after ${pending}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms; got ${pending}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** take() of events only: throws if a result carries errors instead. */
  async events(options: TakeResultsOptions<E> = {}): Promise<E[]> {
    const results = await this.take(options);
    const failed = results.find((r) => r.errors);
    if (failed) throw new Error(`expected events, got errors ${JSON.stringify(failed.errors)}`);
    return results.map((r) => r.event as E);
  }

  /** Results received and not yet taken. */
  get untaken(): StreamResult<E>[] {
    return this.results.slice(this.cursor);
  }

  close(): void {
    void this.iterator.return?.();
    this.client.dispose();
  }

  private async pump(): Promise<StreamEnd> {
    try {
      for await (const result of this.iterator) {
        const errors = result.errors as GraphqlError[] | undefined;
        const event = result.data ? Object.values(result.data)[0] : undefined;
        this.results.push({ ...(event ? { event } : {}), ...(errors ? { errors } : {}) });
        this.wake();
      }
      this.finished = {};
    } catch (error) {
      const response = error instanceof NetworkError ? error.response : undefined;
      const refusal = response && { status: response.status, body: await response.text().catch(() => "") };
      this.finished = { error, ...(refusal ? { refusal } : {}) };
    }
    this.wake();
    return this.finished;
  }
}

/** "PodAdded web-1 CLUSTER_CHANGE", "DaskClusterUpdated analysis [workers]", "StreamError FORBIDDEN", "errors FORBIDDEN". */
export function summarize(result: StreamResult<UnionEvent>): string {
  if (result.errors) return `errors ${result.errors.map((e) => e.extensions?.code ?? e.message).join(",")}`;
  const event = result.event as UnionEvent;
  const object = ["pod", "ide", "cluster", "workerGroup", "autoscaler", "job"]
    .map((f) => event[f] as { name?: string } | undefined)
    .find(Boolean);
  const parts = [event.__typename, object?.name ?? event.count ?? event.resource ?? event.code];
  if (event.cause) parts.push(event.cause);
  if (Array.isArray(event.changedFields)) parts.push(`[${[...event.changedFields].sort().join(",")}]`);
  return parts.map(String).join(" ");
}

export const isComplete = (result: StreamResult<UnionEvent>) => result.event?.__typename === "InitialStateComplete";

export interface GraphqlResponse {
  status: number;
  contentType: string;
  headers: Headers;
  /** Parsed JSON when the response is JSON, else the text. */
  body: { data?: unknown; errors?: GraphqlError[] } | string;
}

/** One request with fetch, read to the end: for refusals and for queries. */
export async function graphqlRequest(
  origin: string,
  options: { path?: string; method?: string; headers?: Record<string, string>; body?: unknown; timeoutMs?: number } = {},
): Promise<GraphqlResponse> {
  const response = await fetch(`${origin}${options.path ?? "/graphql"}`, {
    method: options.method ?? "POST",
    headers: { "content-type": "application/json", ...options.headers },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const contentType = response.headers.get("content-type") ?? "";
  const text = await response.text();
  return {
    status: response.status,
    contentType,
    headers: response.headers,
    body: contentType.includes("json") ? (JSON.parse(text) as { errors?: GraphqlError[] }) : text,
  };
}

/** The error codes of a JSON response, or of nothing. */
export function errorCodes(response: GraphqlResponse): (string | undefined)[] {
  return typeof response.body === "string" ? [] : (response.body.errors ?? []).map((e) => e.extensions?.code);
}

/**
 * The GraphQL errors in a refused request's body, whether JSON or text/event-stream (yoga answers a
 * request that asked for event-stream in that format even when it refuses it with a 4xx).
 */
export function refusalErrors(body: string): GraphqlError[] {
  const json = (text: string) => (JSON.parse(text) as { errors?: GraphqlError[] }).errors ?? [];
  if (body.trimStart().startsWith("{")) return json(body);
  return body
    .split("\n")
    .filter((line) => line.startsWith("data:") && line.slice(5).trim() !== "")
    .flatMap((line) => json(line.slice(5)));
}
