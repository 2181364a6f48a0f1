// `bash bin/node24 --expose-gc bench/events-cost.ts`: what serving the Kubernetes Events of IDE
// pods (FailedScheduling, Pulling, BackOff...) would cost kubesub, measured on a real kube-apiserver
// + etcd (tools/control-plane), against what Pod.reason and Pod.message already tell.
//
// The control plane runs no scheduler and no kubelet: this writes the Events they write for a
// realistic JupyterLab pod (an init container and two containers: test/helpers/realistic-objects.ts)
// in four starts, each in its own namespace, as they write them: kube-scheduler through
// events.k8s.io/v1 (a repeat becomes a series patch), the kubelet and the cluster-autoscaler through
// core/v1 (a repeat patches count and lastTimestamp), the kubelet within client-go's spam filter
// (tools/record: 25 writes per source and object, then one every 5 minutes):
// - ready: Scheduled, then Pulling, Pulled, Created, Started per container, and a readiness probe
//   that fails twice (Unhealthy) before the pod is Ready;
// - waits for a node: FailedScheduling, again (series count 2), the autoscaler's TriggeredScaleUp,
//   then as ready;
// - image not found, its first hour: the pull fails (Failed, ErrImagePull), ImagePullBackOff, and
//   the kubelet's repeats until its spam filter allows no more (37 writes in the hour);
// - CrashLoopBackOff, its first hour: as ready, then restarts and BackOff up to the same 37.
// Measured per start: the Event objects it leaves, the writes, the bytes and frames an events
// watch of the namespace receives in JSON and in protobuf, a LIST of them in JSON, and how many of
// them a field selector on the pod's uid, and a label selector on the pod's labels, select. Then, with
// --expose-gc, the heap of 20,000 cached Events (as kubesub caches objects it does not model: parsed
// JSON less managedFields; and reduced to what a UI would show), and what Pod.reason's fields add
// to a slim cached pod. Figures go to bench/results/events-cost.json.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import https from "node:https";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import type { KubePod } from "../src/domain/pod.ts";
import { slimPod } from "../src/domain/slim.ts";
import { LocalControlPlane, resolveBinaries } from "../test/helpers/control-plane-processes.ts";
import { type RealisticPodState, realisticJupyterLabPod, unschedulableMessage } from "../test/helpers/realistic-objects.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc: bash bin/node24 --expose-gc bench/events-cost.ts");

interface Target {
  server: string;
  ca: string;
  token: string;
}

function call(target: Target, method: string, path: string, body?: unknown, contentType = "application/json"): Promise<string> {
  return new Promise((done, fail) => {
    const request = https.request(
      new URL(path, target.server),
      {
        method,
        ca: target.ca,
        headers: { authorization: `Bearer ${target.token}`, "content-type": contentType, accept: "application/json" },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if ((response.statusCode ?? 0) >= 300) fail(new Error(`${method} ${path}: HTTP ${response.statusCode} ${text.slice(0, 300)}`));
          else done(text);
        });
      },
    );
    request.on("error", fail);
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A watch of a namespace's core/v1 Events, counting what it receives: bytes, and frames (JSON lines, or protobuf's length-prefixed frames). */
function watchEvents(target: Target, namespace: string, protobuf: boolean) {
  const counted = { bytes: 0, frames: 0 };
  let pending = Buffer.alloc(0);
  const request = https.get(
    new URL(`/api/v1/namespaces/${namespace}/events?watch=1&allowWatchBookmarks=false`, target.server),
    {
      ca: target.ca,
      headers: {
        authorization: `Bearer ${target.token}`,
        accept: protobuf ? "application/vnd.kubernetes.protobuf;stream=watch" : "application/json",
      },
    },
    (response) => {
      response.on("data", (chunk: Buffer) => {
        counted.bytes += chunk.length;
        if (!protobuf) {
          counted.frames += chunk.toString("latin1").split("\n").length - 1;
          return;
        }
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
          counted.frames += 1;
          pending = pending.subarray(4 + pending.readUInt32BE(0));
        }
      });
    },
  );
  request.on("error", () => {});
  return { counted, stop: () => request.destroy() };
}

// ---- the Events of a start, as the scheduler, the autoscaler and the kubelet write them --------------

