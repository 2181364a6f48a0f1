// `npm run bench -- --snapshot [--pods 50000] [--repeats 3] [--baseline DIR]`: how long a project of
// many realistic pods takes to reach InitialStateComplete when kubesub lists them from a real
// kube-apiserver + etcd (tools/control-plane), and what of that time is the apiserver's own.
//
// The pods are test/helpers/realistic-objects.ts's JupyterLab pods (about 19 KiB of JSON each as
// the apiserver serves them, with the managedFields it writes), created as a client would and
// given their status as a kubelet would, in one namespace. The writer apiserver is stopped once
// they are in: only etcd and the apiserver kubesub lists from share the machine with kubesub.
//
// Measured, each a fresh process, the median of --repeats runs:
// - the apiserver alone (node:https, bodies read and thrown away): a paginated LIST (500 a page)
//   in JSON and in protobuf, and a streaming list (watch with sendInitialEvents) in protobuf until
//   its initial-events-end bookmark;
// - kubesub (src/app.ts with kubeApiSources, --watch-scope cluster, --auth none): from the
//   subscription request of the dashboard's PodEvents (examples/operations/pods.graphql) over
//   HTTP until its InitialStateComplete frame, with when the pods' LIST had been read;
// - with --baseline DIR, the same of an earlier checkout of kubesub (`git worktree add DIR <commit>`).
// Figures go to bench/results/snapshot.json.
import { execFileSync, fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import https from "node:https";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalControlPlane, resolveBinaries } from "../test/helpers/control-plane-processes.ts";
import { realisticJupyterLabPod } from "../test/helpers/realistic-objects.ts";
import { readToInitialState } from "./initial-state-probe.ts";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const argument = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const project = "bench";

/** What a measuring process needs of the control plane. */
interface Target {
  server: string;
  caPem: string;
  token: string;
  kubeconfigPath: string;
}

type Measure = "apiserver-json" | "apiserver-protobuf" | "apiserver-watchlist" | "kubesub";

interface Sample {
  measure: Measure;
  /** The kubesub checkout measured (kubesub only). */
  root?: string;
  ms: number;
  /** kubesub: when the pods' LIST had been read (as far as the checkout tells: this one's informer sync). */
  listMs?: number;
  bytes?: number;
  frames?: number;
  rssBytes?: number;
}

// ---- measurements, each in a child process --------------------------------------------------------

function get(target: Target, path: string, accept: string, onData?: (chunk: Buffer) => boolean): Promise<{ bytes: number; body?: Buffer }> {
  return new Promise((done, fail) => {
    const request = https.get(
      new URL(path, target.server),
      { ca: target.caPem, headers: { authorization: `Bearer ${target.token}`, accept } },
      (response) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        response.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (onData) {
            if (onData(chunk)) {
              request.destroy();
              done({ bytes });
            }
          } else chunks.push(chunk);
        });
        response.on("end", () => {
          if (response.statusCode !== 200) fail(new Error(`GET ${path}: HTTP ${response.statusCode}`));
          else done({ bytes, body: Buffer.concat(chunks) });
        });
        response.on("error", fail);
      },
    );
    request.on("error", (error) => {
      if (!request.destroyed) fail(error);
    });
  });
}

