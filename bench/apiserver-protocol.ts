// Messages of the apiserver section of the benchmark (apiserver-baseline.ts) with the processes it
// forks besides bench/load-generator.ts: the pod writer and the watch-per-subscriber load.
import type { LoadCommand, LoadMessage } from "./protocol.ts";

/** Orchestrator -> writer (apiserver-writer.ts). */
export type WriterCommand =
  /** Patch one pod's stamp label this many times a second until "stop". */
  { type: "start"; rate: number } | { type: "stop" } | { type: "exit" };

/** Writer -> orchestrator. */
export type WriterMessage = { type: "ready" } | ({ type: "stopped" } & WriterReport);

export interface WriterReport {
  /** Patches sent since "start". */
  sent: number;
  /** Patches answered with 2xx. */
  ok: number;
  /** Patches that failed (non-2xx or transport error). */
  failed: number;
  /** Ticks skipped because too many patches were already in flight. */
  skipped: number;
  seconds: number;
  /** Round trip of the PATCH request, in ms: part of every latency figure (the stamp is taken before sending). */
  patchP50: number;
  patchP99: number;
}

/**
 * Orchestrator -> watch-per-subscriber load (apiserver-watch-load.ts). As LoadCommand, with a bound on
 * the connect phase; `url` is the namespace whose pods every subscriber lists and watches.
 */
export type WatchLoadCommand =
  | Exclude<LoadCommand, { type: "connect" }>
  | (Extract<LoadCommand, { type: "connect" }> & { timeoutMs: number; concurrency: number });

/** Watch load -> orchestrator. As LoadMessage, with what happened when the connect phase was cut short. */
export type WatchLoadMessage =
  | Exclude<LoadMessage, { type: "connected" }>
  | (Extract<LoadMessage, { type: "connected" }> & { timedOut: boolean; errors: string[] });
