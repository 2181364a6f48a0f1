import { createClient } from "graphql-sse";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import { podResource } from "../../src/kube/resources.ts";
import { type RunningKubesub, startOnMemoryCluster } from "../helpers/kubesub-server.ts";
import { podFixture } from "../helpers/pods.ts";
import { take } from "../helpers/streams.ts";

let kubesub: RunningKubesub & { cluster: import("../../src/kube/memory-cluster.ts").MemoryCluster };

beforeEach(async () => {
  kubesub = await startOnMemoryCluster();
  kubesub.cluster.create(podResource, podFixture("team-a", "alice-1", "alice"));
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
  expect(value(text, 'kubesub_informer_synced{informer="pods/team-a"}')).toBe(1);
  expect(value(text, 'kubesub_informer_relists{informer="pods/team-a"}')).toBe(0);
  expect(text).toContain("# TYPE kubesub_event_delivery_latency_seconds histogram");

  await stream.return?.();
  client.dispose();
});

it("every response carries a request id, the caller's own when it sends a well-formed one", async () => {
  const mine = await fetch(`${kubesub.origin}/healthz`, { headers: { "x-request-id": "ui-42.retry:1" } });
  expect(mine.headers.get("x-request-id")).toBe("ui-42.retry:1");
  const forged = await fetch(`${kubesub.origin}/healthz`, { headers: { "x-request-id": "not an id; drop table" } });
  expect(forged.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
});
