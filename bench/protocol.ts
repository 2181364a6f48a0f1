// Messages between the benchmark's orchestrator (run.ts) and the processes it forks.

/** Orchestrator -> server process. */
export type ServerCommand =
  /** Change objects at this many events per second until "stop". */
  | { type: "start"; rate: number }
  | { type: "stop" }
  /** Reply with a ServerStats (after a garbage collection when gc is true). */
  | { type: "stats"; gc: boolean }
  | { type: "exit" };

/** Server process -> orchestrator. */
export type ServerMessage = { type: "ready"; port: number } | ({ type: "stats" } & ServerStats) | { type: "stopped"; emitted: number };

export interface ServerStats {
  rssBytes: number;
  heapUsedBytes: number;
  /** User + system CPU time of the process so far, in seconds. */
  cpuSeconds: number;
}

/** Orchestrator -> load generator. */
export type LoadCommand =
  /**
   * operationsPerStream: graphql-sse's single connection mode on url + "/stream", that many
   * subscriptions over each event stream, instead of one connection per subscription.
   */
  | { type: "connect"; url: string; subscribers: number; operationsPerStream?: number }
  /** Open this many subscriptions, wait for each to be ready, then close them all (warms the server up). */
  | { type: "warm"; url: string; subscribers: number }
  /** Start counting deliveries and latencies from now. */
  | { type: "measure" }
  /** Reply with a LoadReport. */
  | { type: "report" }
  | { type: "exit" };

/** Load generator -> orchestrator. */
export type LoadMessage =
  | { type: "connected"; subscribers: number; failed: number; ms: number }
  | { type: "warmed" }
  | ({ type: "report" } & LoadReport);

export interface LoadReport {
  deliveries: number;
  seconds: number;
  /** Latency quantiles in milliseconds, from the change's stamp to the frame's arrival. */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Streams that ended or failed while measured. */
  closed: number;
  /** Open streams that received at least one stamped change while measured. */
  receiving: number;
}

/** The label whose value carries the time, in ms since the epoch, when the change entered the server. */
export const stampLabel = "bench.kubesub.io/stamp";

export const benchProject = "bench";

export const benchSubscription = `subscription { podEvents(project: "${benchProject}") { __typename ... on PodUpdated { pod { name labels { key value } } } } }`;
