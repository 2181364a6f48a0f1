// A kubesub stream as keyed collections a UI can render: a ResumableSubscription (./resumable.ts,
// which keeps the cursor, subscribes again and says where the connection stands) feeding a
// CollectionStore (./collection-store.ts, which applies the events). Works over every transport
// of ./resumable.ts: graphql-sse, urql (./urql.ts) and Apollo Client (./apollo.ts). The three
// kubesub streams' definitions are in ./kubesub-streams.ts. See README.md, "Resuming from a client".
import {
  type AppliedChange,
  CollectionStore,
  type Collections,
  type CollectionView,
  type KeyOf,
  type ObjectChange,
  type Unavailable,
} from "./collection-store.ts";
import {
  type EventOf,
  type ResumableOptions,
  type ResumableState,
  ResumableSubscription,
  type ResumableVariables,
  type StreamErrorOf,
  type Transport,
} from "./resumable.ts";

/** The ResourceUnavailable member of a subscription's event union. */
export type UnavailableOf<TData> = Extract<EventOf<TData>, { __typename: "ResourceUnavailable" }> & Unavailable;

/** Which collections one stream fills, and what each change member of its union does to them. */
export interface StreamDefinition<TEvent, C> {
  /** Every collection the stream fills: each is there (empty) from the start. */
  collections: readonly (keyof C)[];
  /** The change an XAdded, XUpdated or XDeleted makes; undefined for any other member. */
  change(event: TEvent): ObjectChange<C> | undefined;
}

/** Everything a UI shows of one stream, at one moment. Never changed in place. */
export interface LiveSnapshot<TData, C> extends CollectionView<C, UnavailableOf<TData>> {
  /** Grows with every change of anything below: two snapshots with the same version are the same object. */
  readonly version: number;
  /** connecting, live { resumed }, reconnecting { reason, code, retryInMs }, or error { message, code }: stopped for good. */
  readonly connection: ResumableState;
  /** The last StreamError received, retryable (SHUTTING_DOWN, OVERFLOW) or not (FORBIDDEN, UNAUTHENTICATED). */
  readonly lastStreamError: StreamErrorOf<TData> | undefined;
  /** How many times the stream has been subscribed again. */
  readonly resubscribes: number;
}

/**
 * What a listener is told, with each new snapshot:
 * - snapshot: a fresh snapshot replaced every collection (compare the maps to see what changed);
 * - changes: these changes were applied, in order (one live change, or at a resumed
 *   InitialStateComplete the changes missed);
 * - state: only the connection, the unavailable resources or lastStreamError changed.
 */
export type LiveUpdate<C> = { kind: "snapshot" } | { kind: "changes"; changes: readonly AppliedChange<C>[] } | { kind: "state" };

export interface LiveCollectionOptions<TData, TVariables extends ResumableVariables, C>
  extends Pick<ResumableOptions<TData, TVariables>, "backoff" | "after" | "timers"> {
  transport: Transport<TData, TVariables>;
  /** The operation's variables; `after` is set on every re-subscription. */
  variables: TVariables;
  stream: StreamDefinition<EventOf<TData>, C>;
  /** The key of an object in its collection. Default: namespacedName ("team-a/etl-1"). */
  key?: KeyOf<C>;
}

