import type { Logger } from "pino";
import type { Clock } from "../clock.ts";
import type { FeedRegistry } from "./shared-feed.ts";
import type { StreamObserver } from "./stream-observer.ts";
import type { SubscriptionLimits } from "./subscription-limits.ts";
import type { ViewRegistry } from "./view-registry.ts";

/** What every domain's streams and queries need. */
export interface StreamSettings {
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
  /** Times sync timeouts and access re-checks, and stamps observedAt. */
  clock: Clock;
  logger?: Logger;
}
