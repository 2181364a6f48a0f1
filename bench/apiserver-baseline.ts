// `npm run bench -- --apiserver [--quick]` (or `node bench/apiserver-baseline.ts [--quick]`): kubesub
// against the design it replaces, one LIST and one WATCH on the apiserver per subscriber, both on a
// real etcd + kube-apiserver (test/helpers/control-plane-processes.ts). Opt-in and separate from the
// in-memory comparison: the control plane alone takes longer to start than --quick's whole budget.
//
// A writer process patches one of 20 pods at a fixed rate, stamping the change with Date.now()
// right before the PATCH; every design is measured from that stamp to the arrival at the subscriber:
//   watch-per-subscriber  apiserver-watch-load.ts, N client-node list+watch pairs (no such mode in
//                         kubesub; the benchmark opens them itself)
//   kubesub               apiserver-kubesub-server.ts (kubeApiSources on the same apiserver) with N
//                         SSE subscribers from load-generator.ts
// The apiserver is restarted before every measurement, so that each starts from the same memory.
// Figures: open pod watches on the apiserver (apiserver_longrunning_requests, minus the count
// before), the apiserver's RSS (/proc), latency, deliveries per second and process CPU. Prints
// markdown tables and merges everything into bench/results/latest.json under "apiserver".
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { sumMetric } from "../test/helpers/control-plane-kube.ts";
import { apiServerGet, LocalControlPlane, resolveBinaries } from "../test/helpers/control-plane-processes.ts";
import type { WatchLoadCommand, WatchLoadMessage, WriterCommand, WriterMessage, WriterReport } from "./apiserver-protocol.ts";
import { benchProject, type LoadCommand, type LoadReport, type ServerCommand, type ServerMessage, stampLabel } from "./protocol.ts";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const designs = ["watch-per-subscriber", "kubesub"] as const;
type Design = (typeof designs)[number];

interface Scenario {
  design: Design;
  subscribers: number;
  /** Pod changes per second the writer makes. */
  rate: number;
  /** Measured seconds (after a warm-up). */
  seconds: number;
  /** Bound on connecting all subscribers; what connected by then is measured. */
  connectTimeoutMs: number;
}

const pods = 20;
/** 20 patches/s: about a tenth of a core for the apiserver and etcd with one watcher on this machine; the rest is fan-out. */
const rate = 20;
const warmupMs = 2_000;
/** After every apiserver (re)start: its post-start work settles before the "before" figures. */
const settleMs = 5_000;

const argument = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
/** --profile DIR: write the kubesub server's CPU profile (.cpuprofile) there, as run.ts does. */
const profileDir = argument("--profile");

/** --design D and --subscribers N,M: only those scenarios (whose figures then replace all of "apiserver"). */
function scenarios(quick: boolean): Scenario[] {
  const onlyDesign = argument("--design");
  const onlySubscribers = argument("--subscribers")?.split(",").map(Number);
  const both = (subscribers: number, seconds: number, connectTimeoutMs: number) =>
    designs.map((design) => ({ design, subscribers, rate, seconds, connectTimeoutMs }));
  const all = quick
    ? [...both(100, 5, 60_000), ...both(1_000, 5, 120_000)]
    : [...both(100, 10, 60_000), ...both(1_000, 10, 120_000), ...both(3_000, 10, 180_000), ...both(10_000, 15, 240_000)];
  return all.filter(
    (s) =>
      (onlyDesign === undefined || s.design === onlyDesign) && (onlySubscribers === undefined || onlySubscribers.includes(s.subscribers)),
  );
}

export interface ApiServerResult extends Scenario, Partial<Omit<LoadReport, "seconds">> {
  /** Wall seconds the load counted deliveries. */
  measuredSeconds?: number;
  connected: number;
  connectMs: number;
  connectTimedOut: boolean;
  connectErrors: string[];
  /** apiserver_longrunning_requests{verb=WATCH,resource=pods,scope=namespace} minus its value before connecting. */
  apiServerWatches: { idle: number; end: number };
  /** apiserver_terminated_watchers_total{resource=pods} during the scenario: watches the apiserver closed because their client did not keep up. */
  apiServerTerminatedWatchers: number;
  apiServerRssBytes: { before: number; idle: number; end: number };
  /** (idle - before) / connected. */
  apiServerRssBytesPerSubscriber: number;
  /** CPU cores used during the measured seconds (CPU seconds / wall seconds). */
  cpuCores: { apiServer: number; etcd: number; kubesub: number; clients: number };
  rssBytes: { kubesub: number; clients: number };
  deliveriesPerSecond: number;
  offeredPerSecond: number;
  writer: WriterReport | undefined;
  /** Set when the measurement did not complete. */
  error?: string;
}

