// `npm run bench -- --cache [--quick]`, or `bash bin/node24 bench/cache-memory.ts [--quick]
// [--pods 10000,50000] [--measure memory,streams,http] [--repeats 3] [--profile DIR]
// [--baseline DIR]`: what kubesub's informer cache costs per pod, and how long a project of many
// pods takes to reach InitialStateComplete, with objects cached as they arrive minus their
// managedFields and reduced to what the models read (src/domain/slim.ts).
//
// The pods are realistic JupyterLab pods (test/helpers/realistic-objects.ts: about 18 KiB of JSON
// each), served in LIST pages of 500 as the apiserver sends them: each page is JSON text outside
// the V8 heap until the source parses it, either with JSON.parse alone ("json", as watch events
// arrive) or also through client-node's ObjectSerializer ("client-node", as kube-api-source's LIST
// through CoreV1Api hands them over: model classes, timestamps as Date).
//
// Each measurement runs in a fresh process with --expose-gc (and, for memory, --no-flush-bytecode):
// - memory: heapUsed after a full GC, before the informer, once it has synced (the cache), and
//   once a podEvents stream over the pod view has received InitialStateComplete (cache, view and
//   Pod models); divided by the number of pods.
// - streams: from PodStreams.events() on a cold process (no informer yet) to InitialStateComplete
//   in the stream, with when the LIST was parsed and when the informer synced.
// - http: the same through the real server (src/app.ts) over HTTP and SSE, with the dashboard's
//   PodEvents subscription (examples/operations/pods.graphql), until the InitialStateComplete frame.
// --baseline DIR: also measures a checkout of an earlier kubesub in DIR (for instance
// `git worktree add /tmp/kubesub-before <commit>`), into which this file and the pod fixture are
// copied, with its own transform ("baseline").
// Figures go to bench/results/cache-memory.json.
import { execFileSync, fork } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js";
import { createKubesub } from "../src/app.ts";
import { systemClock } from "../src/clock.ts";
import { dropManagedFields } from "../src/kube/informer.ts";
import { InformerRegistry, type SourceFactory } from "../src/kube/informer-registry.ts";
import type { ListWatchSource } from "../src/kube/list-watch-source.ts";
import { podResource } from "../src/kube/resources.ts";
import { type KubeObject, type ResourceType, resourceName } from "../src/kube/types.ts";
import { defaultSettings } from "../src/options.ts";
import { PodStreams } from "../src/streams/pod-streams.ts";
import type { StreamAccess } from "../src/streams/subscribers/access.ts";
import { FeedRegistry } from "../src/streams/subscribers/shared-feed.ts";
import { noObserver } from "../src/streams/subscribers/stream-observer.ts";
import { SubscriptionLimits } from "../src/streams/subscribers/subscription-limits.ts";
import { ViewRegistry } from "../src/streams/views/view-registry.ts";
import { type RealisticPodState, realisticJupyterLabPod } from "../test/helpers/realistic-objects.ts";
import { readToInitialState } from "./initial-state-probe.ts";
import { benchKubesubOptions } from "./server-process.ts";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const argument = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};

const project = "bench";
const pageSize = 500;
const listResourceVersion = "9000000";

/** managedFields: dropped, nothing else; slim: src/domain/slim.ts; baseline: whatever the checkout does by default. */
type Transform = "managedFields" | "slim" | "baseline";
type ListMode = "json" | "client-node";
type Measure = "memory" | "streams" | "http";

interface ChildTask {
  measure: Measure;
  pods: number;
  transform: Transform;
  list: ListMode;
  /**
   * The source applies the transform to each page as it is parsed (and the informer again, which
   * changes nothing), so that no page is kept whole until the LIST ends. Not what kubesub does
   * today: it needs the ListWatchSource contract to carry the transform (see the README).
   */
  pageTransform?: boolean;
  pagesDir: string;
}

interface ChildResult extends ChildTask {
  /** memory: heap bytes per pod of the informer's cache alone, and of cache + pod view + models. */
  cacheBytesPerPod?: number;
  cacheAndViewBytesPerPod?: number;
  /** streams and http: ms from subscribing to InitialStateComplete, and the parts of it. */
  initialStateMs?: number;
  listMs?: number;
  syncedMs?: number;
  events?: number;
  bytes?: number;
  /** Timings are GC-bound and vary from run to run: each is run several times, and the run of the median reported. */
  samplesMs?: number[];
}

// ---- the pods ---------------------------------------------------------------------------------

/** Most pods are ready; the rest are somewhere else in their life, as in a busy project. */
const states: RealisticPodState[] = ["ready", "ready", "ready", "ready", "ready", "ready", "running", "creating", "crashloop", "succeeded"];

