// What the client tests share: kubesub on a fixed port that can be stopped and started again over
// the same in-memory cluster, graphql-sse options with short retries, and the re-subscribe loop a UI
// runs around a kubesub stream. The Apollo and urql adapters are in clients-apollo.ts and
// clients-urql.ts.
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import type { ClientOptions } from "graphql-sse";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { type RunningKubesub, startKubesub } from "./kubesub-server.ts";

/**
 * kubesub as an operator restarts it: stop() shuts the server down (open streams end with
 * StreamError SHUTTING_DOWN), start() brings a new one up on the same port over the same cluster,
 * so that clients keep their URL. The options are startKubesub's (test/helpers/kubesub-server.ts).
 */
export class RestartableKubesub {
  readonly cluster = new MemoryCluster();
  private running: RunningKubesub | undefined;
  private port = 0;

  /** http://127.0.0.1:PORT, fixed by the first start(). */
  get origin(): string {
    if (this.port === 0) throw new Error("kubesub has not started yet");
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts kubesub: on an ephemeral port the first time, on that same port after a stop(). */
  async start(): Promise<void> {
    if (this.running) throw new Error("kubesub is already running");
    const cluster = this.cluster;
    this.running = await startKubesub((type, namespace) => cluster.source(type, namespace), {}, this.port);
    this.port = Number(new URL(this.running.origin).port);
  }

  /** Shuts the running kubesub down; resolves once its port is free. Idempotent. */
  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.close();
  }
}

/**
 * graphql-sse client options for kubesub's two SSE endpoints. retryAttempts/retry cover the time
 * in which nothing answers (a restart): a connection refused or dropped is retried after 100 ms,
 * doubling up to 1 s, ten times (about 7 s in all) before the subscription fails. A stream the
 * server ends on purpose (complete) is not retried by graphql-sse: see ResubscribingStream.
 */
export function sseOptions(origin: string, mode: "distinct" | "single", retries?: ConnectionRetries): ClientOptions<boolean> {
  return {
    url: `${origin}${mode === "single" ? "/graphql/stream" : "/graphql"}`,
    singleConnection: mode === "single",
    retryAttempts: 10,
    retry: (retries) => delay(Math.min(1_000, 100 * 2 ** retries)),
    ...(retries ? { on: retries.listeners } : {}),
  };
}

/** Counts graphql-sse's connection retries (after a refused or dropped connection) and waits for them. */
export class ConnectionRetries {
  count = 0;
  private waiters: (() => void)[] = [];

  /** For graphql-sse's `on` option. */
  readonly listeners = {
    connecting: (reconnecting: boolean) => {
      if (!reconnecting) return;
      this.count += 1;
      for (const resolve of this.waiters.splice(0)) resolve();
    },
  };

  /** Resolves at the next retry; rejects when none comes within timeoutMs. */
  next(timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no connection retry within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One subscription's callbacks, as Apollo's Observable, urql's sources and graphql-sse call them. */
export interface StreamSink<T> {
  next(value: T): void;
  error(error: unknown): void;
  complete(): void;
}

/** Opens one subscription and returns what ends it. */
export type OpenStream<T> = (sink: StreamSink<T>) => () => void;

/** A GraphQL client as the tests use it: typed documents in, typed data out. */
export interface TypedClient {
  readonly name: string;
  query<TData, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
  ): Promise<TData>;
  subscription<TData, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
  ): OpenStream<TData>;
  /** Ends the client's subscriptions and connections. */
  dispose(): void;
}

/** What every kubesub event union has. */
interface KubesubEvent {
  __typename: string;
}

interface StreamErrorEvent {
  __typename: "StreamError";
  retryable: boolean;
}

const isStreamError = (event: KubesubEvent): event is StreamErrorEvent => event.__typename === "StreamError";

export interface ResubscribeOptions {
  /** The wait before the n-th re-subscription in a row (n from 0). Default: 50 ms, doubling, at most 1 s. */
  backoffMs?: (attempt: number) => number;
}

/**
 * A kubesub stream kept open the way a UI keeps it: when the stream ends with a retryable
 * StreamError (SHUTTING_DOWN, OVERFLOW) or completes, it subscribes again after a backoff and
 * receives a fresh initial state (Added INITIAL_STATE events, then InitialStateComplete, which also
 * resets the backoff). A StreamError that is not retryable (FORBIDDEN, UNAUTHENTICATED) ends it
 * after that event; a transport or GraphQL error ends it with that error.
 *
 * Every event of every subscription is yielded in order, StreamErrors included. return() ends the
 * current subscription and any pending re-subscription.
 */
export class ResubscribingStream<T extends KubesubEvent> implements AsyncIterableIterator<T> {
  /** How many times it has subscribed. */
  subscriptions = 0;
  private readonly buffer: T[] = [];
  private waiting: (() => void) | undefined;
  private failure: { error: unknown } | undefined;
  private ended = false;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private generation = 0;
  private readonly open: OpenStream<T>;
  private readonly backoffMs: (attempt: number) => number;

  constructor(open: OpenStream<T>, options: ResubscribeOptions = {}) {
    this.open = open;
    this.backoffMs = options.backoffMs ?? ((attempt) => Math.min(1_000, 50 * 2 ** attempt));
    this.subscribe();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      const value = this.buffer.shift();
      if (value !== undefined) return { done: false, value };
      if (this.failure) throw this.failure.error;
      if (this.ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  async return(): Promise<IteratorResult<T>> {
    this.end();
    return { done: true, value: undefined };
  }

  private subscribe(): void {
    const generation = ++this.generation;
    const current = () => generation === this.generation && !this.ended;
    this.subscriptions += 1;
    const unsubscribe = this.open({
      next: (event) => {
        if (!current()) return;
        this.push(event);
        if (event.__typename === "InitialStateComplete") this.attempt = 0;
        if (isStreamError(event)) {
          if (event.retryable) this.resubscribe();
          else this.end();
        }
      },
      complete: () => {
        if (current()) this.resubscribe();
      },
      error: (error) => {
        if (!current()) return;
        this.failure = { error };
        this.end();
      },
    });
    // A sink called back synchronously may already have ended this subscription.
    if (current()) this.unsubscribe = unsubscribe;
    else unsubscribe();
  }

  /** Ends the current subscription and subscribes again after the backoff. */
  private resubscribe(): void {
    this.generation += 1;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.timer = setTimeout(() => this.subscribe(), this.backoffMs(this.attempt++));
  }

  private push(event: T): void {
    this.buffer.push(event);
    this.wake();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}

/** Subscribes with a client and keeps the stream of one subscription field open across restarts. */
export function resubscribing<TData, TVariables extends Record<string, unknown>, T extends KubesubEvent>(
  client: TypedClient,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  field: (data: TData) => T,
): ResubscribingStream<T> {
  const open = client.subscription(document, variables);
  return new ResubscribingStream<T>((sink) =>
    open({ next: (data) => sink.next(field(data)), error: (error) => sink.error(error), complete: () => sink.complete() }),
  );
}
