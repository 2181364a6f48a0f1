import { createClient } from "graphql-sse";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import { allNamespaces } from "../../src/kube/list-watch-source.ts";
import { podResource } from "../../src/kube/resources.ts";
import { type RunningKubesub, startOnMemoryCluster } from "../helpers/kubesub-server.ts";
import { podFixture } from "../helpers/pods.ts";
import { take } from "../helpers/streams.ts";

let kubesub: RunningKubesub & { cluster: import("../../src/kube/memory-cluster.ts").MemoryCluster };

beforeEach(async () => {
  kubesub = await startOnMemoryCluster();
  kubesub.cluster.create(podResource, podFixture("team-a", "alice-1", { user: "alice" }));
});
afterEach(() => kubesub.close());

const scrape = async () => (await fetch(`${kubesub.origin}/metrics`)).text();
const value = (text: string, series: string) =>
  Number(
    text
      .split("\n")
      .find((line) => line.startsWith(`${series} `))
      ?.split(" ")[1] ?? Number.NaN,
  );

it("/metrics counts open subscriptions, deliveries, delivery latency and the informers behind them", async () => {
  const client = createClient({ url: `${kubesub.origin}/graphql`, singleConnection: false, retryAttempts: 0 });
  const stream = client.iterate({ query: `subscription { podEvents(project: "team-a") { __typename } }` });
  await take(stream, { count: 2 });
  kubesub.cluster.update<KubePod>(podResource, "team-a", "alice-1", (pod) => {
    pod.status = { phase: "Running" };
  });
  await take(stream, { count: 1 });

  const text = await scrape();
  expect(value(text, 'kubesub_subscriptions_active{field="podEvents"}')).toBe(1);
  expect(value(text, 'kubesub_events_delivered_total{field="podEvents"}')).toBe(3);
  // The snapshot is not a change: only the live update counts towards delivery latency.
  expect(value(text, 'kubesub_event_delivery_latency_seconds_count{field="podEvents"}')).toBe(1);
  expect(value(text, 'kubesub_informer_synced{informer="pods/*"}')).toBe(1);
  expect(value(text, 'kubesub_informer_relists_total{informer="pods/*"}')).toBe(0);
  expect(text).toContain("# TYPE kubesub_event_delivery_latency_seconds histogram");

  await stream.return?.();
  client.dispose();
});

/** Every metric name in an exposition: from # HELP and # TYPE lines and from samples. */
const metricNames = (text: string) =>
  new Set(
    text
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => (line.startsWith("# ") ? line.split(" ")[2] : /^[^{ ]+/.exec(line)?.[0]) ?? line),
  );

it("/metrics names start with kubesub_ exactly once, and its counters, the informers' restarts and relists too, end in _total", async () => {
  const client = createClient({ url: `${kubesub.origin}/graphql`, singleConnection: false, retryAttempts: 0 });
  const stream = client.iterate({ query: `subscription { podEvents(project: "team-a") { __typename } }` });
  await take(stream, { count: 2 });
  const metric = async (series: string) => value(await scrape(), `${series}{informer="pods/*"}`);
  const watching = () => expect(kubesub.cluster.activeWatches(podResource, allNamespaces)).toBe(1);
  // A reset connection: the watch restarts. Then a 410 Gone: the informer relists.
  await vi.waitFor(watching);
  kubesub.cluster.breakWatches();
  await vi.waitFor(async () => expect(await metric("kubesub_informer_watch_restarts_total")).toBe(1), { timeout: 5_000 });
  await vi.waitFor(watching, { timeout: 5_000 });
  kubesub.cluster.compact();
  kubesub.cluster.expireWatches();
  await vi.waitFor(async () => expect(await metric("kubesub_informer_relists_total")).toBe(1), { timeout: 5_000 });
  expect(await metric("kubesub_informer_watch_restarts_total")).toBe(1);

  const text = await scrape();
  const names = [...metricNames(text)];
  expect(names.length).toBeGreaterThan(20);
  expect(names.filter((name) => !/^kubesub_/.test(name) || /^kubesub_.*kubesub_/.test(name))).toEqual([]);
  expect(text).not.toMatch(/process_process|nodejs_nodejs/);
  // Node.js's process metrics under the same single prefix.
  expect(text).toContain("# TYPE kubesub_process_cpu_seconds_total counter");
  expect(text).toContain("# TYPE kubesub_nodejs_heap_size_used_bytes gauge");
  expect(text).toContain("# TYPE kubesub_informer_watch_restarts_total counter");
  expect(text).toContain("# TYPE kubesub_informer_relists_total counter");
  expect(names).not.toContain("kubesub_informer_watch_restarts");
  expect(names).not.toContain("kubesub_informer_relists");
  const counters = [...text.matchAll(/^# TYPE (\S+) counter$/gm)].map((match) => match[1]);
  expect(counters.filter((name) => !name.endsWith("_total"))).toEqual([]);

  await stream.return?.();
  client.dispose();
});

it("every response carries a request id, the caller's own when it sends a well-formed one", async () => {
  const mine = await fetch(`${kubesub.origin}/healthz`, { headers: { "x-request-id": "ui-42.retry:1" } });
  expect(mine.headers.get("x-request-id")).toBe("ui-42.retry:1");
  const forged = await fetch(`${kubesub.origin}/healthz`, { headers: { "x-request-id": "not an id; drop table" } });
  expect(forged.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
});
