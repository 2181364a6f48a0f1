// A GraphQL-over-SSE subscriber for any of kubesub's subscription fields, as a client sees it:
// each result with its data or its errors (extensions included), read continuously in the
// background, handed out in order with bounded waits. Also plain GraphQL requests over fetch, for
// what happens before a stream opens (status codes, refusals).
import { type Client, createClient, type ExecutionResult, NetworkError } from "graphql-sse";
import { Inbox } from "../helpers/streams.ts";

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
  /** Sent with every request, beside the token's (an authenticating proxy's, say). */
  headers?: Record<string, string>;
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
  /** Resolves when the server completes the stream or the connection fails. */
  readonly ended: Promise<StreamEnd>;
  private readonly inbox = new Inbox<StreamResult<E>>(summarize);
  private readonly client: Client;
  private readonly iterator: AsyncIterableIterator<ExecutionResult<Record<string, E>>>;

  constructor(origin: string, document: string, variables: Record<string, unknown>, options: SubscribeOptions = {}) {
    const single = options.singleConnection ?? false;
    this.client = createClient({
      url: `${origin}${single ? "/graphql/stream" : "/graphql"}`,
      singleConnection: single,
      retryAttempts: 0,
      headers: { ...options.headers, ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }) },
    });
    this.iterator = this.client.iterate({ query: document, variables }) as AsyncIterableIterator<ExecutionResult<Record<string, E>>>;
    this.ended = this.pump();
  }

  /** Every result received, taken or not. */
  get results(): StreamResult<E>[] {
    return this.inbox.items;
  }

  /** The next results, in order, each handed out once; rejects after timeoutMs with what arrived. */
  take(options: TakeResultsOptions<E> = {}): Promise<StreamResult<E>[]> {
    return this.inbox.take({ ...options, timeoutMs: options.timeoutMs ?? 10_000 });
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
    return this.inbox.untaken;
  }

  close(): void {
    void this.iterator.return?.();
    this.client.dispose();
  }

  private async pump(): Promise<StreamEnd> {
    let finished: StreamEnd;
    try {
      for await (const result of this.iterator) {
        const errors = result.errors as GraphqlError[] | undefined;
        const event = result.data ? Object.values(result.data)[0] : undefined;
        this.inbox.push({ ...(event ? { event } : {}), ...(errors ? { errors } : {}) });
      }
      finished = {};
    } catch (error) {
      const response = error instanceof NetworkError ? error.response : undefined;
      const refusal = response && { status: response.status, body: await response.text().catch(() => "") };
      finished = { error, ...(refusal ? { refusal } : {}) };
    }
    this.inbox.end(finished.error);
    return finished;
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