/**
 * One kubesub stream kept as keyed collections (Map<key, object> per collection).
 *
 * Contract, for a UI:
 * - a subscription that is not resumed (the first, or any after which kubesub answers
 *   InitialStateComplete { resumed: false }) builds a new snapshot from its events, which replaces
 *   the collections only at InitialStateComplete: a reconnect never shows a half-filled table, and
 *   objects deleted while the client was away are gone;
 * - a resumed subscription (InitialStateComplete { resumed: true }) applies the changes missed to
 *   the collections as they are, also at InitialStateComplete; if it is cut off before, the changes
 *   it received are kept and applied with those of the next one (which resumes after them), or
 *   dropped if that one gets a fresh snapshot;
 * - after that, XAdded and XUpdated replace the object under its key and XDeleted removes it, as
 *   they arrive; coalesced events (one for several changes of a slow reader) are no different;
 * - until InitialStateComplete, the collections shown are the last complete ones (empty at first,
 *   with loaded false), and connection says connecting or reconnecting;
 * - ResourceUnavailable is kept in `unavailable` (resource -> the event: reason, message) until
 *   an object of that resource arrives or a later subscription no longer reports it;
 * - a retryable StreamError, a dropped connection or an HTTP 5xx subscribe again with the last
 *   cursor (ResumableSubscription's backoff); a StreamError that is not retryable (FORBIDDEN,
 *   UNAUTHENTICATED) or a GraphQL error (BAD_USER_INPUT) stops it: connection is
 *   { phase: "error", message, code }, the collections stay as last shown.
 *
 * subscribe(listener) tells every new snapshot (synchronously, as events arrive); getSnapshot()
 * returns the same object until the next one, so it suits React's useSyncExternalStore as it is.
 */
export class LiveCollection<TData, TVariables extends ResumableVariables, C extends Collections<C>> {
  private readonly store: CollectionStore<C, UnavailableOf<TData>>;
  private readonly stream: StreamDefinition<EventOf<TData>, C>;
  private readonly subscription: ResumableSubscription<TData, TVariables>;
  private readonly listeners = new Set<(update: LiveUpdate<C>, snapshot: LiveSnapshot<TData, C>) => void>();
  private connection: ResumableState = { phase: "connecting", after: undefined };
  private lastStreamError: StreamErrorOf<TData> | undefined;
  private version = 0;
  private current: LiveSnapshot<TData, C> | undefined;

  constructor(options: LiveCollectionOptions<TData, TVariables, C>) {
    this.stream = options.stream;
    this.store = new CollectionStore<C, UnavailableOf<TData>>(options.stream.collections, options.key);
    this.subscription = new ResumableSubscription<TData, TVariables>({
      transport: options.transport,
      variables: options.variables,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.after !== undefined ? { after: options.after } : {}),
      ...(options.timers ? { timers: options.timers } : {}),
      onSubscribe: () => this.store.begin(),
      onEvent: (event) => this.receive(event),
      onStreamError: (event) => {
        this.lastStreamError = event;
        this.changed({ kind: "state" });
      },
      onState: (state) => {
        this.connection = state;
        this.changed({ kind: "state" });
      },
    });
  }

  start(): this {
    this.subscription.start();
    return this;
  }

  /** Ends the stream and any pending retry; the last snapshot stays readable, listeners are no longer told. */
  stop(): void {
    this.subscription.stop();
    this.listeners.clear();
  }

  /** The cursor of the last event received. */
  get cursor(): string | undefined {
    return this.subscription.cursor;
  }

  /** Calls listener with every new snapshot; returns what unsubscribes it. */
  subscribe = (listener: (update: LiveUpdate<C>, snapshot: LiveSnapshot<TData, C>) => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The current snapshot: the same object until something changes. */
  getSnapshot = (): LiveSnapshot<TData, C> => {
    this.current ??= {
      ...this.store.view(),
      version: this.version,
      connection: this.connection,
      lastStreamError: this.lastStreamError,
      resubscribes: this.subscription.resubscribes,
    };
    return this.current;
  };

  private receive(event: EventOf<TData>): void {
    const member = event as { __typename: string; resumed?: boolean };
    if (member.__typename === "InitialStateComplete") {
      const completion = this.store.complete(member.resumed === true);
      this.changed(completion);
      return;
    }
    if (member.__typename === "ResourceUnavailable") {
      if (this.store.resourceUnavailable(event as UnavailableOf<TData>)) this.changed({ kind: "state" });
      return;
    }
    const change = this.stream.change(event);
    if (!change) return;
    const applied = this.store.change(change);
    if (applied) this.changed({ kind: "changes", changes: [applied] });
  }

  private changed(update: LiveUpdate<C>): void {
    this.version += 1;
    this.current = undefined;
    if (this.listeners.size === 0) return;
    const snapshot = this.getSnapshot();
    for (const listener of this.listeners) listener(update, snapshot);
  }
}