// --- processes ---------------------------------------------------------------------------------

const clockTicks = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** RSS and user + system CPU seconds of a process, from /proc; NaN when it is gone. */
function procStats(pid: number | undefined): { rssBytes: number; cpuSeconds: number } {
  try {
    if (pid === undefined) throw new Error("no pid");
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the comm: state is field 3, utime 14 and stime 15 (1-based, as in proc(5)).
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / clockTicks;
    const rss = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return { rssBytes: rss ? Number(rss[1]) * 1024 : Number.NaN, cpuSeconds };
  } catch {
    return { rssBytes: Number.NaN, cpuSeconds: Number.NaN };
  }
}

/** The pid of this process's child whose command name is `comm` (etcd, which LocalControlPlane keeps private). */
function childPid(comm: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (name === comm && ppid === process.pid) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Sends `message` (unless empty) and resolves with the first reply of type `reply`, within timeoutMs. */
function request<M extends { type: string }>(child: ChildProcess, message: object, reply: M["type"], timeoutMs: number): Promise<M> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    const onMessage = (m: M) => {
      if (m.type !== reply) return;
      cleanup();
      resolve(m);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${child.spawnargs.join(" ")} exited (${code}) while waiting for ${reply}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${reply} from ${child.spawnargs.at(-1)} within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("message", onMessage);
    child.once("exit", onExit);
    if (Object.keys(message).length > 0) child.send(message);
  });
}

/** Asks a forked process to exit; SIGKILL when it has not within graceMs. */
async function ending(child: ChildProcess | undefined, command: object, graceMs = 10_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    child.send(command);
  } catch {
    // channel already closed
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill("SIGKILL");
    await exited;
  }
}

