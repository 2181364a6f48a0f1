// The clients of the rolling restart scenario (rolling-restart.test.ts): what one podEvents stream
// has received, as a client keeping a map of pods would hold it, and a fleet of resuming clients
// (examples/client/resumable.ts over graphql-sse and urql, in both SSE modes) whose every event and
// state change is stamped, so that the test can wait on them and measure them.
import { createClient } from "graphql-sse";
import { graphqlSseTransport, type ResumableState, ResumableSubscription, type Transport } from "../../examples/client/resumable.ts";
import { urqlTransport } from "../../examples/client/urql.ts";
import { PodEventsDocument, type PodEventsSubscription, type PodEventsSubscriptionVariables } from "../../examples/generated/graphql.ts";
import { urqlClient } from "../helpers/clients-urql.ts";

export type PodEvent = PodEventsSubscription["podEvents"];
export interface StreamVariables {
  project: string;
  user?: string;
}

/** One variables' key, to pair a client with its reference stream. */
export const variablesKey = (v: StreamVariables) => `${v.project}/${v.user ?? "*"}`;

/** An event as compared between streams: everything but observedAt, which each process stamps. */
export const eventLine = (event: PodEvent) => JSON.stringify(event, (key, value) => (key === "observedAt" ? undefined : value));

/**
 * What one client has received over all its subscriptions. Events before an InitialStateComplete
 * are held until it says what they were: a snapshot (resumed: false), which replaces the pods, or
 * the changes missed (resumed: true), which are changes like any other. `changes` lists every
 * change in order (snapshots excluded): for a client that was never sent a snapshot again, exactly
 * what an uninterrupted stream received.
 */
export class StreamRecord {
  /** name -> the pod as last sent (its line). */
  readonly pods = new Map<string, string>();
  readonly changes: string[] = [];
  /** InitialStateComplete { resumed: false }: the first snapshot and every one sent again. */
  snapshots = 0;
  /** InitialStateComplete { resumed: true }. */
  resumes = 0;
  /** Subscriptions that ended in the middle of a snapshot (its pods are dropped). */
  cutSnapshots = 0;
  /** ResourceUnavailable and other unexpected events. */
  readonly problems: string[] = [];
  private staged: PodEvent[] = [];
  private live = false;

  /** Each snapshot sent again: the `after` its subscription passed, and the snapshot's own cursor. */
  readonly resent: { at: number; after: string | undefined; cursor: string }[] = [];
  private after: string | undefined;

  /** A new subscription starts, passing `after`. */
  subscribed(after?: string): void {
    this.after = after;
    if (!this.live && this.staged.length > 0) {
      // Cut before InitialStateComplete: changes missed are kept (the next `after` is past them),
      // a part of a snapshot is not.
      if (this.staged.some((e) => e.__typename === "PodAdded" && e.cause === "INITIAL_STATE")) this.cutSnapshots += 1;
      else for (const event of this.staged) this.apply(event);
    }
    this.staged = [];
    this.live = false;
  }

  receive(event: PodEvent): void {
    if (event.__typename === "InitialStateComplete") {
      if (event.resumed) {
        this.resumes += 1;
        for (const staged of this.staged) this.apply(staged);
      } else {
        this.snapshots += 1;
        if (this.snapshots > 1) this.resent.push({ at: performance.now(), after: this.after, cursor: event.cursor });
        this.pods.clear();
        for (const staged of this.staged) if (staged.__typename === "PodAdded") this.pods.set(staged.pod.name, JSON.stringify(staged.pod));
      }
      this.staged = [];
      this.live = true;
    } else if (!this.live) this.staged.push(event);
    else this.apply(event);
  }

  private apply(event: PodEvent): void {
    switch (event.__typename) {
      case "PodAdded":
      case "PodUpdated":
        this.changes.push(eventLine(event));
        this.pods.set(event.pod.name, JSON.stringify(event.pod));
        return;
      case "PodDeleted":
        this.changes.push(eventLine(event));
        this.pods.delete(event.pod.name);
        return;
      default:
        this.problems.push(eventLine(event));
    }
  }
}