/** Writes the LIST pages of `pods` pods once (JSON text, as the apiserver sends them) and returns their directory. */
function writePages(pods: number): string {
  // Named after the fixture's first pod, so that a changed fixture is written anew.
  const fingerprint = createHash("sha256")
    .update(JSON.stringify(realisticJupyterLabPod({ namespace: project, index: 0 })))
    .digest("hex");
  const dir = join(tmpdir(), `kubesub-cache-bench-${fingerprint.slice(0, 12)}-${pods}`);
  if (existsSync(join(dir, "done"))) return dir;
  mkdirSync(dir, { recursive: true });
  for (let page = 0; page * pageSize < pods; page += 1) {
    const items: unknown[] = [];
    for (let i = page * pageSize; i < Math.min(pods, (page + 1) * pageSize); i += 1) {
      items.push(
        realisticJupyterLabPod({
          namespace: project,
          index: i,
          user: `user-${i % 500}`,
          state: states[i % states.length],
          resourceVersion: String(1_000 + i),
        }),
      );
    }
    const list = { apiVersion: "v1", kind: "PodList", metadata: { resourceVersion: listResourceVersion }, items };
    writeFileSync(join(dir, `page-${String(page).padStart(4, "0")}.json`), JSON.stringify(list));
  }
  writeFileSync(join(dir, "done"), "");
  return dir;
}

/**
 * Pods of the bench project from pages of JSON text held outside the V8 heap (Buffers), parsed on
 * each LIST as kube-api-source would; a watch that stays open and quiet; nothing of other resources.
 */
function pagedSources(
  pages: Buffer[],
  list: ListMode,
  pageTransform: (<O extends KubeObject>(object: O) => O) | undefined,
  onListed: () => void,
): SourceFactory {
  return <T extends KubeObject>(type: ResourceType, namespace: string): ListWatchSource<T> => ({
    description: `${resourceName(type)} in ${namespace || "all namespaces"}`,
    async *list() {
      if (resourceName(type) !== resourceName(podResource)) {
        yield { items: [], resourceVersion: listResourceVersion };
        return;
      }
      for (const page of pages) {
        await nextTurn(); // a page arrives from the network
        const parsed = JSON.parse(page.toString("utf8"));
        const podList = list === "client-node" ? (ObjectSerializer.deserialize(parsed, "V1PodList", "") as { items: T[] }) : parsed;
        yield { items: pageTransform ? podList.items.map(pageTransform) : podList.items, resourceVersion: listResourceVersion };
      }
      onListed();
    },
    watch: ({ signal }) =>
      new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener("abort", () => resolve(), { once: true });
      }),
  });
}

// ---- one measurement, in a child process ----------------------------------------------------------

type TransformFor = (type: ResourceType) => (<O extends KubeObject>(object: O) => O) | undefined;

/** Loaded only when asked for, so that this file also runs in a checkout from before slim.ts. */
async function transformFor(transform: Transform): Promise<TransformFor | undefined> {
  if (transform === "baseline") return undefined;
  if (transform === "managedFields") return () => undefined;
  const slim: { slimTransformFor: TransformFor } = await import("../src/domain/slim.ts");
  return slim.slimTransformFor;
}

async function fullGc(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  for (let i = 0; i < 4; i += 1) {
    gc();
    await nextTurn();
  }
  return process.memoryUsage().heapUsed;
}

const anybody: StreamAccess = { subject: "bench", authorize: async () => {}, recheck: async () => undefined };

function podStreamsOf(registry: InformerRegistry): PodStreams {
  return new PodStreams({
    views: new ViewRegistry(registry),
    userLabel: defaultSettings.userLabel,
    queueCapacity: defaultSettings.queueSize,
    syncTimeoutMs: 600_000,
    recheckIntervalMs: 0,
    limits: new SubscriptionLimits({ perSubject: 10, total: 10 }),
    feeds: new FeedRegistry(systemClock),
    observer: noObserver,
    shutdown: new AbortController().signal,
    clock: systemClock,
  });
}

/** Reads a stream until its InitialStateComplete; returns how many events came, that one included. */
async function untilInitialState(stream: AsyncIterator<{ type: string }>): Promise<number> {
  let events = 0;
  for (;;) {
    const { value, done } = await stream.next();
    if (done) throw new Error("the stream ended before InitialStateComplete");
    events += 1;
    if (value.type === "initial-state-complete") return events;
    if (value.type === "error" || value.type === "unavailable") throw new Error(`the stream said ${JSON.stringify(value)}`);
  }
}