const forked = new Set<ChildProcess>();
function forkTracked(file: string, args: string[], execArgv: string[] = []): ChildProcess {
  const child = fork(here(file), args, { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  forked.add(child);
  child.once("exit", () => forked.delete(child));
  return child;
}

// --- measurement -------------------------------------------------------------------------------

/** Open pod watches and watches terminated so far, from the apiserver's metrics; NaN when it does not answer. */
async function watchMetrics(controlPlane: LocalControlPlane): Promise<{ open: number; terminated: number }> {
  try {
    const { status, body } = await apiServerGet(`${controlPlane.apiServerUrl("main")}/metrics`, controlPlane.tokens.admin, controlPlane.ca);
    if (status !== 200) throw new Error(`HTTP ${status}`);
    return {
      open: sumMetric(body, "apiserver_longrunning_requests", { verb: "WATCH", group: "", resource: "pods", scope: "namespace" }),
      terminated: sumMetric(body, "apiserver_terminated_watchers_total", { resource: "pods" }),
    };
  } catch {
    return { open: Number.NaN, terminated: Number.NaN };
  }
}

async function measure(controlPlane: LocalControlPlane, writer: ChildProcess, scenario: Scenario): Promise<ApiServerResult> {
  const kubeconfig = controlPlane.kubeconfigPath;
  await controlPlane.restartApiServer("main");
  await sleep(settleMs);
  const apiPid = controlPlane.apiServer("main").pid;
  const etcdPid = childPid("etcd");
  const result: ApiServerResult = {
    ...scenario,
    connected: 0,
    connectMs: Number.NaN,
    connectTimedOut: false,
    connectErrors: [],
    apiServerWatches: { idle: Number.NaN, end: Number.NaN },
    apiServerTerminatedWatchers: Number.NaN,
    apiServerRssBytes: { before: Number.NaN, idle: Number.NaN, end: Number.NaN },
    apiServerRssBytesPerSubscriber: Number.NaN,
    cpuCores: { apiServer: Number.NaN, etcd: Number.NaN, kubesub: Number.NaN, clients: Number.NaN },
    rssBytes: { kubesub: Number.NaN, clients: Number.NaN },
    deliveriesPerSecond: Number.NaN,
    offeredPerSecond: scenario.rate * scenario.subscribers,
    writer: undefined,
  };
  let server: ChildProcess | undefined;
  let load: ChildProcess | undefined;
  let writing = false;
  try {
    const watchesBefore = await watchMetrics(controlPlane);
    result.apiServerRssBytes.before = procStats(apiPid).rssBytes;
    if (scenario.design === "kubesub") {
      const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
      server = forkTracked("./apiserver-kubesub-server.ts", [kubeconfig], ["--expose-gc", ...profile]);
      const { port } = await request<Extract<ServerMessage, { type: "ready" }>>(server, {}, "ready", 30_000);
      load = forkTracked("./load-generator.ts", []);
      const connected = await request<{ type: "connected"; subscribers: number; failed: number; ms: number }>(
        load,
        { type: "connect", url: `http://127.0.0.1:${port}/graphql`, subscribers: scenario.subscribers } satisfies LoadCommand,
        "connected",
        scenario.connectTimeoutMs,
      );
      result.connected = connected.subscribers;
      result.connectMs = connected.ms;
    } else {
      // client-node's per-request agents and objects take about 0.4-1 MB per subscriber: room for 10,000.
      load = forkTracked("./apiserver-watch-load.ts", [kubeconfig], ["--max-old-space-size=12288"]);
      const connected = await request<Extract<WatchLoadMessage, { type: "connected" }>>(
        load,
        {
          type: "connect",
          url: benchProject,
          subscribers: scenario.subscribers,
          timeoutMs: scenario.connectTimeoutMs,
          concurrency: 50,
        } satisfies WatchLoadCommand,
        "connected",
        scenario.connectTimeoutMs + 30_000,
      );
      result.connected = connected.subscribers;
      result.connectMs = connected.ms;
      result.connectTimedOut = connected.timedOut;
      result.connectErrors = connected.errors;
    }
    console.error(
      `  ${scenario.design} ${scenario.subscribers}: ${result.connected} connected in ${result.connectMs} ms${result.connectTimedOut ? " (connect timed out)" : ""}`,
    );
    await sleep(1_000);
    result.apiServerWatches.idle = (await watchMetrics(controlPlane)).open - watchesBefore.open;
    result.apiServerRssBytes.idle = procStats(apiPid).rssBytes;
    result.apiServerRssBytesPerSubscriber =
      (result.apiServerRssBytes.idle - result.apiServerRssBytes.before) / Math.max(1, result.connected);

    writer.send({ type: "start", rate: scenario.rate } satisfies WriterCommand);
    writing = true;
    await sleep(warmupMs);
    const pids = { apiServer: apiPid, etcd: etcdPid, kubesub: server?.pid, clients: load.pid };
    const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procStats(pid).cpuSeconds]));
    const wallBefore = performance.now();
    load.send({ type: "measure" } satisfies LoadCommand);
    await sleep(scenario.seconds * 1_000);
    const wall = (performance.now() - wallBefore) / 1_000;
    const cpuAfter = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procStats(pid).cpuSeconds]));
    const cores = (k: keyof typeof pids) => ((cpuAfter[k] ?? Number.NaN) - (cpuBefore[k] ?? Number.NaN)) / wall;
    result.cpuCores = { apiServer: cores("apiServer"), etcd: cores("etcd"), kubesub: cores("kubesub"), clients: cores("clients") };
    const report = await request<{ type: "report" } & LoadReport>(load, { type: "report" } satisfies LoadCommand, "report", 60_000);
    const { type: _type, seconds: measuredSeconds, ...figures } = report;
    Object.assign(result, figures, { measuredSeconds });
    result.deliveriesPerSecond = report.deliveries / report.seconds;
    result.apiServerRssBytes.end = procStats(apiPid).rssBytes;
    result.rssBytes = { kubesub: procStats(server?.pid).rssBytes, clients: procStats(load.pid).rssBytes };
    result.writer = await stopWriter(writer);
    writing = false;
    const watchesEnd = await watchMetrics(controlPlane);
    result.apiServerWatches.end = watchesEnd.open - watchesBefore.open;
    result.apiServerTerminatedWatchers = watchesEnd.terminated - watchesBefore.terminated;
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    console.error(`  ${scenario.design} ${scenario.subscribers}: ${result.error}`);
  } finally {
    if (writing) result.writer ??= await stopWriter(writer).catch(() => undefined);
    await Promise.all([ending(load, { type: "exit" } satisfies LoadCommand), ending(server, { type: "exit" } satisfies ServerCommand)]);
  }
  return result;
}

