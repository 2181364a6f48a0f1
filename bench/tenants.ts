// `npm run bench -- --tenants [--quick]`: the production shape. P projects x U users, one
// subscriber per (project, user), each running one of the example dashboard's operations (pods,
// IDEs, Dask: examples/operations) with its own variables and its own bearer token, so that no two
// subscribers share a feed; kubesub runs with --auth kubernetes, its TokenReview and
// SubjectAccessReview answered by in-process stubs after reviewLatencyMs (tenants-kubesub-server.ts).
// A random object of a random (project, user) changes at a fixed rate, stamped with its time; the
// change reaches that (project, user)'s subscriber when its operation shows it (tenants-layout.ts).
// The baseline is a raw broadcaster routing pre-serialised frames per (project, user) topic
// (tenants-raw-broadcaster.ts). Prints a markdown table and writes bench/results/tenants.json
// (under "full" or "quick").
// Full: 20 x 5, 100 x 10 and 1,000 x 10 at 1,000 changes/s (about 2 minutes); --quick: 20 x 5 at
// 500/s (about 20 s), which `npm run bench -- --quick` also runs after its own table.
// Every result is checked: deliveries of changes stamped in the window == the changes routed to a
// subscriber in it, none at the wrong subscriber, no stream lost.
import { fork } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { request, stats } from "./ipc.ts";
import type { ServerCommand, ServerMessage } from "./protocol.ts";
import type { TenantsLayout } from "./tenants-layout.ts";
import type { TenantsLoadCommand, TenantsLoadMessage, TenantsServerCommand, TenantsServerMessage } from "./tenants-protocol.ts";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Scenario extends TenantsLayout {
  /** Changes per second over all projects. */
  rate: number;
  /** Measured seconds, after a warm-up. */
  seconds: number;
}

/** Simulated apiserver round trip of each TokenReview and SubjectAccessReview (the stubs' answers wait this long). */
const reviewLatencyMs = 5;
const warmupMs = 1_000;
/** After the window: changes stamped in it that are still on their way arrive. */
const drainMs = 2_000;

const systems = { raw: here("./tenants-raw-broadcaster.ts"), kubesub: here("./tenants-kubesub-server.ts") } as const;
type System = keyof typeof systems;

export interface TenantsResult extends Scenario {
  system: System;
  subscribers: number;
  failed: number;
  connectMs: number;
  /** Streams per second from the first request to the last InitialStateComplete. */
  subscribesPerSecond: number;
  /** Changes made in the window, and those routed to a subscriber (what should be delivered). */
  changes: number;
  expected: number;
  deliveries: number;
  misrouted: number;
  deliveriesPerSecond: number;
  expectedPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  closed: number;
  cpuMsPerDelivery: number;
  cpuMsPerChange: number;
  idleHeapBytesPerSubscriber: number;
  idleRssBytesPerSubscriber: number;
  /** kubesub's RSS before any subscriber (its in-memory cluster included), and at the end of the window. */
  serverRssBeforeBytes: number;
  serverRssBytes: number;
}