async function runChild(task: ChildTask): Promise<ChildResult> {
  const pages = readdirSync(task.pagesDir)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => readFileSync(join(task.pagesDir, name)));
  let listedAt = 0;
  const transforms = await transformFor(task.transform);
  const pageTransform = task.pageTransform ? (transforms?.(podResource) ?? dropManagedFields) : undefined;
  const sources = pagedSources(pages, task.list, pageTransform, () => {
    listedAt = performance.now();
  });
  const result: ChildResult = { ...task };

  if (task.measure === "memory") {
    const registry = new InformerRegistry({ sources, lingerMs: 600_000, ...(transforms ? { transformFor: transforms } : {}) });
    const podStreams = podStreamsOf(registry);
    const before = await fullGc();
    const lease = registry.acquire(podResource, project);
    await lease.informer.waitForSync();
    if (lease.informer.list().length !== task.pods) throw new Error(`cached ${lease.informer.list().length} pods, not ${task.pods}`);
    const cached = await fullGc();
    const stream = await podStreams.events({ project }, anybody);
    const events = await untilInitialState(stream);
    const viewed = await fullGc();
    result.cacheBytesPerPod = (cached - before) / task.pods;
    result.cacheAndViewBytesPerPod = (viewed - before) / task.pods;
    result.events = events;
    await stream.return?.();
    lease.release();
    await registry.close();
    return result;
  }

  if (task.measure === "streams") {
    const registry = new InformerRegistry({ sources, lingerMs: 600_000, ...(transforms ? { transformFor: transforms } : {}) });
    const podStreams = podStreamsOf(registry);
    await fullGc();
    const start = performance.now();
    const lease = registry.acquire(podResource, project);
    let syncedAt = 0;
    void lease.informer.waitForSync().then(() => {
      syncedAt = performance.now();
    });
    const stream = await podStreams.events({ project }, anybody);
    result.events = await untilInitialState(stream);
    result.initialStateMs = performance.now() - start;
    result.listMs = listedAt - start;
    result.syncedMs = syncedAt - start;
    await stream.return?.();
    lease.release();
    await registry.close();
    return result;
  }

  const app = createKubesub({
    ...benchKubesubOptions(sources),
    syncTimeoutMs: 600_000,
    ...(transforms ? { transformFor: transforms } : {}),
  });
  const { port } = await app.listen(0, "127.0.0.1");
  await fullGc();
  const start = performance.now();
  const { bytes, frames } = await readToInitialState(port, here(".."), project);
  result.initialStateMs = performance.now() - start;
  result.listMs = listedAt - start;
  result.events = frames;
  result.bytes = bytes;
  await app.shutdown();
  return result;
}

// ---- the orchestrator ---------------------------------------------------------------------------

function child(script: string, task: ChildTask, profileDir: string | undefined): Promise<ChildResult> {
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  // Bytecode flushed between two readings of the heap would count as pods taking less.
  const steady = task.measure === "memory" ? ["--no-flush-bytecode"] : [];
  const measurement = fork(script, ["--child", JSON.stringify(task)], {
    execArgv: ["--expose-gc", "--max-old-space-size=16384", ...steady, ...profile],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    measurement.once("message", (message) => resolve(message as ChildResult));
    measurement.once("exit", (code) => {
      if (code !== 0) reject(new Error(`measurement ${JSON.stringify(task)} exited with ${code}`));
    });
  });
}

/** Copies this file and the pod fixture into an earlier checkout; returns the script to fork there. */
function baselineScript(checkout: string): string {
  for (const file of ["bench/cache-memory.ts", "test/helpers/realistic-objects.ts"]) {
    writeFileSync(join(checkout, file), readFileSync(here(`../${file}`)));
  }
  return join(checkout, "bench/cache-memory.ts");
}

export interface CacheBenchOptions {
  quick: boolean;
  /** Pod counts; default 10,000 and 50,000 (2,000 and 10,000 with quick). The timings use the largest. */
  pods?: number[];
  measures?: Measure[];
  profileDir?: string;
  /** A checkout of an earlier kubesub to measure as "baseline". */
  baseline?: string;
  /** Runs of each timing; default 3 (1 with quick). */
  repeats?: number;
}