const stopWriter = async (writer: ChildProcess): Promise<WriterReport> => {
  const { type: _type, ...report } = await request<Extract<WriterMessage, { type: "stopped" }>>(
    writer,
    { type: "stop" } satisfies WriterCommand,
    "stopped",
    10_000,
  );
  return report;
};

async function seed(kubeConfig: KubeConfig): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: benchProject } } });
  for (let i = 0; i < pods; i += 1) {
    const pod: V1Pod = {
      metadata: { name: `bench-${i}`, namespace: benchProject, labels: { app: "bench", [stampLabel]: "0" } },
      spec: { containers: [{ name: "main", image: "example.org/main:1" }] },
    };
    await core.createNamespacedPod({ namespace: benchProject, body: pod });
  }
}

// --- report --------------------------------------------------------------------------------------

const fmt = (n: number | undefined, digits = 0) =>
  n !== undefined && Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits }) : "n/a";
const mib = (bytes: number, digits = 0) => fmt(bytes / 2 ** 20, digits);

function tables(results: ApiServerResult[]): string {
  const rows = results.map((r) => {
    const lost = r.error ? `error: ${r.error}` : fmt(r.closed);
    const connected = r.connected === r.subscribers ? fmt(r.subscribers) : `${fmt(r.connected)} of ${fmt(r.subscribers)}`;
    return [
      r.design,
      connected,
      `${fmt(r.writer ? r.writer.ok / r.writer.seconds : Number.NaN, 1)}/s`,
      `${fmt(r.apiServerWatches.idle)} / ${fmt(r.apiServerWatches.end)} / ${fmt(r.apiServerTerminatedWatchers)}`,
      `${mib(r.apiServerRssBytes.before)} / ${mib(r.apiServerRssBytes.idle)} / ${mib(r.apiServerRssBytes.end)}`,
      fmt(r.apiServerRssBytesPerSubscriber / 1024, 1),
      `${fmt(r.p50)} / ${fmt(r.p95)} / ${fmt(r.p99)}`,
      `${fmt(r.deliveriesPerSecond)} of ${fmt(r.offeredPerSecond)}`,
      `${fmt(r.cpuCores.apiServer, 2)} / ${fmt(r.cpuCores.etcd, 2)} / ${r.design === "kubesub" ? fmt(r.cpuCores.kubesub, 2) : "-"} / ${fmt(r.cpuCores.clients, 2)}`,
      `${r.design === "kubesub" ? mib(r.rssBytes.kubesub) : "-"} / ${mib(r.rssBytes.clients)}`,
      fmt(r.connectMs / 1_000, 1),
      lost,
    ];
  });
  const ratioRows: string[][] = [];
  for (const subscribers of [...new Set(results.map((r) => r.subscribers))]) {
    const base = results.find((r) => r.subscribers === subscribers && r.design === "watch-per-subscriber" && !r.error);
    const kube = results.find((r) => r.subscribers === subscribers && r.design === "kubesub" && !r.error);
    if (!base || !kube) continue;
    const ratio = (a: number, b: number, digits = 1) => (b > 0 && a >= 0 ? `${fmt(a / b, digits)}x` : "n/a");
    const growth = (r: ApiServerResult) => r.apiServerRssBytes.idle - r.apiServerRssBytes.before;
    ratioRows.push([
      fmt(subscribers),
      ratio(base.apiServerWatches.idle, kube.apiServerWatches.idle, 0),
      // Below 1 MiB the RSS of a Go process is noise: no ratio, only the bound.
      growth(kube) < 2 ** 20
        ? `${mib(growth(base), 1)} vs < 1 MiB`
        : `${ratio(growth(base), growth(kube))} (${mib(growth(base), 1)} vs ${mib(growth(kube), 1)} MiB)`,
      ratio(base.cpuCores.apiServer, kube.cpuCores.apiServer),
      `${ratio(base.p50 ?? Number.NaN, kube.p50 ?? Number.NaN, 2)} / ${ratio(base.p99 ?? Number.NaN, kube.p99 ?? Number.NaN, 2)}`,
      ratio(base.deliveriesPerSecond, kube.deliveriesPerSecond, 2),
      ratio(base.cpuCores.apiServer + base.cpuCores.clients, kube.cpuCores.apiServer + kube.cpuCores.kubesub + kube.cpuCores.clients, 2),
    ]);
  }
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line([
      "design",
      "subscribers",
      "changes written",
      "apiserver pod watches idle / end / terminated",
      "apiserver RSS MiB before / idle / end",
      "apiserver KiB per subscriber",
      "latency p50 / p95 / p99 ms",
      "deliveries/s (of offered)",
      "CPU cores apiserver / etcd / kubesub / clients",
      "RSS MiB kubesub / clients",
      "connect s",
      "streams lost",
    ]),
    line(["---", ...Array.from({ length: 11 }, () => "---:")]),
    ...rows.map(line),
    "",
    "Ratios, watch-per-subscriber ÷ kubesub:",
    "",
    line([
      "subscribers",
      "apiserver watches",
      "apiserver RSS growth",
      "apiserver CPU",
      "latency p50 / p99",
      "deliveries/s",
      "CPU apiserver + kubesub + clients",
    ]),
    line(["---:", ...Array.from({ length: 6 }, () => "---:")]),
    ...ratioRows.map(line),
  ].join("\n");
}

