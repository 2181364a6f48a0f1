// Resuming kubesub subscriptions from a client: keep the cursor of the last event received and pass
// it as `after` whenever the subscription starts again (a network error, a kubesub restart, a
// laptop waking up), so that kubesub sends only the changes missed, then InitialStateComplete
// { resumed: true }, instead of a fresh snapshot. One re-subscribe loop (ResumableSubscription) over
// a small transport per client: graphql-sse (graphqlSseTransport), urql (./urql.ts) and Apollo
// Client (./apollo.ts). See README.md, "Resuming from a client".
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { type Client, NetworkError } from "graphql-sse";

/** What every member of kubesub's event unions has. */
export interface KubesubEvent {
  __typename: string;
  cursor?: string | null;
}

/** The one event of a subscription result: kubesub's subscriptions select one root field. */
export type EventOf<TData> = TData[keyof TData];

/** The StreamError member of a subscription's event union: the last event of a stream. */
export type StreamErrorOf<TData> = Extract<EventOf<TData>, { __typename: "StreamError" }>;

/** Variables of a kubesub subscription: its own, and `after`, which the helper fills in. */
export interface ResumableVariables {
  after?: string | null;
}

/** What a transport tells about one subscription. */
export interface TransportSink<TData> {
  next(data: TData): void;
  /** retryable: subscribing again may help (a broken connection, an HTTP 5xx); otherwise it ends the loop. */
  error(error: unknown, retryable: boolean): void;
  /** The server ended the stream (kubesub ends every stream with a StreamError, so it was cut short). */
  complete(): void;
}

/** Subscribes once, with these variables; returns what unsubscribes. */
export type Transport<TData, TVariables> = (variables: TVariables, sink: TransportSink<TData>) => () => void;

/**
 * Where the subscription stands:
 * - connecting: subscribed for the first time, InitialStateComplete has not arrived yet;
 * - live: InitialStateComplete arrived (resumed: no snapshot was sent, only the changes missed);
 * - reconnecting: the stream ended and a new subscription, with the last cursor, starts in retryInMs
 *   (and stays so until it is live again);
 * - error: kubesub refused the subscription or ended it for good; nothing is retried.
 * code, when known: the StreamError's code (SHUTTING_DOWN, FORBIDDEN...) or the first GraphQL
 * error's extensions.code (BAD_USER_INPUT...); absent for a network error.
 */
export type ResumableState =
  | { phase: "connecting"; after: string | undefined }
  | { phase: "live"; resumed: boolean }
  | { phase: "reconnecting"; reason: string; attempt: number; retryInMs: number; code?: string }
  | { phase: "error"; message: string; code?: string };

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ResumableOptions<TData, TVariables extends ResumableVariables> {
  transport: Transport<TData, TVariables>;
  /** The operation's variables; `after` is set on every subscription after the first event. */
  variables: TVariables;
  /**
   * Every event, in order, InitialStateComplete included, StreamError not. After a re-subscription
   * the events until InitialStateComplete are either a fresh snapshot (Added with cause
   * INITIAL_STATE, then resumed: false) or the changes missed (then resumed: true).
   */
  onEvent: (event: EventOf<TData>) => void;
  /** Every StreamError, retryable or not, before the loop subscribes again or ends. */
  onStreamError?: (event: StreamErrorOf<TData>) => void;
  /** Before every subscription, the first and each retry, with the `after` it passes (undefined: none). */
  onSubscribe?: (after: string | undefined) => void;
  onState?: (state: ResumableState) => void;
  /** The wait before retry number `attempt` (from 0). Default: 500 ms doubling to 10 s, plus up to 20 % jitter. */
  backoff?: (attempt: number) => number;
  /** A cursor to start from (kept from an earlier page, say). */
  after?: string;
  timers?: Timers;
}

export function defaultBackoff(attempt: number): number {
  return Math.round(Math.min(10_000, 500 * 2 ** attempt) * (1 + Math.random() * 0.2));
}

