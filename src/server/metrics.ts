import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { type Clock, systemClock } from "../clock.ts";
import type { InformerRegistry } from "../kube/informer-registry.ts";
import type { StreamObserver } from "../streams/subscribers/stream-observer.ts";
import { FastHistogram } from "./fast-histogram.ts";

/**
 * kubesub's Prometheus metrics (/metrics). Streams report through the StreamObserver this
 * implements; informers are read at scrape time; the auth caches count their own hits.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly authCache: Counter<"cache" | "result">;
  /** Requests kubesub sent to the apiserver, by verb (list pages, watches, discovery). */
  readonly apiserverRequests: Counter<"verb">;
  readonly observer: StreamObserver;
  private informers: InformerRegistry | undefined;

  /** The per-informer metrics read this registry at scrape time. */
  watchInformers(informers: InformerRegistry): void {
    this.informers = informers;
  }

  /** clock: the time that delivery latencies and informer ages are measured on. */
  constructor(clock: Clock = systemClock) {
    const self = this;
    const registry = this.registry;
    // Every name kubesub serves starts with kubesub_ once, Node.js's process metrics too:
    // kubesub_process_cpu_seconds_total, kubesub_nodejs_heap_size_used_bytes...
    collectDefaultMetrics({ register: registry, prefix: "kubesub_" });
    const active = new Gauge({
      name: "kubesub_subscriptions_active",
      help: "Open subscriptions, by field.",
      labelNames: ["field"],
      registers: [registry],
    });
    // The per-delivery figures are kept in plain numbers and handed to prom-client at scrape time.
    const deliveredByField = new Map<string, number>();
    new Counter({
      name: "kubesub_events_delivered_total",
      help: "Events handed to subscribers' transports, by field.",
      labelNames: ["field"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [field, total] of deliveredByField) this.inc({ field }, total);
      },
    });
    const depth = new FastHistogram({
      name: "kubesub_subscriber_queue_depth_events",
      help: "Events still queued for a subscriber when one is delivered, by field.",
      label: "field",
      buckets: [0, 1, 2, 5, 10, 50, 100, 500, 1000, 5000],
      registry,
    });
    const overflows = new Counter({
      name: "kubesub_subscriber_overflows_total",
      help: "Streams ended with OVERFLOW because their client read too slowly.",
      labelNames: ["field"],
      registers: [registry],
    });
    const latency = new FastHistogram({
      name: "kubesub_event_delivery_latency_seconds",
      help: "From kubesub observing a change to handing the event to a subscriber's transport, by field.",
      label: "field",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registry,
    });
    this.apiserverRequests = new Counter({
      name: "kubesub_apiserver_requests_total",
      help: "Requests kubesub sent to the apiserver for its informers, by verb: list (a page), watch, discovery.",
      labelNames: ["verb"],
      registers: [registry],
    });
    this.authCache = new Counter({
      name: "kubesub_auth_cache_lookups_total",
      help: "TokenReview and SubjectAccessReview cache lookups, by cache and result (hit or miss).",
      labelNames: ["cache", "result"],
      registers: [registry],
    });
    // Every subscriber of a change gets the same observedAt: parse it once, not once per delivery.
    let observedAtText = "";
    let observedAtMs = 0;
    const observedAt = (text: string) => {
      if (text !== observedAtText) {
        observedAtText = text;
        observedAtMs = Date.parse(text);
      }
      return observedAtMs;
    };
    this.observer = {
      opened: (field) => active.inc({ field }),
      closed: (field) => active.dec({ field }),
      overflowed: (field) => overflows.inc({ field }),
      delivered: (field, event, queueDepth) => {
        deliveredByField.set(field, (deliveredByField.get(field) ?? 0) + 1);
        depth.observe(field, queueDepth);
        const change =
          event.type === "updated" || ((event.type === "added" || event.type === "deleted") && event.cause !== "INITIAL_STATE");
        if (change) {
          latency.observe(field, Math.max(0, clock.now() - observedAt(event.observedAt)) / 1000);
        }
      },
    };

    type Entry = ReturnType<InformerRegistry["snapshot"]>[number];
    const perInformerGauge = (name: string, help: string, value: (entry: Entry) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["informer"],
        registers: [registry],
        collect() {
          this.reset();
          for (const entry of self.informers?.snapshot() ?? []) this.set({ informer: entry.key }, value(entry));
        },
      });
    // The informer's own tally, which only grows while it lives, handed over as a counter.
    const perInformerCounter = (name: string, help: string, value: (entry: Entry) => number) =>
      new Counter({
        name,
        help,
        labelNames: ["informer"],
        registers: [registry],
        collect() {
          this.reset();
          for (const entry of self.informers?.snapshot() ?? []) this.inc({ informer: entry.key }, value(entry));
        },
      });
    perInformerGauge("kubesub_informer_synced", "1 when the informer's cache holds a complete list.", (e) =>
      e.informer.hasSynced ? 1 : 0,
    );
    perInformerGauge("kubesub_informer_references", "Views using the informer.", (e) => e.references);
    perInformerCounter(
      "kubesub_informer_watch_restarts_total",
      "Watches restarted after a failure or a silent connection.",
      (e) => e.informer.status.watchRestarts,
    );
    perInformerCounter(
      "kubesub_informer_relists_total",
      "Lists after the first (410 Gone, or recovery).",
      (e) => e.informer.status.relists,
    );
    perInformerGauge("kubesub_informer_last_event_age_seconds", "Seconds since the informer's last list or change event.", (e) => {
      const at = e.informer.status.lastEventAt;
      return at === 0 ? Number.NaN : (clock.now() - at) / 1000;
    });
  }
}