async function measure(system: System, scenario: Scenario): Promise<TenantsResult> {
  const layout = { projects: scenario.projects, users: scenario.users };
  const server = fork(systems[system], [String(scenario.projects), String(scenario.users), String(reviewLatencyMs)], {
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const load = fork(here("./tenants-load-generator.ts"), { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    const { port } = await request<Extract<ServerMessage, { type: "ready" }>>(server, {}, "ready");
    const before = await stats(server, true);
    const connected = await request<Extract<TenantsLoadMessage, { type: "connected" }>>(
      load,
      { type: "connect", url: `http://127.0.0.1:${port}/graphql`, layout, system } satisfies TenantsLoadCommand,
      "connected",
    );
    const idle = await stats(server, true);
    server.send({ type: "start", rate: scenario.rate } satisfies ServerCommand);
    await sleep(warmupMs);
    load.send({ type: "measure" } satisfies TenantsLoadCommand);
    const start = await stats(server, false);
    const from = Date.now();
    await sleep(scenario.seconds * 1_000);
    const end = await stats(server, false);
    const to = Date.now();
    await sleep(drainMs);
    await request(server, { type: "stop" } satisfies ServerCommand, "stopped");
    const counts = await request<TenantsServerMessage>(server, { type: "counts", from, to } satisfies TenantsServerCommand, "counts");
    const report = await request<Extract<TenantsLoadMessage, { type: "report" }>>(
      load,
      { type: "report", from, to } satisfies TenantsLoadCommand,
      "report",
    );
    const seconds = (to - from) / 1000;
    const cpuMs = (end.cpuSeconds - start.cpuSeconds) * 1000;
    const subscribers = connected.subscribers;
    return {
      system,
      ...scenario,
      subscribers,
      failed: connected.failed,
      connectMs: connected.ms,
      subscribesPerSecond: subscribers / (connected.ms / 1000),
      changes: counts.changes,
      expected: counts.routed,
      deliveries: report.deliveries,
      misrouted: report.misrouted,
      deliveriesPerSecond: report.deliveries / seconds,
      expectedPerSecond: counts.routed / seconds,
      p50: report.p50,
      p95: report.p95,
      p99: report.p99,
      max: report.max,
      closed: report.closed,
      cpuMsPerDelivery: report.deliveries > 0 ? cpuMs / report.deliveries : Number.NaN,
      cpuMsPerChange: counts.changes > 0 ? cpuMs / counts.changes : Number.NaN,
      idleHeapBytesPerSubscriber: (idle.heapUsedBytes - before.heapUsedBytes) / Math.max(1, subscribers),
      idleRssBytesPerSubscriber: (idle.rssBytes - before.rssBytes) / Math.max(1, subscribers),
      serverRssBeforeBytes: before.rssBytes,
      serverRssBytes: end.rssBytes,
    };
  } finally {
    load.send({ type: "exit" } satisfies TenantsLoadCommand);
    server.send({ type: "exit" } satisfies ServerCommand);
    await Promise.all([once(load, "exit"), once(server, "exit")]);
  }
}

export async function runTenantsBench(options: { quick: boolean; onlySystem?: string }): Promise<void> {
  const { quick } = options;
  const scenarios: Scenario[] = quick
    ? [{ projects: 20, users: 5, rate: 500, seconds: 5 }]
    : [
        { projects: 20, users: 5, rate: 1_000, seconds: 10 },
        { projects: 100, users: 10, rate: 1_000, seconds: 15 },
        { projects: 1_000, users: 10, rate: 1_000, seconds: 15 },
      ];
  const results: TenantsResult[] = [];
  for (const scenario of scenarios) {
    for (const system of (Object.keys(systems) as System[]).filter((s) => options.onlySystem === undefined || s === options.onlySystem)) {
      const result = await measure(system, scenario);
      results.push(result);
      if (result.deliveries !== result.expected || result.misrouted > 0 || result.closed > 0 || result.failed > 0) {
        console.error(`${system} ${scenario.projects} x ${scenario.users}: NOT every expected delivery arrived, and only there`);
      }
      console.error(
        `${system} ${scenario.projects} x ${scenario.users}: ${result.deliveries} of ${result.expected} expected deliveries, p99 ${result.p99} ms, ${result.closed} lost, ${result.misrouted} misrouted`,
      );
    }
  }

  const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits }) : "n/a");
  const rows = results.map((r) => {
    const raw = results.find((o) => o.system === "raw" && o.projects === r.projects && o.users === r.users);
    const ratio = raw && r.system !== "raw" ? ` (${fmt(r.cpuMsPerDelivery / raw.cpuMsPerDelivery, 1)}x raw)` : "";
    return `| ${r.system} | ${r.projects} x ${r.users} | ${fmt(r.rate)}/s | ${fmt(r.subscribesPerSecond)}/s | ${fmt(r.deliveriesPerSecond)} of ${fmt(r.expectedPerSecond)} (${fmt(r.deliveries)} of ${fmt(r.expected)}) | ${fmt(r.p50)} / ${fmt(r.p95)} / ${fmt(r.p99)} | ${fmt(r.cpuMsPerDelivery, 3)}${ratio} / ${fmt(r.cpuMsPerChange, 3)} | ${fmt(r.idleHeapBytesPerSubscriber / 1024, 1)} KiB | ${fmt(r.serverRssBeforeBytes / 2 ** 20)} / ${fmt(r.serverRssBytes / 2 ** 20)} MiB | ${fmt(r.closed)} |`;
  });
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${fmt(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;
  const table = [
    `Machine: ${machine}${quick ? " (quick run)" : ""}; kubesub: --auth kubernetes, reviews answered by stubs after ${reviewLatencyMs} ms`,
    "",
    "| server | projects x users | changes | subscribe rate | deliveries/s of expected (in the window) | latency p50 / p95 / p99 ms | CPU ms per delivery / per change | idle heap per subscriber | RSS before subscribers / at the end | streams lost |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
  console.log(table);
  mkdirSync(here("./results"), { recursive: true });
  // The full and the quick run's figures are kept side by side: each run replaces only its own.
  const file = here("./results/tenants.json");
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
  const run = { machine, date: new Date().toISOString(), reviewLatencyMs, results };
  writeFileSync(file, `${JSON.stringify({ ...previous, [quick ? "quick" : "full"]: run }, null, 2)}\n`);
}