/**
 * One kubesub subscription kept open, resuming from its last cursor.
 *
 * Each (re)subscription is a generation; callbacks of an older one are ignored. A StreamError with
 * retryable true (SHUTTING_DOWN, OVERFLOW), a stream that completes and a retryable transport error
 * subscribe again after backoff(attempt) with `after` set to the last cursor received;
 * InitialStateComplete resets the attempts. A StreamError with retryable false, or another error,
 * ends it (state "error"). stop() ends the stream and any pending retry.
 */
export class ResumableSubscription<TData, TVariables extends ResumableVariables> {
  private readonly options: ResumableOptions<TData, TVariables>;
  private readonly backoff: (attempt: number) => number;
  private readonly timers: Timers;
  private last: string | undefined;
  private generation = 0;
  private attempt = 0;
  private unsubscribe: (() => void) | undefined;
  private timer: unknown;
  private stopped = false;
  /** How many times it has subscribed again. */
  resubscribes = 0;

  constructor(options: ResumableOptions<TData, TVariables>) {
    this.options = options;
    this.last = options.after;
    this.backoff = options.backoff ?? defaultBackoff;
    this.timers = options.timers ?? {
      setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
      clearTimeout: (handle) => globalThis.clearTimeout(handle as number),
    };
  }

  /** The cursor of the last event received: what the next subscription passes as `after`. */
  get cursor(): string | undefined {
    return this.last;
  }

  start(): this {
    this.subscribe();
    return this;
  }

  stop(): void {
    this.stopped = true;
    this.end();
    this.timers.clearTimeout(this.timer);
  }

  private subscribe(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    const current = () => generation === this.generation && !this.stopped;
    const after = this.last;
    this.options.onSubscribe?.(after);
    // A retry stays "reconnecting" until it is live again.
    if (this.resubscribes === 0) this.setState({ phase: "connecting", after });
    const variables = after === undefined ? this.options.variables : { ...this.options.variables, after };
    const unsubscribe = this.options.transport(variables, {
      next: (data) => {
        if (current()) this.receive(data);
      },
      error: (error, retryable) => {
        if (!current()) return;
        const message = error instanceof Error ? error.message || error.name : String(error);
        if (retryable) this.retry(message, errorCode(error));
        else this.fail(message, errorCode(error));
      },
      complete: () => {
        if (current()) this.retry("the stream ended");
      },
    });
    // A transport may call back synchronously and end this generation before returning.
    if (current()) this.unsubscribe = unsubscribe;
    else unsubscribe();
  }

  private receive(data: TData): void {
    const event = eventOf(data);
    if (!event) return;
    if (typeof event.cursor === "string") this.last = event.cursor;
    if (event.__typename === "StreamError") {
      const { code, message, retryable } = event as unknown as { code: string; message: string; retryable: boolean };
      this.options.onStreamError?.(event as StreamErrorOf<TData>);
      if (this.stopped) return;
      if (retryable) this.retry(`${code}: ${message}`, code);
      else this.fail(`${code}: ${message}`, code);
      return;
    }
    this.options.onEvent(event as EventOf<TData>);
    if (event.__typename === "InitialStateComplete") {
      this.attempt = 0;
      this.setState({ phase: "live", resumed: (event as { resumed?: boolean }).resumed === true });
    }
  }

  private retry(reason: string, code?: string): void {
    this.end();
    const retryInMs = this.backoff(this.attempt);
    this.attempt += 1;
    this.setState({ phase: "reconnecting", reason, attempt: this.attempt, retryInMs, ...(code === undefined ? {} : { code }) });
    this.timer = this.timers.setTimeout(() => {
      this.resubscribes += 1;
      this.subscribe();
    }, retryInMs);
  }

  private fail(message: string, code?: string): void {
    this.end();
    this.setState({ phase: "error", message, ...(code === undefined ? {} : { code }) });
  }

  private end(): void {
    this.generation += 1;
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    unsubscribe?.();
  }

  private setState(state: ResumableState): void {
    if (!this.stopped) this.options.onState?.(state);
  }
}

/** Subscribes and keeps the subscription open, resuming from its last cursor. */
export function resumable<TData, TVariables extends ResumableVariables>(
  options: ResumableOptions<TData, TVariables>,
): ResumableSubscription<TData, TVariables> {
  return new ResumableSubscription(options).start();
}

