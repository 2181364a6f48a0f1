// `npm run bench [-- --quick]`: kubesub against a raw SSE broadcaster, same machine, same
// subscriber counts, each server and the load generator in separate processes. Prints a markdown
// table and writes every figure to bench/results/latest.json.
// `npm run bench -- --apiserver [--quick]`: instead, kubesub against one list+watch per subscriber
// on a real etcd + kube-apiserver (apiserver-baseline.ts), merged into latest.json under "apiserver".
// `npm run bench -- --tenants [--quick]`: P projects x U users with authentication, every subscriber
// its own feed, against a raw broadcaster routing per topic (tenants.ts); bench/results/tenants.json.
// With --apiserver, kubesub alone with its reviews answered by a real control plane.
// `npm run bench -- --cache [--quick] [--baseline DIR]`: the informer cache's heap per pod and the
// time a project of many pods takes to its InitialStateComplete (cache-memory.ts);
// bench/results/cache-memory.json.
// `npm run bench -- --snapshot [--pods 50000] [--baseline DIR]`: a project of many realistic pods
// listed from a real kube-apiserver to InitialStateComplete, against the apiserver's own time
// (snapshot-apiserver.ts); bench/results/snapshot.json.
// --quick runs the tenants benchmark's small variant too, after its own table.
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { request, stats } from "./ipc.ts";
import type { LoadCommand, LoadMessage, LoadReport, ServerCommand, ServerMessage } from "./protocol.ts";

const quick = process.argv.includes("--quick");
/** --system kubesub: only that server. --profile DIR: write the server's CPU profile (.cpuprofile) there. */
const argument = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const onlySystem = argument("--system");
/** --subscribers N: one scenario of N subscribers instead of the usual sizes (see below). */
const subscribersArg = argument("--subscribers");
/**
 * --single-connection K: subscribers subscribe with graphql-sse's single connection mode, K
 * subscriptions over each event stream, so that N subscriptions need N / K connections (a process
 * holds one file descriptor per connection: see `ulimit -n`). Only kubesub serves it.
 */
const operationsPerStream = argument("--single-connection") === undefined ? undefined : Number(argument("--single-connection"));
const profileDir = argument("--profile");
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

// Opt-in, never part of --quick: the control plane alone takes a good part of its 60 s budget.
// (`--tenants --apiserver` is the tenants benchmark's, below.)
if (process.argv.includes("--apiserver") && !process.argv.includes("--tenants")) {
  const { runApiServerBench } = await import("./apiserver-baseline.ts");
  await runApiServerBench({ quick });
  process.exit(0);
}

// Opt-in too: `--cache [--quick] [--baseline DIR]`, realistic pods in the informer cache (cache-memory.ts).
if (process.argv.includes("--cache")) {
  const { runCacheBench } = await import("./cache-memory.ts");
  await runCacheBench({ quick, profileDir, baseline: argument("--baseline") });
  process.exit(0);
}

// Opt-in too: `--snapshot`, many pods from a real apiserver (snapshot-apiserver.ts).
if (process.argv.includes("--snapshot")) {
  const { runSnapshotBench } = await import("./snapshot-apiserver.ts");
  await runSnapshotBench({
    pods: Number(argument("--pods") ?? 50_000),
    repeats: Number(argument("--repeats") ?? 3),
    baseline: argument("--baseline"),
  });
  process.exit(0);
}

// Opt-in too: `--tenants [--quick]`, many projects and users, each subscriber its own feed (tenants.ts).
if (process.argv.includes("--tenants")) {
  const { runTenantsBench } = await import("./tenants.ts");
  await runTenantsBench({ quick, onlySystem, apiserver: process.argv.includes("--apiserver") });
  process.exit(0);
}

interface Scenario {
  subscribers: number;
  /** Changes per second the source makes. */
  rate: number;
  seconds: number;
}