const node = "worker-07.cluster.example.org";
const images: Record<string, string> = {
  "block-cloud-metadata": "quay.io/jupyterhub/k8s-network-tools:3.3.7",
  notebook: "quay.io/jupyter/scipy-notebook:2024-05-27",
  "oauth2-proxy": "quay.io/oauth2-proxy/oauth2-proxy:v7.6.0",
};
const initContainers = ["block-cloud-metadata"];
const containers = ["notebook", "oauth2-proxy"];

class EventWriter {
  writes = 0;
  private readonly byKey = new Map<string, { name: string; count: number; series: boolean }>();
  private clock = Date.parse("2024-05-01T10:00:00Z");
  private sequence = 0;
  private readonly target: Target;
  private readonly pod: KubePod;
  constructor(target: Target, pod: KubePod) {
    this.target = target;
    this.pod = pod;
  }

  private get namespace() {
    return this.pod.metadata?.namespace ?? "";
  }
  private tick(seconds: number): string {
    this.clock += seconds * 1000;
    return new Date(this.clock).toISOString();
  }
  private involved(fieldPath?: string) {
    const meta = this.pod.metadata ?? {};
    return {
      kind: "Pod",
      namespace: meta.namespace,
      name: meta.name,
      uid: meta.uid,
      apiVersion: "v1",
      resourceVersion: "1000123",
      fieldPath,
    };
  }
  private name(): string {
    this.sequence += 1;
    return `${this.pod.metadata?.name}.${(0x17e3a5c2b4d00000 + this.sequence * 7919).toString(16)}`;
  }

  /** kube-scheduler (events.k8s.io/v1): the first occurrence is created, a repeat patches its series. */
  async scheduler(reason: string, note: string, type = "Normal"): Promise<void> {
    const key = `scheduler/${reason}/${note}`;
    const at = this.tick(1).replace("Z", "000Z");
    const known = this.byKey.get(key);
    this.writes += 1;
    if (known) {
      known.count += 1;
      await call(
        this.target,
        "PATCH",
        `/apis/events.k8s.io/v1/namespaces/${this.namespace}/events/${known.name}`,
        { series: { count: known.count, lastObservedTime: at } },
        "application/merge-patch+json",
      );
      return;
    }
    const name = this.name();
    this.byKey.set(key, { name, count: 1, series: true });
    await call(this.target, "POST", `/apis/events.k8s.io/v1/namespaces/${this.namespace}/events`, {
      metadata: { name, namespace: this.namespace },
      eventTime: at,
      reportingController: "default-scheduler",
      reportingInstance: "default-scheduler-control-plane-1",
      action: "Scheduling",
      reason,
      regarding: this.involved(),
      note,
      type,
    });
  }

  /** The kubelet or the cluster-autoscaler (core/v1): the first occurrence is created, a repeat patches count and lastTimestamp. */
  async core(
    component: "kubelet" | "cluster-autoscaler",
    reason: string,
    message: string,
    type = "Normal",
    container?: string,
  ): Promise<void> {
    const fieldPath = container ? `spec.${initContainers.includes(container) ? "initContainers" : "containers"}{${container}}` : undefined;
    const key = `${component}/${reason}/${message}/${fieldPath}`;
    const at = this.tick(1).replace(/\.\d+Z$/, "Z");
    const known = this.byKey.get(key);
    this.writes += 1;
    if (known) {
      known.count += 1;
      await call(
        this.target,
        "PATCH",
        `/api/v1/namespaces/${this.namespace}/events/${known.name}`,
        { count: known.count, lastTimestamp: at },
        "application/merge-patch+json",
      );
      return;
    }
    const name = this.name();
    this.byKey.set(key, { name, count: 1, series: false });
    await call(this.target, "POST", `/api/v1/namespaces/${this.namespace}/events`, {
      metadata: { name, namespace: this.namespace },
      involvedObject: this.involved(fieldPath),
      reason,
      message,
      source: component === "kubelet" ? { component, host: node } : { component },
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
      type,
      reportingComponent: component,
      reportingInstance: component === "kubelet" ? node : "",
    });
  }

  /** A container started: Pulling, Pulled, Created, Started, as the kubelet words them. */
  async startContainer(container: string): Promise<void> {
    const image = images[container] ?? "";
    await this.core("kubelet", "Pulling", `Pulling image "${image}"`, "Normal", container);
    await this.core(
      "kubelet",
      "Pulled",
      `Successfully pulled image "${image}" in 14.312s (14.312s including waiting). Image size: 1482711302 bytes.`,
      "Normal",
      container,
    );
    await this.core("kubelet", "Created", `Created container: ${container}`, "Normal", container);
    await this.core("kubelet", "Started", `Started container ${container}`, "Normal", container);
  }
}