export async function runCacheBench(options: CacheBenchOptions): Promise<void> {
  const sizes = options.pods ?? (options.quick ? [2_000, 10_000] : [10_000, 50_000]);
  const measures = options.measures ?? ["memory", "streams", "http"];
  const largest = Math.max(...sizes);
  const current = here("./cache-memory.ts");
  const baseline = options.baseline && baselineScript(options.baseline);
  const baselineCommit =
    options.baseline && execFileSync("git", ["-C", options.baseline, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
  const results: ChildResult[] = [];
  const repeats = options.repeats ?? (options.quick ? 1 : 3);
  const run = async (task: Omit<ChildTask, "pagesDir">) => {
    if (!measures.includes(task.measure)) return;
    const script = task.transform === "baseline" ? baseline : current;
    if (!script) return;
    const profileDir = task.measure === "memory" ? undefined : options.profileDir;
    const runs: ChildResult[] = [];
    for (let i = 0; i < (task.measure === "memory" ? 1 : repeats); i += 1) {
      const result = await child(script, { ...task, pagesDir: writePages(task.pods) }, profileDir);
      console.error(JSON.stringify(result));
      runs.push(result);
    }
    runs.sort((a, b) => (a.initialStateMs ?? 0) - (b.initialStateMs ?? 0));
    const median = runs[Math.floor(runs.length / 2)] as ChildResult;
    results.push(task.measure === "memory" ? median : { ...median, samplesMs: runs.map((r) => Math.round(r.initialStateMs ?? 0)) });
  };
  // The LIST as kube-api-source makes it (client-node); JSON.parse alone for comparison.
  for (const pods of sizes) {
    for (const transform of ["baseline", "managedFields", "slim"] as const) {
      await run({ measure: "memory", pods, transform, list: "client-node" });
    }
    await run({ measure: "memory", pods, transform: "slim", list: "json" });
  }
  for (const transform of ["baseline", "slim"] as const) {
    await run({ measure: "streams", pods: largest, transform, list: "client-node" });
    await run({ measure: "http", pods: largest, transform, list: "client-node" });
  }
  await run({ measure: "streams", pods: largest, transform: "slim", list: "json" });
  // What a transform applied to each LIST page as it arrives would change (not what kubesub does today).
  await run({ measure: "streams", pods: largest, transform: "slim", list: "json", pageTransform: true });
  await run({ measure: "http", pods: largest, transform: "slim", list: "json", pageTransform: true });

  const fmt = (n: number | undefined, digits = 0) => (n === undefined ? "" : n.toLocaleString("en-US", { maximumFractionDigits: digits }));
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${fmt(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;
  console.log(
    [
      `Machine: ${machine}${options.quick ? " (quick run)" : ""}`,
      "",
      "| measure | pods | cached | LIST parsed by | heap per pod: cache / cache + pod view | to InitialStateComplete, median (LIST parsed, synced, all runs) |",
      "| --- | ---: | --- | --- | ---: | ---: |",
      ...results.map((r) => {
        const cached = `${r.transform}${r.pageTransform ? ", per page" : ""}`;
        const heap =
          r.cacheBytesPerPod === undefined
            ? ""
            : `${fmt(r.cacheBytesPerPod / 1024, 2)} / ${fmt((r.cacheAndViewBytesPerPod ?? 0) / 1024, 2)} KiB`;
        const samples = r.samplesMs && r.samplesMs.length > 1 ? `, runs ${r.samplesMs.map((ms) => fmt(ms)).join(" / ")}` : "";
        const time = r.initialStateMs === undefined ? "" : `${fmt(r.initialStateMs)} ms (${fmt(r.listMs)}, ${fmt(r.syncedMs)}${samples})`;
        return `| ${r.measure} | ${fmt(r.pods)} | ${cached} | ${r.list} | ${heap} | ${time} |`;
      }),
    ].join("\n"),
  );
  mkdirSync(here("./results"), { recursive: true });
  writeFileSync(
    here("./results/cache-memory.json"),
    `${JSON.stringify({ machine, quick: options.quick, date: new Date().toISOString(), baseline: baselineCommit, results }, null, 2)}\n`,
  );
}

if (process.argv[2] === "--child") {
  const task = JSON.parse(process.argv[3] as string) as ChildTask;
  const result = await runChild(task);
  if (process.send) {
    process.send(result);
    process.disconnect();
  } else {
    console.log(JSON.stringify(result)); // run by hand
  }
} else if (process.argv[1] !== undefined && resolve(process.argv[1]) === here("./cache-memory.ts")) {
  await runCacheBench({
    quick: process.argv.includes("--quick"),
    pods: argument("--pods")?.split(",").map(Number),
    measures: argument("--measure")?.split(",") as Measure[] | undefined,
    profileDir: argument("--profile"),
    baseline: argument("--baseline"),
    repeats: argument("--repeats") === undefined ? undefined : Number(argument("--repeats")),
  });
}