// --- run -----------------------------------------------------------------------------------------

export async function runApiServerBench(options: { quick: boolean }): Promise<void> {
  const started = Date.now();
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${fmt(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const binaries = resolveBinaries();
  const controlPlane = await LocalControlPlane.prepare({ binaries, log: (m) => console.error(`control plane: ${m}`) });
  console.error(`control plane: ${controlPlane.dir}`);
  let writer: ChildProcess | undefined;
  const killAll = () => {
    for (const child of forked) child.kill("SIGKILL");
    controlPlane.killNow();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    killAll();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.on("exit", killAll);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const results: ApiServerResult[] = [];
  try {
    await controlPlane.start();
    // Only "main" is measured; the second apiserver would only take memory and CPU.
    await controlPlane.stopApiServer("writer");
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(controlPlane.kubeconfigPath);
    await seed(kubeConfig);
    const version = JSON.parse(
      (await apiServerGet(`${controlPlane.apiServerUrl("main")}/version`, controlPlane.tokens.admin, controlPlane.ca)).body,
    ) as {
      gitVersion?: string;
    };
    writer = forkTracked("./apiserver-writer.ts", [controlPlane.kubeconfigPath, benchProject, String(pods)]);
    await request(writer, {}, "ready", 30_000);
    for (const scenario of scenarios(options.quick)) {
      const result = await measure(controlPlane, writer, scenario);
      results.push(result);
      console.error(
        `${scenario.design} ${scenario.subscribers} subscribers: ${fmt(result.deliveriesPerSecond)} deliveries/s, p99 ${fmt(result.p99)} ms, ${fmt(result.apiServerWatches.idle)} apiserver watches`,
      );
    }
    const seconds = (Date.now() - started) / 1_000;
    const table = tables(results);
    console.log(
      [
        `Machine: ${machine}; kube-apiserver ${version.gitVersion ?? "?"} + etcd on the same cores; load average before ${fmt(loadBefore, 2)}${options.quick ? " (quick run)" : ""}`,
        `${pods} pods, ${rate} stamp patches/s (JSON merge patch); latency from the stamp, taken right before the PATCH, to the event's arrival; ${fmt(seconds)} s in all`,
        "",
        table,
      ].join("\n"),
    );
    const file = here("./results/latest.json");
    mkdirSync(here("./results"), { recursive: true });
    const previous = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
    const apiserver = {
      machine,
      kubeApiServer: version.gitVersion,
      quick: options.quick,
      date: new Date().toISOString(),
      seconds,
      loadAverageBefore: loadBefore,
      pods,
      rate,
      results,
    };
    writeFileSync(file, `${JSON.stringify({ ...previous, apiserver }, null, 2)}\n`);
  } finally {
    await ending(writer, { type: "exit" } satisfies WriterCommand);
    for (const child of forked) child.kill("SIGKILL");
    await controlPlane.stop();
    process.off("exit", killAll);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

if (import.meta.main) await runApiServerBench({ quick: process.argv.includes("--quick") });