async function measureApiServer(target: Target, measure: Measure): Promise<Sample> {
  const start = performance.now();
  const pods = `/api/v1/namespaces/${project}/pods`;
  if (measure === "apiserver-watchlist") {
    let tail = "";
    const { bytes } = await get(
      target,
      `${pods}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
      "application/vnd.kubernetes.protobuf;stream=watch",
      (chunk) => {
        const text = tail + chunk.toString("latin1");
        tail = text.slice(-64);
        return text.includes("k8s.io/initial-events-end");
      },
    );
    return { measure, ms: performance.now() - start, bytes };
  }
  const protobuf = measure === "apiserver-protobuf";
  const { decodeList } = await import("../src/kube/protobuf.ts");
  let continueToken: string | undefined;
  let bytes = 0;
  do {
    const query = `limit=500${continueToken ? `&continue=${encodeURIComponent(continueToken)}` : ""}`;
    const { body } = await get(target, `${pods}?${query}`, protobuf ? "application/vnd.kubernetes.protobuf" : "application/json");
    if (!body) throw new Error("no body");
    bytes += body.length;
    // The token only: the items are not decoded.
    continueToken = protobuf
      ? decodeList(body).continueToken
      : (/"continue":"([^"]+)"/.exec(body.subarray(0, 1024).toString("latin1"))?.[1] ?? undefined);
  } while (continueToken);
  return { measure, ms: performance.now() - start, bytes };
}

/** kubesub of the checkout at root, as its src/app.ts and kube-api-source make it. */
async function measureKubesub(target: Target, root: string): Promise<Sample> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const { kubeApiSources } = await import(join(root, "src/kube/kube-api-source.ts"));
  const { createKubesub } = await import(join(root, "src/app.ts"));
  const { benchKubesubOptions } = await import(join(root, "bench/server-process.ts"));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(target.kubeconfigPath);
  kubeConfig.setCurrentContext("admin");
  const app = createKubesub({ ...benchKubesubOptions(kubeApiSources(kubeConfig)), syncTimeoutMs: 600_000, watchScope: "cluster" });
  const { port } = await app.listen(0, "127.0.0.1");
  const start = performance.now();
  let listMs: number | undefined;
  // Polled, not awaited: the informer registry is what every checkout has.
  const probe = setInterval(() => {
    const synced = app.registry
      ?.snapshot?.()
      .some((entry: { key: string; informer: { hasSynced: boolean } }) => entry.key.startsWith("pods") && entry.informer.hasSynced);
    if (synced && listMs === undefined) listMs = performance.now() - start;
  }, 20);
  const { bytes, frames } = await readToInitialState(port, root, project);
  const ms = performance.now() - start;
  clearInterval(probe);
  const rssBytes = process.memoryUsage().rss;
  await app.shutdown();
  return { measure: "kubesub", root, ms, listMs, bytes, frames, rssBytes };
}

// ---- the orchestrator ---------------------------------------------------------------------------

function child(task: { target: Target; measure: Measure; root?: string }): Promise<Sample> {
  const measurement = fork(here("./snapshot-apiserver.ts"), ["--child", JSON.stringify(task)], {
    execArgv: ["--max-old-space-size=16384"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((done, fail) => {
    measurement.once("message", (message) => done(message as Sample));
    measurement.once("exit", (code) => {
      if (code !== 0) fail(new Error(`measurement ${task.measure} exited with ${code}`));
    });
  });
}

/** Creates the pods as a client would, then writes each one's status as its kubelet would; 32 at a time. */
async function createPods(target: Target, count: number): Promise<void> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 32, ca: target.caPem });
  const send = (method: string, path: string, body: unknown) =>
    new Promise<void>((done, fail) => {
      const data = JSON.stringify(body);
      const request = https.request(
        new URL(path, target.server),
        {
          method,
          agent,
          headers: {
            authorization: `Bearer ${target.token}`,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(data),
          },
        },
        (response) => {
          response.resume();
          response.on("end", () => {
            const status = response.statusCode ?? 0;
            if (status >= 300 && status !== 409) fail(new Error(`${method} ${path}: HTTP ${status}`));
            else done();
          });
        },
      );
      request.on("error", fail);
      request.end(data);
    });
  await send("POST", "/api/v1/namespaces", { metadata: { name: project } });
  let next = 0;
  const started = performance.now();
  const writer = async () => {
    for (let i = next++; i < count; i = next++) {
      const { status, metadata, spec, ...pod } = realisticJupyterLabPod({ namespace: project, index: i + 1, user: `user-${i % 100}` });
      const { managedFields, uid, resourceVersion, creationTimestamp, ...meta } = metadata ?? {};
      const created = { ...pod, metadata: meta, spec: { ...spec, priorityClassName: undefined, priority: undefined } };
      await send("POST", `/api/v1/namespaces/${project}/pods`, created);
      await send("PUT", `/api/v1/namespaces/${project}/pods/${meta.name}/status`, { ...created, status });
      if ((i + 1) % 10_000 === 0) console.error(`snapshot: ${i + 1} pods in ${Math.round((performance.now() - started) / 1000)} s`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, writer));
  agent.destroy();
}

export async function runSnapshotBench(options: { pods: number; repeats: number; baseline?: string }): Promise<void> {
  const plane = await LocalControlPlane.prepare({ binaries: resolveBinaries(), log: (m) => console.error(`control plane: ${m}`) });
  const onExit = () => plane.killNow();
  process.once("exit", onExit);
  try {
    await plane.start();
    const target: Target = {
      server: plane.apiServerUrl("main"),
      caPem: plane.ca,
      token: plane.tokens.admin,
      kubeconfigPath: plane.kubeconfigPath,
    };
    await createPods(target, options.pods);
    await plane.stopApiServer("writer");
    const roots = [resolve(here(".."))];
    if (options.baseline) roots.push(resolve(options.baseline));
    const tasks: { measure: Measure; root?: string }[] = [
      { measure: "apiserver-json" },
      { measure: "apiserver-protobuf" },
      { measure: "apiserver-watchlist" },
      ...roots.map((root) => ({ measure: "kubesub" as const, root })),
    ];
    const results: (Sample & { samplesMs: number[] })[] = [];
    for (const task of tasks) {
      const runs: Sample[] = [];
      for (let i = 0; i < options.repeats; i += 1) {
        const sample = await child({ target, ...task });
        console.error(JSON.stringify(sample));
        runs.push(sample);
      }
      runs.sort((a, b) => a.ms - b.ms);
      results.push({ ...(runs[Math.floor(runs.length / 2)] as Sample), samplesMs: runs.map((r) => Math.round(r.ms)) });
    }
    const fmt = (n: number | undefined) => (n === undefined ? "" : Math.round(n).toLocaleString("en-US"));
    const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;
    const commit = (root: string) => execFileSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    console.log(
      [
        `Machine: ${machine}; ${fmt(options.pods)} realistic pods in one project, kube-apiserver v1.36.3`,
        "",
        "| what | median ms (all runs) | LIST read, ms | MB | kubesub RSS, MiB |",
        "| --- | ---: | ---: | ---: | ---: |",
        ...results.map((r) => {
          const what = r.root ? `kubesub ${commit(r.root)} to InitialStateComplete over HTTP` : r.measure;
          const rss = r.rssBytes === undefined ? "" : fmt(r.rssBytes / 2 ** 20);
          return `| ${what} | ${fmt(r.ms)} (${r.samplesMs.map(fmt).join(" / ")}) | ${fmt(r.listMs)} | ${fmt((r.bytes ?? 0) / 1e6)} | ${rss} |`;
        }),
      ].join("\n"),
    );
    writeFileSync(
      here("./results/snapshot.json"),
      `${JSON.stringify({ machine, date: new Date().toISOString(), pods: options.pods, commits: roots.map(commit), results }, null, 2)}\n`,
    );
  } finally {
    await plane.stop();
    process.off("exit", onExit);
  }
}

if (process.argv[2] === "--child") {
  const task = JSON.parse(process.argv[3] as string) as { target: Target; measure: Measure; root?: string };
  const sample =
    task.measure === "kubesub" ? await measureKubesub(task.target, task.root as string) : await measureApiServer(task.target, task.measure);
  process.send?.(sample);
  process.disconnect?.();
} else if (process.argv[1] !== undefined && resolve(process.argv[1]) === here("./snapshot-apiserver.ts")) {
  await runSnapshotBench({
    pods: Number(argument("--pods") ?? 50_000),
    repeats: Number(argument("--repeats") ?? 3),
    baseline: argument("--baseline"),
  });
}