/** client-go's spam filter: 25 writes per source and object, then one every 300 s (tools/record/events_cache.go). */
const kubeletWritesInFirstHour = 25 + Math.floor(3600 / 300);

type Scenario = "ready" | "waits for a node" | "image not found, first hour" | "CrashLoopBackOff, first hour";

async function play(scenario: Scenario, writer: EventWriter, pod: KubePod): Promise<void> {
  const scheduled = () =>
    writer.scheduler("Scheduled", `Successfully assigned ${pod.metadata?.namespace}/${pod.metadata?.name} to ${node}`);
  if (scenario === "waits for a node") {
    await writer.scheduler("FailedScheduling", unschedulableMessage, "Warning");
    await writer.scheduler("FailedScheduling", unschedulableMessage, "Warning");
    await writer.core(
      "cluster-autoscaler",
      "TriggeredScaleUp",
      "pod triggered scale-up: [{notebooks-cpu-pool 12->13 (max: 40)}]",
      "Normal",
    );
  }
  await scheduled();
  for (const container of initContainers) await writer.startContainer(container);
  let kubeletWrites = 4;
  if (scenario === "image not found, first hour") {
    const image = "quay.io/jupyter/scipy-notebook:2024-05-99";
    const cycle = [
      () => writer.core("kubelet", "Pulling", `Pulling image "${image}"`, "Normal", "notebook"),
      () =>
        writer.core(
          "kubelet",
          "Failed",
          `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`,
          "Warning",
          "notebook",
        ),
      () => writer.core("kubelet", "Failed", "Error: ErrImagePull", "Warning", "notebook"),
      () => writer.core("kubelet", "BackOff", `Back-off pulling image "${image}"`, "Normal", "notebook"),
      () => writer.core("kubelet", "Failed", "Error: ImagePullBackOff", "Warning", "notebook"),
    ];
    for (const write of cycle) await write();
    kubeletWrites += cycle.length;
    await writer.startContainer("oauth2-proxy");
    kubeletWrites += 4;
    // The pull retries; BackOff and ImagePullBackOff repeat at every sync in between: the spam filter decides.
    for (let i = 0; kubeletWrites < kubeletWritesInFirstHour; i += 1, kubeletWrites += 1)
      await (cycle[i % cycle.length] as () => Promise<void>)();
    return;
  }
  for (const container of containers) await writer.startContainer(container);
  kubeletWrites += 8;
  if (scenario === "CrashLoopBackOff, first hour") {
    const image = images.notebook ?? "";
    const restart = [
      () => writer.core("kubelet", "Pulled", `Container image "${image}" already present on machine`, "Normal", "notebook"),
      () => writer.core("kubelet", "Created", "Created container: notebook", "Normal", "notebook"),
      () => writer.core("kubelet", "Started", "Started container notebook", "Normal", "notebook"),
      () =>
        writer.core(
          "kubelet",
          "BackOff",
          `Back-off restarting failed container notebook in pod ${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid})`,
          "Warning",
          "notebook",
        ),
    ];
    for (let i = 0; kubeletWrites < kubeletWritesInFirstHour; i += 1, kubeletWrites += 1)
      await (restart[i % restart.length] as () => Promise<void>)();
    return;
  }
  // A readiness probe that fails twice while JupyterLab starts.
  for (let i = 0; i < 2; i += 1) {
    await writer.core(
      "kubelet",
      "Unhealthy",
      'Readiness probe failed: Get "http://10.42.0.17:8888/api": dial tcp 10.42.0.17:8888: connect: connection refused',
      "Warning",
      "notebook",
    );
  }
}

interface StartCost {
  scenario: Scenario;
  objects: number;
  writes: number;
  watchJsonBytes: number;
  watchJsonFrames: number;
  watchProtobufBytes: number;
  watchProtobufFrames: number;
  listJsonBytes: number;
  /** Of its Events, those a field selector on the pod's uid lists, and those a selector on the pod's IDE label lists. */
  selectedByPodUid: number;
  selectedByPodLabel: number;
}