function eventOf(data: unknown): KubesubEvent | undefined {
  if (!data || typeof data !== "object") return undefined;
  const [event] = Object.values(data);
  return event && typeof event === "object" && "__typename" in event ? (event as KubesubEvent) : undefined;
}

/** HTTP statuses that mean "this request will not succeed as it is": 4xx but timeouts and rate limits. */
export function isRefusal(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/**
 * A network failure worth retrying: a graphql-sse NetworkError (no answer, a dropped stream, an
 * HTTP error other than a refusal), or fetch's own TypeError ("terminated", "fetch failed"), which
 * is how fetch reports a connection that broke, and which graphql-sse passes on as it is when an
 * event stream breaks under an operation it has just sent (a replica shutting down, say).
 */
export function isRetryableNetworkError(error: unknown): boolean {
  if (error instanceof NetworkError) return !isRefusal(error.response?.status);
  return error instanceof TypeError;
}

/** GraphQL errors of a result (BAD_USER_INPUT, TOO_MANY_SUBSCRIPTIONS...) as one Error. */
export class ResultErrors extends Error {
  readonly codes: string[];
  constructor(errors: readonly { message: string; extensions?: Record<string, unknown> }[]) {
    super(errors.map((error) => error.message).join("; "));
    this.name = "ResultErrors";
    this.codes = errors.map((error) => String(error.extensions?.code ?? ""));
  }
}

/** kubesub's codes of errors that may go away by themselves (README: the error table's retryable column). */
const retryableCodes = new Set(["TOO_MANY_SUBSCRIPTIONS", "SOURCE_UNAVAILABLE", "UNAVAILABLE", "REQUEST_TIMEOUT"]);

/**
 * The extensions.code of the first GraphQL error a transport reported: ResultErrors (graphql-sse),
 * urql's CombinedError (graphQLErrors) or Apollo's CombinedGraphQLErrors (errors); undefined for
 * anything else, a network error among them.
 */
export function errorCode(error: unknown): string | undefined {
  if (error instanceof ResultErrors) return error.codes[0] || undefined;
  if (!error || typeof error !== "object") return undefined;
  const errors = "graphQLErrors" in error ? error.graphQLErrors : "errors" in error ? error.errors : undefined;
  if (!Array.isArray(errors)) return undefined;
  const code = (errors[0] as { extensions?: Record<string, unknown> } | undefined)?.extensions?.code;
  return typeof code === "string" ? code : undefined;
}

export function isRetryableResult(errors: readonly { extensions?: Record<string, unknown> }[]): boolean {
  return errors.length > 0 && errors.every((error) => retryableCodes.has(String(error.extensions?.code ?? "")));
}

/**
 * graphql-sse's transport. graphql-sse retries a dropped connection (retryAttempts) with the request
 * it started with, which would send a stale `after` (and so changes the client already has, again):
 * once this subscription has received an event, such a retry is stopped and the stream reported as
 * ended, so that the loop subscribes again with the last cursor. Retries before any event (kubesub
 * not answering yet) are graphql-sse's, as configured.
 */
export function graphqlSseTransport<TData, TVariables extends ResumableVariables & Record<string, unknown>>(
  client: Client<boolean>,
  document: TypedDocumentNode<TData, TVariables>,
): Transport<TData, TVariables> {
  const query = print(document);
  return (variables, sink) => {
    let received = false;
    let dispose: (() => void) | undefined;
    let stale = false;
    dispose = client.subscribe<TData, TVariables>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length) sink.error(new ResultErrors(result.errors), isRetryableResult(result.errors));
          else if (result.data) {
            received = true;
            sink.next(result.data);
          }
        },
        error: (error) => sink.error(error, isRetryableNetworkError(error)),
        complete: () => sink.complete(),
      },
      {
        connecting: (reconnecting) => {
          if (!reconnecting || !received || stale) return;
          stale = true;
          dispose?.();
          sink.complete();
        },
      },
    );
    return () => {
      dispose?.();
      dispose = undefined;
    };
  };
}