/** Offered load: about 200,000 deliveries a second at every size (less for the smallest). */
const scenarios: Scenario[] = subscribersArg
  ? // About 200,000 offered deliveries a second, as at the other sizes, at least one change a second.
    // --rate R and --seconds S override the changes a second and the measured time.
    [
      {
        subscribers: Number(subscribersArg),
        rate: Number(argument("--rate") ?? Math.max(1, Math.round(200_000 / Number(subscribersArg)))),
        seconds: Number(argument("--seconds") ?? 15),
      },
    ]
  : quick
    ? [
        { subscribers: 100, rate: 500, seconds: 4 },
        { subscribers: 1_000, rate: 200, seconds: 5 },
      ]
    : [
        { subscribers: 100, rate: 1_000, seconds: 10 },
        { subscribers: 1_000, rate: 200, seconds: 10 },
        { subscribers: 10_000, rate: 20, seconds: 15 },
      ];

const systems = { raw: here("./raw-broadcaster.ts"), kubesub: here("./kubesub-server.ts") } as const;
type System = keyof typeof systems;

export interface Result extends Scenario, LoadReport {
  system: System;
  connected: number;
  connectMs: number;
  deliveriesPerSecond: number;
  /** Offered deliveries per second: rate x subscribers. */
  offeredPerSecond: number;
  cpuSecondsPer100k: number;
  idleBytesPerSubscriber: number;
  idleHeapBytesPerSubscriber: number;
  serverRssBytes: number;
}

/** Subscribers per load generator process: each holds one file descriptor per connection. */
const perLoadProcess = 15_000;
/** Subscriptions opened and closed before measuring, so that code compiled on first use is not counted per subscriber. */
const warmUp = 50;