/** Calls waiters back on every change it is told of; until() resolves once a condition holds. */
export class Notifier {
  private readonly waiters = new Set<() => void>();

  notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (check()) {
        resolve();
        return;
      }
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}

type PodTransport = Transport<PodEventsSubscription, PodEventsSubscriptionVariables>;

export interface ClientKind {
  name: string;
  connect(origin: string, headers: Record<string, string>): { transport: PodTransport; dispose(): void };
}

/**
 * graphql-sse's client as an application would configure it (its own retries, default options but
 * the URL, the mode and the credentials), and urql over graphql-sse with retryAttempts 0, as
 * examples/client/urql.ts asks: in both SSE modes, each client an instance of its own (a browser tab).
 */
export const clientKinds: ClientKind[] = [false, true].flatMap((single) => {
  const url = (origin: string) => `${origin}${single ? "/graphql/stream" : "/graphql"}`;
  const mode = single ? "single connection" : "distinct connections";
  return [
    {
      name: `graphql-sse, ${mode}`,
      connect: (origin: string, headers: Record<string, string>) => {
        const client = createClient({ url: url(origin), singleConnection: single, headers });
        return { transport: graphqlSseTransport(client, PodEventsDocument), dispose: () => client.dispose() };
      },
    },
    {
      name: `urql, ${mode}`,
      connect: (origin: string, headers: Record<string, string>) => {
        const client = urqlClient(origin, { url: url(origin), singleConnection: single, retryAttempts: 0, headers });
        return { transport: urqlTransport(client.urql, PodEventsDocument), dispose: () => client.dispose() };
      },
    },
  ];
});

export interface Transition {
  /** performance.now() */
  at: number;
  phase: ResumableState["phase"];
  detail: string;
}

/** One application's subscription: ResumableSubscription over a client kind, recorded. */
export class FleetClient {
  readonly record = new StreamRecord();
  readonly transitions: Transition[] = [];
  phase: ResumableState["phase"] = "connecting";
  private readonly subscription: ResumableSubscription<PodEventsSubscription, PodEventsSubscriptionVariables>;
  private readonly dispose: () => void;

  readonly index: number;
  readonly kind: ClientKind;
  readonly variables: StreamVariables;

  /** Subscribes at once, through origin, with these headers (its credentials); tells notifier of every event and state. */
  constructor(
    index: number,
    kind: ClientKind,
    variables: StreamVariables,
    origin: string,
    headers: Record<string, string>,
    notifier: Notifier,
  ) {
    this.index = index;
    this.kind = kind;
    this.variables = variables;
    const { transport, dispose } = kind.connect(origin, headers);
    this.dispose = dispose;
    this.subscription = new ResumableSubscription({
      transport,
      variables: variables,
      onSubscribe: (after) => this.record.subscribed(after),
      onEvent: (event) => {
        this.record.receive(event);
        notifier.notify();
      },
      onState: (state) => {
        this.phase = state.phase;
        const detail =
          state.phase === "reconnecting"
            ? state.reason
            : state.phase === "error"
              ? state.message
              : state.phase === "live"
                ? `resumed=${state.resumed}`
                : "";
        this.transitions.push({ at: performance.now(), phase: state.phase, detail });
        notifier.notify();
      },
    }).start();
  }

  /** When it first went live again after `since`, having lost its stream after `since`; undefined if it did not. */
  backAfter(since: number): { lostAt: number; liveAt: number | undefined } | undefined {
    const lost = this.transitions.findIndex((t) => t.at >= since && t.phase === "reconnecting");
    if (lost === -1) return undefined;
    const live = this.transitions.slice(lost).find((t) => t.phase === "live");
    return { lostAt: (this.transitions[lost] as Transition).at, liveAt: live?.at };
  }

  stop(): void {
    this.subscription.stop();
    this.dispose();
  }
}
