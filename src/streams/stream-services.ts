import type { Logger } from "pino";
import type { Clock } from "../clock.ts";
import type { FeedRegistry } from "./subscribers/shared-feed.ts";
import type { StreamLifetimes } from "./subscribers/stream-lifetimes.ts";
import type { StreamObserver } from "./subscribers/stream-observer.ts";
import type { SubscriptionLimits } from "./subscribers/subscription-limits.ts";
import type { ViewRegistry } from "./views/view-registry.ts";

/**
 * The services one kubesub process's streams and queries share (the views, the feeds, the
 * subscription limits, the metrics observer, the shutdown signal and the clock), with the
 * services they run by. Made once in app.ts; PodStreams, IdeStreams and DaskStreams each hold it.
 */
export interface StreamServices {
  views: ViewRegistry;
  /** Label (on pods and custom resources) that names the owning user. */
  userLabel: string;
  queueCapacity: number;
  /** How long streams and queries wait for their informers to sync. */
  syncTimeoutMs: number;
  /** Access is asked again this often while a stream lives; 0 turns re-checks off. */
  recheckIntervalMs: number;
  limits: SubscriptionLimits;
  feeds: FeedRegistry;
  observer: StreamObserver;
  /** Aborted when kubesub shuts down. */
  shutdown: AbortSignal;
  /** When streams end with MAX_LIFETIME (--max-stream-lifetime); undefined: never. */
  lifetimes?: StreamLifetimes;
  /** Times sync timeouts and access re-checks, and stamps observedAt. */
  clock: Clock;
  logger?: Logger;
}
