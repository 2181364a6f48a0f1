import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { systemClock } from "./clock.ts";
import { slimProtobufDecoderFor } from "./domain/pod-protobuf.ts";
import { slimTransformFor } from "./domain/slim.ts";
import { InformerRegistry } from "./kube/informer-registry.ts";
import { watchedResources } from "./kube/resources.ts";
import type { KubesubOptions } from "./options.ts";
import { buildSchema } from "./schema/index.ts";
import { requestAuthenticator } from "./server/auth/request-authenticator.ts";
import { createHttpEdge } from "./server/http-edge.ts";
import { Metrics } from "./server/metrics.ts";
import { checkReadiness } from "./server/readiness.ts";
import { createKubesubYoga } from "./server/yoga.ts";
import { DaskStreams } from "./streams/dask-streams.ts";
import { IdeStreams } from "./streams/ide-streams.ts";
import { PodStreams } from "./streams/pod-streams.ts";
import type { StreamServices } from "./streams/stream-services.ts";
import { FeedRegistry } from "./streams/subscribers/shared-feed.ts";
import { StreamLifetimes } from "./streams/subscribers/stream-lifetimes.ts";
import { SubscriptionLimits } from "./streams/subscribers/subscription-limits.ts";
import { ViewRegistry } from "./streams/views/view-registry.ts";

export interface Kubesub {
  readonly server: Server;
  readonly registry: InformerRegistry;
  readonly views: ViewRegistry;
  /** Subscriptions open now, over every transport. */
  readonly openStreams: number;
  /** Resolves once no subscription is open. */
  streamsDrained(): Promise<void>;
  listen(port: number, host: string): Promise<AddressInfo>;
  /**
   * Stops accepting connections, ends every open stream with a SHUTTING_DOWN event, stops the
   * informers and closes the remaining connections, within shutdownTimeoutMs. Idempotent.
   */
  shutdown(): Promise<void>;
}

/** Wires kube -> streams -> schema -> server for one cluster source. */
/** An informer's change log holds as many changes as this many views' histories (--history-size). */
const changeLogViews = 10;

export function createKubesub(options: KubesubOptions): Kubesub {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const shutdownController = new AbortController();
  const registry = new InformerRegistry({
    sources: options.sources,
    lingerMs: options.informerLingerMs,
    scope: options.watchScope,
    informer: {
      inactivityTimeoutMs: options.watchInactivityTimeoutMs,
      backoff: { maxMs: options.retryMaxMs },
      // Enough of every informer's recent changes for a view that starts to begin where a client's
      // cursor is (rewound-informer.ts): ten views' histories' worth, as old as one's.
      changeLog: { size: options.historySize * changeLogViews, ageMs: options.historyAgeMs },
    },
    // Objects are cached reduced to what the models read (src/domain/slim.ts).
    transformFor: options.transformFor ?? slimTransformFor,
    // Pods are listed in protobuf, decoded as far as slimPod reads (src/domain/pod-protobuf.ts).
    protobufDecoderFor: options.transformFor ? undefined : slimProtobufDecoderFor,
    logger,
    clock,
  });
  // In cluster scope, every informer runs from the start (one list per resource), not from its
  // first subscriber: a replica is ready only once it has read the cluster, and its change logs then
  // reach back before any cursor a client brings from another replica (rewound-informer.ts).
  if (options.watchScope === "cluster" && !options.lazyInformers) for (const type of watchedResources) registry.acquire(type, "");
  const views = new ViewRegistry(registry, logger, {
    history: { size: options.historySize, ageMs: options.historyAgeMs },
    lingerMs: options.historyLingerMs,
    clock,
  });
  const metrics = options.metrics ?? new Metrics(clock);
  metrics.watchInformers(registry);
  const subscriptions = new SubscriptionLimits({
    perSubject: options.security.maxSubscriptionsPerIdentity,
    total: options.security.maxSubscriptions,
  });
  const streamServices: StreamServices = {
    views,
    userLabel: options.userLabel,
    queueCapacity: options.queueSize,
    syncTimeoutMs: options.syncTimeoutMs,
    recheckIntervalMs: options.security.recheckIntervalMs,
    lifetimes: options.maxStreamLifetimeMs > 0 ? new StreamLifetimes(options.maxStreamLifetimeMs, clock) : undefined,
    feeds: new FeedRegistry(clock),
    observer: metrics.observer,
    limits: subscriptions,
    shutdown: shutdownController.signal,
    clock,
    logger,
  };
  const services = {
    pods: new PodStreams(streamServices),
    ides: new IdeStreams(streamServices, new Set(options.ideConventions)),
    dask: new DaskStreams(streamServices),
  };
  const { security } = options;
  const yoga = createKubesubYoga({
    schema: buildSchema(),
    services,
    logger,
    graphiql: security.graphiql,
    introspection: security.introspection,
    corsOrigins: security.corsOrigins,
    reservationTimeoutMs: security.reservationTimeoutMs,
    streamTokenKey: security.streamTokenKey,
    shutdown: shutdownController.signal,
    maxBufferedBytes: options.maxBufferedBytes,
    limits: security.limits,
    clock,
  });
  const server = createHttpEdge({
    yoga,
    readiness: () => checkReadiness({ registry, probeApiServer: options.probeApiServer }),
    authenticate: requestAuthenticator(options.auth, logger),
    logger,
    metrics: metrics.registry,
    maxBodyBytes: security.maxBodyBytes,
  });

  let shuttingDown: Promise<void> | undefined;
  const shutdown = async () => {
    const started = clock.now();
    shutdownController.abort();
    const closed = server.listening ? once(server, "close") : Promise.resolve();
    server.close();
    // Streams end at once on the abort; give them until the deadline to flush their last event.
    // Keep-alive connections between requests would carry a client's retry back to this server.
    const deadline = started + options.shutdownTimeoutMs;
    const closeIdle = clock.interval(() => server.closeIdleConnections(), 20);
    const timeout = new AbortController();
    await Promise.race([subscriptions.drained(), clock.sleep(options.shutdownTimeoutMs, timeout.signal)]);
    timeout.abort();
    closeIdle.cancel();
    server.closeIdleConnections();
    await clock.sleep(Math.min(100, Math.max(0, deadline - clock.now())));
    server.closeAllConnections();
    views.closeLingering();
    await Promise.all([closed, registry.close(), yoga.dispose()]);
    logger.info({ ms: clock.now() - started }, "shut down");
  };

  return {
    server,
    registry,
    views,
    get openStreams() {
      return subscriptions.total;
    },
    streamsDrained: () => subscriptions.drained(),
    async listen(port, host) {
      server.listen(port, host);
      await once(server, "listening");
      return server.address() as AddressInfo;
    },
    shutdown() {
      shuttingDown ??= shutdown();
      return shuttingDown;
    },
  };
}
