import { type Client, type ExecutionResult, NetworkError } from "graphql-sse";
import type { ControlEvent } from "./operations.ts";

/**
 * Where one subscription stands, as the page shows it:
 * - connecting: subscribed, the initial state has not been completed yet;
 * - live: InitialStateComplete arrived; every change shows as it happens;
 * - reconnecting: the stream ended (a retryable StreamError, a broken connection, a server that
 *   closed it) and a new subscription starts after retryInMs; what is on screen may be stale;
 * - error: kubesub refused the subscription (a GraphQL error, an HTTP 4xx) or ended it for good
 *   (a StreamError with retryable false). Nothing is retried until the page subscribes again.
 */
export type ConnectionState =
  | { phase: "connecting" }
  | { phase: "live" }
  | { phase: "reconnecting"; reason: string; attempt: number; retryInMs: number }
  | { phase: "error"; message: string };

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface LiveSubscriptionOptions<E extends { __typename: string }> {
  /** A graphql-sse client in distinct connections mode with retryAttempts 0: this class does the retrying. */
  client: Client;
  query: string;
  variables: Record<string, unknown>;
  /** The subscription's root field ("podEvents"): data[field] is the event. */
  field: string;
  /** Runs before every subscription, the first one and each retry: a fresh initial state follows. */
  onRestart: () => void;
  /** Every event of the union, InitialStateComplete and ResourceUnavailable included; StreamError is not passed on. */
  onEvent: (event: E) => void;
  /** Every change of state, with how many times this subscription has been started again so far. */
  onState: (state: ConnectionState, resubscribes: number) => void;
  /** Milliseconds to wait before retry number `attempt` (0 first). Default: 500 ms doubling to 10 s, plus up to 20 % jitter. */
  backoff?: (attempt: number) => number;
  /** Default: the global setTimeout and clearTimeout. */
  timers?: Timers;
}

export function defaultBackoff(attempt: number): number {
  const base = Math.min(10_000, 500 * 2 ** attempt);
  return Math.round(base * (1 + Math.random() * 0.2));
}

/**
 * One GraphQL subscription kept open for as long as the page wants it: snapshot then live, started
 * again with backoff whenever kubesub says it may help (a StreamError with retryable true:
 * OVERFLOW, SHUTTING_DOWN) or the connection breaks.
 *
 * Each (re)subscription is a generation; callbacks of an older generation are ignored, so a late
 * `complete` of a stream that already ended cannot start a second retry. stop() ends the current
 * stream and any pending retry; nothing is called after it.
 */
export class LiveSubscription<E extends { __typename: string }> {
  private readonly options: LiveSubscriptionOptions<E>;
  private readonly backoff: (attempt: number) => number;
  private readonly timers: Timers;
  private generation = 0;
  /** Consecutive retries without reaching live; reset by InitialStateComplete. */
  private attempt = 0;
  private resubscribes = 0;
  private dispose: (() => void) | undefined;
  private retryTimer: unknown;
  private stopped = false;

  constructor(options: LiveSubscriptionOptions<E>) {
    this.options = options;
    this.backoff = options.backoff ?? defaultBackoff;
    this.timers = options.timers ?? {
      setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
      clearTimeout: (handle) => globalThis.clearTimeout(handle as number),
    };
  }

  start(): void {
    this.subscribe();
  }

  stop(): void {
    this.stopped = true;
    this.generation += 1;
    this.timers.clearTimeout(this.retryTimer);
    this.dispose?.();
    this.dispose = undefined;
  }

  private subscribe(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    const current = () => generation === this.generation && !this.stopped;
    this.options.onRestart();
    if (this.attempt === 0 && this.resubscribes === 0) this.setState({ phase: "connecting" });
    this.dispose = this.options.client.subscribe<Record<string, E | ControlEvent>>(
      { query: this.options.query, variables: this.options.variables },
      {
        next: (result) => {
          if (current()) this.receive(result);
        },
        error: (error) => {
          if (!current()) return;
          const retryable = error instanceof NetworkError && !isRefusal(error.response?.status);
          if (retryable) this.retry(describeNetworkError(error));
          else this.fail(error instanceof Error ? error.message : String(error));
        },
        complete: () => {
          // kubesub ends every stream with a StreamError; a stream that simply ends was cut short
          // (a proxy, a restart), so subscribe again.
          if (current()) this.retry("the stream ended");
        },
      },
    );
  }

  private receive(result: ExecutionResult<Record<string, E | ControlEvent>, unknown>): void {
    if (result.errors?.length) {
      this.fail(result.errors.map((e) => e.message).join("; "));
      return;
    }
    const event = result.data?.[this.options.field];
    if (!event) return;
    if (event.__typename === "StreamError") {
      const { code, message, retryable } = event as Extract<ControlEvent, { __typename: "StreamError" }>;
      if (retryable) this.retry(`${code}: ${message}`);
      else this.fail(`${code}: ${message}`);
      return;
    }
    if (event.__typename === "InitialStateComplete") {
      this.attempt = 0;
      this.options.onEvent(event as E);
      this.setState({ phase: "live" });
      return;
    }
    this.options.onEvent(event as E);
  }

  private retry(reason: string): void {
    this.end();
    const retryInMs = this.backoff(this.attempt);
    this.attempt += 1;
    this.setState({ phase: "reconnecting", reason, attempt: this.attempt, retryInMs });
    this.retryTimer = this.timers.setTimeout(() => {
      this.resubscribes += 1;
      this.subscribe();
    }, retryInMs);
  }

  private fail(message: string): void {
    this.end();
    this.setState({ phase: "error", message });
  }

  /** Ends the current generation's stream; its remaining callbacks become no-ops. */
  private end(): void {
    this.generation += 1;
    this.dispose?.();
    this.dispose = undefined;
  }

  private setState(state: ConnectionState): void {
    this.options.onState(state, this.resubscribes);
  }
}

/** HTTP statuses that mean "this request will not succeed as it is": 4xx but timeouts and rate limits. */
function isRefusal(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function describeNetworkError(error: NetworkError): string {
  if (error.response) return `HTTP ${error.response.status} ${error.response.statusText}`.trim();
  return error.message || "the connection broke";
}
