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
// `--tenants --apiserver`: the same scenarios, kubesub only, its reviews answered by a real
// kube-apiserver (tools/control-plane): every subscriber is a ServiceAccount of its own with a
// TokenRequest token, allowed to read every project by one ClusterRoleBinding to their group; the
// objects stay in the in-memory cluster. Figures under "apiserver-full" / "apiserver-quick".
// Every result is checked: deliveries of changes stamped in the window == the changes routed to a
// subscriber in it, none at the wrong subscriber, no stream lost.
import { fork } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalControlPlane, resolveBinaries } from "../test/helpers/control-plane-processes.ts";
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

/** With real reviews: the admin kubeconfig kubesub sends them with, and the subscribers' tokens. */
interface RealReviews {
  kubeconfigPath: string;
  tokensFile: string;
}

async function measure(system: System, scenario: Scenario, reviews?: RealReviews): Promise<TenantsResult> {
  const layout = { projects: scenario.projects, users: scenario.users };
  const args = [String(scenario.projects), String(scenario.users), String(reviewLatencyMs), ...(reviews ? [reviews.kubeconfigPath] : [])];
  const server = fork(systems[system], args, {
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const load = fork(here("./tenants-load-generator.ts"), { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    const { port } = await request<Extract<ServerMessage, { type: "ready" }>>(server, {}, "ready");
    const before = await stats(server, true);
    const connected = await request<Extract<TenantsLoadMessage, { type: "connected" }>>(
      load,
      {
        type: "connect",
        url: `http://127.0.0.1:${port}/graphql`,
        layout,
        system,
        tokensFile: reviews?.tokensFile,
      } satisfies TenantsLoadCommand,
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

export async function runTenantsBench(options: { quick: boolean; onlySystem?: string; apiserver?: boolean }): Promise<void> {
  const { quick } = options;
  if (options.apiserver) return runWithRealReviews(options);
  const scenarios = scenariosOf(quick);
  await runScenarios(scenarios, { quick, onlySystem: options.onlySystem });
}

function scenariosOf(quick: boolean): Scenario[] {
  return quick
    ? [{ projects: 20, users: 5, rate: 500, seconds: 5 }]
    : [
        { projects: 20, users: 5, rate: 1_000, seconds: 10 },
        { projects: 100, users: 10, rate: 1_000, seconds: 15 },
        { projects: 1_000, users: 10, rate: 1_000, seconds: 15 },
      ];
}

async function runScenarios(scenarios: Scenario[], options: { quick: boolean; onlySystem?: string; reviews?: RealReviews }): Promise<void> {
  const { quick, reviews } = options;
  const results: TenantsResult[] = [];
  for (const scenario of scenarios) {
    for (const system of (Object.keys(systems) as System[]).filter((s) => options.onlySystem === undefined || s === options.onlySystem)) {
      const result = await measure(system, scenario, reviews);
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
    `Machine: ${machine}${quick ? " (quick run)" : ""}; kubesub: --auth kubernetes, ${reviews ? "reviews answered by a real kube-apiserver v1.36.3, a ServiceAccount token per subscriber" : `reviews answered by stubs after ${reviewLatencyMs} ms`}`,
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
  const run = { machine, date: new Date().toISOString(), reviews: reviews ? "kube-apiserver" : `stubs, ${reviewLatencyMs} ms`, results };
  const key = `${reviews ? "apiserver-" : ""}${quick ? "quick" : "full"}`;
  writeFileSync(file, `${JSON.stringify({ ...previous, [key]: run }, null, 2)}\n`);
}

/**
 * The scenarios with kubesub's reviews answered by a real control plane: a ServiceAccount per
 * (project, user) of the largest layout, in one namespace, each with a TokenRequest token, and
 * one ClusterRoleBinding letting their group read pods, notebooks and Dask objects everywhere.
 */
async function runWithRealReviews(options: { quick: boolean }): Promise<void> {
  const plane = await LocalControlPlane.prepare({ binaries: resolveBinaries(), log: (m) => console.error(`control plane: ${m}`) });
  const onExit = () => plane.killNow();
  process.once("exit", onExit);
  try {
    await plane.start();
    await plane.stopApiServer("writer");
    const scenarios = scenariosOf(options.quick);
    const largest = scenarios.reduce((a, b) => (a.projects * a.users >= b.projects * b.users ? a : b));
    const started = Date.now();
    const tokens = await serviceAccountTokens(plane, largest.projects, largest.users);
    console.error(`tenants: ${Object.keys(tokens).length} ServiceAccount tokens in ${Math.round((Date.now() - started) / 1000)} s`);
    const tokensFile = join(plane.dir, "tenant-tokens.json");
    writeFileSync(tokensFile, JSON.stringify(tokens), { mode: 0o600 });
    await runScenarios(scenarios, {
      quick: options.quick,
      onlySystem: "kubesub",
      reviews: { kubeconfigPath: plane.kubeconfigPath, tokensFile },
    });
  } finally {
    await plane.stop();
    process.off("exit", onExit);
  }
}

const tenantsNamespace = "kubesub-bench-tenants";

async function serviceAccountTokens(plane: LocalControlPlane, projects: number, users: number): Promise<Record<string, string>> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 32, ca: plane.ca });
  const call = (method: string, path: string, body: unknown) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const data = JSON.stringify(body);
      const req = https.request(
        new URL(path, plane.apiServerUrl("main")),
        {
          method,
          agent,
          headers: {
            authorization: `Bearer ${plane.tokens.admin}`,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(data),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if ((response.statusCode ?? 0) >= 300)
              reject(new Error(`${method} ${path}: HTTP ${response.statusCode} ${text.slice(0, 200)}`));
            else resolve(JSON.parse(text) as Record<string, unknown>);
          });
        },
      );
      req.on("error", reject);
      req.end(data);
    });
  await call("POST", "/api/v1/namespaces", { metadata: { name: tenantsNamespace } });
  await call("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
    metadata: { name: "kubesub-bench-tenant" },
    rules: [
      { apiGroups: [""], resources: ["pods", "namespaces"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["kubeflow.org"], resources: ["notebooks"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["kubernetes.dask.org"], resources: ["*"], verbs: ["get", "list", "watch"] },
    ],
  });
  await call("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
    metadata: { name: "kubesub-bench-tenants" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "kubesub-bench-tenant" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: `system:serviceaccounts:${tenantsNamespace}` }],
  });
  const tokens: Record<string, string> = {};
  const all = Array.from({ length: projects * users }, (_, i) => ({ p: Math.floor(i / users), u: i % users }));
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < all.length; i = next++) {
      const { p, u } = all[i] as { p: number; u: number };
      const name = `tenant-${p}-${u}`;
      await call("POST", `/api/v1/namespaces/${tenantsNamespace}/serviceaccounts`, { metadata: { name } });
      const request = await call("POST", `/api/v1/namespaces/${tenantsNamespace}/serviceaccounts/${name}/token`, {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 7200 },
      });
      tokens[`${p}.${u}`] = (request.status as { token: string }).token;
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  agent.destroy();
  return tokens;
}
