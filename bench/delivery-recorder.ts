import { LatencyHistogram } from "./latency-histogram.ts";
import type { LoadReport } from "./protocol.ts";

/**
 * What a load generator counts between "measure" and "report": deliveries of stamped changes,
 * their latency from the stamp, and streams that ended meanwhile.
 */
export class DeliveryRecorder {
  measuring = false;
  private from = 0;
  private deliveries = 0;
  private closed = 0;
  private histogram = new LatencyHistogram();

  measure(): void {
    this.measuring = true;
    this.from = performance.now();
    this.deliveries = 0;
    this.closed = 0;
    this.histogram = new LatencyHistogram();
  }

  /** A change stamped at stampMs (ms since the epoch) arrived now. */
  delivered(stampMs: number): void {
    if (!this.measuring) return;
    this.deliveries += 1;
    this.histogram.record(Date.now() - stampMs);
  }

  streamClosed(): void {
    if (this.measuring) this.closed += 1;
  }

  /** The figures since measure(); stops measuring. */
  report(): LoadReport {
    this.measuring = false;
    const { histogram } = this;
    return {
      deliveries: this.deliveries,
      seconds: (performance.now() - this.from) / 1000,
      p50: histogram.quantile(0.5),
      p95: histogram.quantile(0.95),
      p99: histogram.quantile(0.99),
      max: histogram.max,
      closed: this.closed,
      receiving: 0,
    };
  }
}
