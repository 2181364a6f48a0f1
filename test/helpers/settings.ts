// How kubesub's tests run it, in one place: kubesub's defaults (src/options.ts), except for the few
// settings below, which differ from production on purpose.
import { systemClock } from "../../src/clock.ts";
import { defaultSettings, type KubesubOverrides } from "../../src/options.ts";
import type { StreamServices } from "../../src/streams/stream-services.ts";
import { FeedRegistry } from "../../src/streams/subscribers/shared-feed.ts";
import { noObserver } from "../../src/streams/subscribers/stream-observer.ts";
import { SubscriptionLimits } from "../../src/streams/subscribers/subscription-limits.ts";
import type { ViewRegistry } from "../../src/streams/views/view-registry.ts";

/** The label test objects name their user with, and test servers and views read: kubesub's default. */
export const userLabel = defaultSettings.userLabel;

/** Where every test server (test/helpers/kubesub-server.ts) differs from kubesub's defaults, and why. */
export const testSettings = {
  /** A stream says what it cannot read within a test's patience (5 s), not after 30 s. */
  syncTimeoutMs: 5_000,
  /** An informer outlives its last stream for a whole test (60 s), so the test's next stream finds it warm; tests of the linger set their own. */
  informerLingerMs: 60_000,
  /**
   * A view closes with its last stream, releasing its informers at once, as the tests that count
   * informer leases expect; tests of resuming after the last stream left set their own.
   */
  historyLingerMs: 0,
  // Informers start with their first subscriber, so that a test sees which ones a stream opens.
  lazyInformers: true,
  /** A failed list or watch is retried within a second, not after up to 30 s. */
  retryMaxMs: 1_000,
  /** Shutdown is over within 2 s. */
  shutdownTimeoutMs: 2_000,
  security: {
    /** Access is not re-checked; tests of re-checks set their own interval. */
    recheckIntervalMs: 0,
    /** Tests open many streams as one caller (everyone is anonymous with auth none). */
    maxSubscriptionsPerIdentity: 1_000,
  },
} as const satisfies KubesubOverrides;

/**
 * The streams layer's settings as createKubesub derives them from the test settings, for tests of
 * the streams without a server.
 */
export function testStreamServices(views: ViewRegistry, overrides: Partial<StreamServices> = {}): StreamServices {
  return {
    views,
    userLabel,
    queueCapacity: defaultSettings.queueSize,
    syncTimeoutMs: testSettings.syncTimeoutMs,
    recheckIntervalMs: testSettings.security.recheckIntervalMs,
    limits: new SubscriptionLimits({
      perSubject: testSettings.security.maxSubscriptionsPerIdentity,
      total: defaultSettings.security.maxSubscriptions,
    }),
    feeds: new FeedRegistry(),
    observer: noObserver,
    shutdown: new AbortController().signal,
    clock: systemClock,
    ...overrides,
  };
}
