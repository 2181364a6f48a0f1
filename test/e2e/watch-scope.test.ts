// --watch-scope on the real apiserver, with kubesub in its own process so that its TCP connections
// to the apiserver can be counted from /proc. With cluster scope, one list and watch per resource
// type serves every project; with namespace scope there is one per resource and project, and
// HTTP/2 multiplexes them over a few connections. Set KUBESUB_E2E_SCOPE_PROJECTS (for example
// "10,100,1000") to measure other scales; CI runs 100.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlPlane } from "../helpers/control-plane.ts";
import { kubeConfigFor } from "../helpers/control-plane-kube.ts";
import { type KubesubProcess, startKubesubProcess } from "../helpers/kubesub-process.ts";
import { readSse } from "../helpers/sse.ts";
import { take } from "../helpers/streams.ts";
import { createPod } from "./support.ts";

const cp = controlPlane();
const scales = (process.env.KUBESUB_E2E_SCOPE_PROJECTS ?? "100").split(",").map(Number);
const apiServerPort = Number(new URL(cp.info.apiServers.main).port);
const run = Math.random().toString(16).slice(2, 8);
const projects = Array.from({ length: Math.max(...scales, 10) }, (_, i) => `scope-${run}-${i}`);

/** Runs the tasks with at most `width` at a time. */
async function inBatches<T>(items: T[], width: number, task: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(task));
}

beforeAll(async () => {
  // Namespaces of this file stay until the control plane goes: deleting hundreds takes longer than
  // the tests, and other files' cluster-wide informers only see a pod more per namespace.
  const writer = cp.core("admin", "writer");
  await inBatches(projects, 25, async (name) => {
    await writer.createNamespace({ body: { metadata: { name, labels: { "kubesub.io/e2e": "true" } } } });
    await createPod(writer, name, `${name}-pod`, "alice");
  });
}, 300_000);

const streamsOf = (project: string) => [
  `subscription { podEvents(project: "${project}") { __typename ... on PodAdded { pod { name namespace } } ... on InitialStateComplete { count } } }`,
  `subscription { ideEvents(project: "${project}") { __typename } }`,
  `subscription { daskEvents(project: "${project}") { __typename } }`,
];

/** Opens a stream, reads it up to InitialStateComplete, returns its frames' data and what closes it. */
async function open(origin: string, query: string) {
  const controller = new AbortController();
  const response = await fetch(`${origin}/graphql`, {
    method: "POST",
    headers: { accept: "text/event-stream", "content-type": "application/json" },
    body: JSON.stringify({ query }),
    signal: controller.signal,
  });
  const frames = await take(readSse(response.body as ReadableStream<Uint8Array>), {
    until: (frame) => frame.data.includes("InitialStateComplete") || frame.data.includes("errors"),
    timeoutMs: 60_000,
  });
  return { data: frames.map((frame) => frame.data), close: () => controller.abort() };
}

describe("--watch-scope", () => {
  let kubesub: KubesubProcess | undefined;
  afterAll(() => kubesub?.stop());

  const cases = scales.flatMap((scale) => [
    { scope: "cluster", scale },
    // One watch per resource and project: 6,000 watches at 1,000 projects is more than the local
    // apiserver is worth loading in a test; namespace scope is measured up to 100.
    ...(scale <= 100 ? [{ scope: "namespace", scale }] : []),
  ]);
  for (const { scope, scale } of cases) {
    // cluster: six watches. namespace: six per project, multiplexed over HTTP/2, up to 100 streams
    // a connection (undici's default, under the apiserver's own limit).
    const limit = scope === "cluster" ? 10 : Math.ceil((6 * scale) / 100) + 4;
    it(`${scope}: ${scale} active projects, streams over all six resource types, at most ${limit} connections to the apiserver, each stream only its project`, async () => {
      kubesub = await startKubesubProcess(kubeConfigFor(cp.info, "admin", "main"), [
        "--auth",
        "none",
        "--watch-scope",
        scope,
        "--max-subscriptions-per-identity",
        String(scale * 3 + 10),
      ]);
      const active = projects.slice(0, scale);
      const byProject = new Map<string, Awaited<ReturnType<typeof open>>[]>();
      const started = Date.now();
      await inBatches(active, 50, async (project) => {
        const opened: Awaited<ReturnType<typeof open>>[] = [];
        for (const query of streamsOf(project)) opened.push(await open(kubesub?.origin ?? "", query));
        byProject.set(project, opened);
      });
      const streams = [...byProject.values()].flat();
      const subscribeSeconds = (Date.now() - started) / 1000;
      const connections = kubesub.connectionsTo(apiServerPort);
      console.info(
        `--watch-scope ${scope}, ${scale} projects, ${streams.length} streams: ${connections} apiserver connections; subscribed in ${subscribeSeconds} s`,
      );

      expect(streams.flatMap((stream) => stream.data).filter((data) => data.includes("errors"))).toEqual([]);
      for (const project of active) {
        const podStream = byProject.get(project)?.[0];
        expect(podStream?.data.map((d) => JSON.parse(d).data.podEvents)).toEqual([
          { __typename: "PodAdded", pod: { name: `${project}-pod`, namespace: project } },
          { __typename: "InitialStateComplete", count: 1 },
        ]);
      }
      expect(connections).toBeGreaterThan(0);
      expect(connections).toBeLessThanOrEqual(limit);
      for (const stream of streams) stream.close();
      await kubesub.stop();
      kubesub = undefined;
    }, 600_000);
  }

  it("cluster, without cluster-wide list and watch (RBAC): ResourceUnavailable FORBIDDEN says so, and the stream goes on", async () => {
    // alice may read pods only in the namespaces she is bound in; as kubesub's identity she cannot list them cluster-wide.
    kubesub = await startKubesubProcess(kubeConfigFor(cp.info, "alice", "main"), ["--auth", "none", "--watch-scope", "cluster"]);
    const stream = await open(
      kubesub.origin,
      `subscription { podEvents(project: "${projects[0]}") { __typename ... on ResourceUnavailable { resource reason message } ... on InitialStateComplete { count } } }`,
    );
    const events = stream.data.map((d) => JSON.parse(d).data.podEvents);
    expect(events[0]).toMatchObject({ __typename: "ResourceUnavailable", resource: "pods", reason: "FORBIDDEN" });
    expect(events[0].message).toContain("--watch-scope");
    expect(events.at(-1)).toEqual({ __typename: "InitialStateComplete", count: 0 });
    stream.close();
    await kubesub.stop();
    kubesub = undefined;
  }, 120_000);
});