/** Waits until both watches have received `frames` frames (bounded). */
async function received(watches: { counted: { frames: number } }[], frames: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (watches.some((w) => w.counted.frames < frames)) {
    if (Date.now() > deadline) throw new Error(`watches received ${watches.map((w) => w.counted.frames)} of ${frames} frames`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function measureStart(target: Target, scenario: Scenario, index: number): Promise<{ cost: StartCost; items: object[] }> {
  const namespace = `events-${index}`;
  await call(target, "POST", "/api/v1/namespaces", { metadata: { name: namespace } });
  const state: RealisticPodState = scenario === "waits for a node" ? "pending" : "ready";
  const pod = realisticJupyterLabPod({ namespace, state, index, name: "jupyter-alice-0" });
  const json = watchEvents(target, namespace, false);
  const protobuf = watchEvents(target, namespace, true);
  await new Promise((resolve) => setTimeout(resolve, 500)); // both watches established
  const writer = new EventWriter(target, pod);
  await play(scenario, writer, pod);
  await received([json, protobuf], writer.writes);
  json.stop();
  protobuf.stop();
  const list = await call(target, "GET", `/api/v1/namespaces/${namespace}/events`);
  const items = (JSON.parse(list) as { items: object[] }).items;
  // One pod's Events can be selected by its uid (a field selector); not by the pod's labels, which Events do not carry.
  const byUid = await call(target, "GET", `/api/v1/namespaces/${namespace}/events?fieldSelector=involvedObject.uid%3D${pod.metadata?.uid}`);
  const byLabel = await call(target, "GET", `/api/v1/namespaces/${namespace}/events?labelSelector=kubesub.io%2Fide%3Djupyterlab`);
  return {
    cost: {
      scenario,
      objects: items.length,
      writes: writer.writes,
      watchJsonBytes: json.counted.bytes,
      watchJsonFrames: json.counted.frames,
      watchProtobufBytes: protobuf.counted.bytes,
      watchProtobufFrames: protobuf.counted.frames,
      listJsonBytes: Buffer.byteLength(list),
      selectedByPodUid: (JSON.parse(byUid) as { items: object[] }).items.length,
      selectedByPodLabel: (JSON.parse(byLabel) as { items: object[] }).items.length,
    },
    items,
  };
}

// ---- memory -----------------------------------------------------------------------------------------

/** Heap bytes per object of what make() returns for each of `count` inputs, after full GCs. */
function heapPerObject<T>(count: number, make: (i: number) => T): number {
  gc?.();
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const kept: T[] = new Array(count);
  for (let i = 0; i < count; i += 1) kept[i] = make(i);
  gc?.();
  gc?.();
  const after = process.memoryUsage().heapUsed;
  if (kept.length !== count) throw new Error("unreachable");
  return (after - before) / count;
}

/** What a UI would show of an Event (kubectl describe's Events table): kept, the rest dropped. */
function slimEvent(event: Record<string, unknown>): object {
  const e = event as {
    metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
    involvedObject?: { kind?: string; name?: string; uid?: string; fieldPath?: string };
    reason?: string;
    message?: string;
    type?: string;
    count?: number;
    series?: { count?: number };
    lastTimestamp?: string;
    eventTime?: string;
  };
  return {
    metadata: {
      name: e.metadata?.name,
      namespace: e.metadata?.namespace,
      uid: e.metadata?.uid,
      resourceVersion: e.metadata?.resourceVersion,
    },
    involvedObject: {
      kind: e.involvedObject?.kind,
      name: e.involvedObject?.name,
      uid: e.involvedObject?.uid,
      fieldPath: e.involvedObject?.fieldPath,
    },
    reason: e.reason,
    message: e.message,
    type: e.type,
    count: e.count ?? e.series?.count,
    lastTimestamp: e.lastTimestamp ?? e.eventTime,
  };
}

function measureMemory(items: Record<string, unknown>[]) {
  const count = 20_000;
  // Each copy its own text, so that nothing is shared that an informer would not share.
  const texts = items.map((item) => {
    const { managedFields: _dropped, ...metadata } = item.metadata as Record<string, unknown>;
    return JSON.stringify({ ...item, metadata });
  });
  const textOf = (i: number) => (texts[i % texts.length] as string).replace('"name":"jupyter-alice-0.', `"name":"jupyter-alice-${i}.`);
  const cachedEvent = heapPerObject(count, (i) => JSON.parse(textOf(i)));
  const shownEvent = heapPerObject(count, (i) => slimEvent(JSON.parse(textOf(i))));
  // What Pod.reason's fields add to a slim cached pod that is not ready: the same pods without
  // them (no scheduler's condition, no image or last termination) made slim the same way.
  const withoutReasons = (pod: KubePod): KubePod => {
    for (const c of pod.status?.containerStatuses ?? []) {
      delete c.image;
      delete c.lastState;
    }
    if (pod.status) pod.status.conditions = pod.status.conditions?.filter((c) => c.type !== "PodScheduled");
    return pod;
  };
  const stuck: RealisticPodState[] = ["pending", "crashloop", "imagepull"];
  const podTexts = (state: RealisticPodState) =>
    Array.from({ length: 64 }, (_, i) => JSON.stringify(realisticJupyterLabPod({ state, index: i + 1, user: `user-${i}` })));
  const podCost = Object.fromEntries(
    stuck.map((state) => {
      const source = podTexts(state);
      const slim = heapPerObject(count, (i) => slimPod(JSON.parse(source[i % source.length] as string) as KubePod));
      const before = heapPerObject(count, (i) => slimPod(withoutReasons(JSON.parse(source[i % source.length] as string) as KubePod)));
      return [
        state,
        { slimPodBytes: Math.round(slim), withoutReasonFieldsBytes: Math.round(before), addedBytes: Math.round(slim - before) },
      ];
    }),
  );
  const readyText = podTexts("ready");
  const readyPod = heapPerObject(count, (i) => slimPod(JSON.parse(readyText[i % readyText.length] as string) as KubePod));
  return {
    cachedEventBytes: Math.round(cachedEvent),
    shownEventBytes: Math.round(shownEvent),
    readySlimPodBytes: Math.round(readyPod),
    stuckPods: podCost,
  };
}

// ---- main ---------------------------------------------------------------------------------------------

const scenarios: Scenario[] = ["ready", "waits for a node", "image not found, first hour", "CrashLoopBackOff, first hour"];

const plane = await LocalControlPlane.prepare({ binaries: resolveBinaries(), log: (m) => console.error(`control plane: ${m}`) });
process.once("exit", () => plane.killNow());
try {
  await plane.start();
  const target: Target = { server: plane.apiServerUrl("main"), ca: plane.ca, token: plane.tokens.admin };
  const costs: StartCost[] = [];
  const allItems: Record<string, unknown>[] = [];
  for (const [i, scenario] of scenarios.entries()) {
    const { cost, items } = await measureStart(target, scenario, i);
    console.error(JSON.stringify(cost));
    costs.push(cost);
    allItems.push(...(items as Record<string, unknown>[]));
  }
  const memory = measureMemory(allItems);
  console.error(JSON.stringify(memory));
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  writeFileSync(
    fileURLToPath(new URL("results/events-cost.json", import.meta.url)),
    `${JSON.stringify({ machine, commit, date: new Date().toISOString(), kubeApiServer: "v1.36.3", starts: costs, memory }, null, 2)}\n`,
  );
  const kib = (n: number) => (n / 1024).toFixed(1);
  console.log(
    [
      `Machine: ${machine}; kube-apiserver v1.36.3; the Events of one JupyterLab pod's start`,
      "",
      "| start | Event objects | writes | watch JSON KiB (frames) | watch protobuf KiB (frames) | LIST JSON KiB | by pod uid / by pod label |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...costs.map(
        (c) =>
          `| ${c.scenario} | ${c.objects} | ${c.writes} | ${kib(c.watchJsonBytes)} (${c.watchJsonFrames}) | ${kib(c.watchProtobufBytes)} (${c.watchProtobufFrames}) | ${kib(c.listJsonBytes)} | ${c.selectedByPodUid} / ${c.selectedByPodLabel} |`,
      ),
      "",
      `Heap per cached Event: ${memory.cachedEventBytes} B as parsed less managedFields, ${memory.shownEventBytes} B reduced to what a UI shows.`,
      `Heap per slim cached pod: ready ${memory.readySlimPodBytes} B; ${Object.entries(memory.stuckPods)
        .map(([state, c]) => `${state} ${c.slimPodBytes} B (+${c.addedBytes} B for reason and message)`)
        .join(", ")}.`,
    ].join("\n"),
  );
} finally {
  await plane.stop();
}