async function measure(system: System, scenario: Scenario): Promise<Result> {
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const server = fork(systems[system], { execArgv: ["--expose-gc", ...profile], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const loads = Array.from({ length: Math.ceil(scenario.subscribers / perLoadProcess) }, () =>
    fork(here("./load-generator.ts"), { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  const share = (i: number) => Math.min(perLoadProcess, scenario.subscribers - i * perLoadProcess);
  try {
    const { port } = await request<Extract<ServerMessage, { type: "ready" }>>(server, {}, "ready");
    const url = `http://127.0.0.1:${port}/graphql`;
    await request(loads[0] as ChildProcess, { type: "warm", url, subscribers: warmUp } satisfies LoadCommand, "warmed");
    await new Promise((resolve) => setTimeout(resolve, 500)); // the warm-up's streams close
    const before = await stats(server, true);
    const started = Date.now();
    const parts = await Promise.all(
      loads.map((load, i) =>
        request<Extract<LoadMessage, { type: "connected" }>>(
          load,
          { type: "connect", url, subscribers: share(i), operationsPerStream } satisfies LoadCommand,
          "connected",
        ),
      ),
    );
    const connected = { subscribers: parts.reduce((sum, p) => sum + p.subscribers, 0), ms: Date.now() - started };
    const idle = await stats(server, true);
    server.send({ type: "start", rate: scenario.rate } satisfies ServerCommand);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // warm-up, not measured
    const start = await stats(server, false);
    for (const load of loads) load.send({ type: "measure" } satisfies LoadCommand);
    await new Promise((resolve) => setTimeout(resolve, scenario.seconds * 1_000));
    const end = await stats(server, false);
    const reports = await Promise.all(
      loads.map((load) => request<Extract<LoadMessage, { type: "report" }>>(load, { type: "report" } satisfies LoadCommand, "report")),
    );
    // Several load generators: counts add up; of the latencies, the worst of each quantile.
    const report: LoadReport = {
      deliveries: reports.reduce((sum, r) => sum + r.deliveries, 0),
      seconds: Math.max(...reports.map((r) => r.seconds)),
      p50: Math.max(...reports.map((r) => r.p50)),
      p95: Math.max(...reports.map((r) => r.p95)),
      p99: Math.max(...reports.map((r) => r.p99)),
      max: Math.max(...reports.map((r) => r.max)),
      closed: reports.reduce((sum, r) => sum + r.closed, 0),
      receiving: reports.reduce((sum, r) => sum + r.receiving, 0),
    };
    await request(server, { type: "stop" } satisfies ServerCommand, "stopped");
    const deliveriesPerSecond = report.deliveries / report.seconds;
    return {
      system,
      ...scenario,
      ...report,
      connected: connected.subscribers,
      connectMs: connected.ms,
      deliveriesPerSecond,
      offeredPerSecond: scenario.rate * scenario.subscribers,
      cpuSecondsPer100k: report.deliveries > 0 ? ((end.cpuSeconds - start.cpuSeconds) / report.deliveries) * 100_000 : Number.NaN,
      idleBytesPerSubscriber: (idle.rssBytes - before.rssBytes) / Math.max(1, connected.subscribers),
      idleHeapBytesPerSubscriber: (idle.heapUsedBytes - before.heapUsedBytes) / Math.max(1, connected.subscribers),
      serverRssBytes: end.rssBytes,
    };
  } finally {
    for (const load of loads) load.send({ type: "exit" } satisfies LoadCommand);
    server.send({ type: "exit" } satisfies ServerCommand);
    await Promise.all([...loads.map((load) => once(load, "exit")), once(server, "exit")]);
  }
}

const results: Result[] = [];
for (const scenario of scenarios) {
  const only = operationsPerStream === undefined ? onlySystem : "kubesub";
  for (const system of (Object.keys(systems) as System[]).filter((s) => only === undefined || s === only)) {
    const result = await measure(system, scenario);
    results.push(result);
    console.error(
      `${system} ${scenario.subscribers} subscribers: ${Math.round(result.deliveriesPerSecond)} deliveries/s, p99 ${result.p99} ms`,
    );
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits }) : "n/a");
const rows = results.map((r) => {
  const raw = results.find((o) => o.system === "raw" && o.subscribers === r.subscribers);
  const ratio = raw && r.system !== "raw" ? ` (${fmt(r.deliveriesPerSecond / raw.deliveriesPerSecond, 2)}x raw)` : "";
  return `| ${r.system} | ${fmt(r.subscribers)} | ${fmt(r.rate)}/s | ${fmt(r.deliveriesPerSecond)}${ratio} | ${fmt(r.offeredPerSecond)} | ${fmt(r.p50)} / ${fmt(r.p95)} / ${fmt(r.p99)} | ${fmt(r.cpuSecondsPer100k, 2)} | ${fmt(r.idleBytesPerSubscriber / 1024, 1)} / ${fmt(r.idleHeapBytesPerSubscriber / 1024, 1)} KiB | ${fmt(r.connected)} / ${fmt(r.receiving)} | ${fmt(r.closed)} |`;
});
const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${fmt(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;
const table = [
  `Machine: ${machine}${quick ? " (quick run)" : ""}`,
  "",
  "| server | subscribers | changes | deliveries/s | offered/s | latency p50 / p95 / p99 ms | CPU s per 100k deliveries | idle memory per subscriber (RSS / heap) | streams ready / receiving | streams lost |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows,
].join("\n");
console.log(table);
mkdirSync(here("./results"), { recursive: true });
if (subscribersArg) {
  // One size: a file of its own, beside the usual sizes' latest.json.
  const mode = operationsPerStream === undefined ? "" : `-single-connection-${operationsPerStream}`;
  const file = here(`./results/subscribers-${subscribersArg}${mode}.json`);
  writeFileSync(file, `${JSON.stringify({ machine, date: new Date().toISOString(), argv: process.argv.slice(2), results }, null, 2)}\n`);
} else {
  // The --apiserver section's figures stay until that section runs again.
  const latest = here("./results/latest.json");
  const apiserver = existsSync(latest) ? (JSON.parse(readFileSync(latest, "utf8")) as { apiserver?: unknown }).apiserver : undefined;
  writeFileSync(latest, `${JSON.stringify({ machine, quick, date: new Date().toISOString(), results, apiserver }, null, 2)}\n`);
}

// --quick also runs the tenants benchmark's small variant (20 projects x 5 users, about 20 s).
if (quick) {
  const { runTenantsBench } = await import("./tenants.ts");
  await runTenantsBench({ quick, onlySystem });
}
