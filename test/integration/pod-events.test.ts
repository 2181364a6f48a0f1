import { type Client, createClient, type ExecutionResult, NetworkError } from "graphql-sse";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import { allNamespaces } from "../../src/kube/list-watch-source.ts";
import { podResource } from "../../src/kube/resources.ts";
import { type RunningKubesub, startOnMemoryCluster } from "../helpers/kubesub-server.ts";
import { podFixture } from "../helpers/pods.ts";
import { userLabel } from "../helpers/settings.ts";
import { readSse } from "../helpers/sse.ts";
import { take } from "../helpers/streams.ts";

const podEventsDocument = /* GraphQL */ `
  subscription Pods($project: String!, $user: String, $selector: LabelSelectorInput) {
    podEvents(project: $project, user: $user, selector: $selector) {
      __typename
      ... on PodAdded { cause resourceVersion observedAt pod { name user phase status ready restarts } }
      ... on PodUpdated { changedFields resourceVersion pod { name phase status ready restarts } previous { phase } }
      ... on PodDeleted { cause resourceVersion pod { name } }
      ... on InitialStateComplete { count resourceVersion }
      ... on StreamError { code message retryable }
    }
  }
`;

interface PodEvent {
  __typename: string;
  cause?: string;
  count?: number;
  code?: string;
  changedFields?: string[];
  resourceVersion?: string;
  pod?: { name: string; phase?: string; status?: string; ready?: boolean; restarts?: number; user?: string | null };
}

type Result = ExecutionResult<{ podEvents: PodEvent }>;

const summary = (e: PodEvent) => `${e.__typename}:${e.pod?.name ?? e.count ?? e.code}${e.cause ? `:${e.cause}` : ""}`;

// Both --watch-scope settings: one list and watch per resource for the cluster, or per project.
describe.each(["cluster", "namespace"] as const)("--watch-scope %s", (scope) => {
  const watchedNamespace = scope === "cluster" ? allNamespaces : "team-a";
  const listsKey = `pods/${watchedNamespace}`;
  const informerKey = scope === "cluster" ? "pods/*" : "pods/team-a";

  let kubesub: RunningKubesub & { cluster: import("../../src/kube/memory-cluster.ts").MemoryCluster };
  const clients: Client[] = [];

  beforeEach(async () => {
    kubesub = await startOnMemoryCluster({ watchScope: scope });
    const { cluster } = kubesub;
    cluster.create(podResource, podFixture("team-a", "alice-1", { user: "alice" }));
    cluster.create(podResource, podFixture("team-a", "bob-1", { user: "bob" }));
    cluster.create(podResource, podFixture("team-b", "alice-2", { user: "alice" }));
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.dispose();
    await kubesub.close();
  });

  function sseClient(singleConnection: boolean): Client {
    const client = createClient({
      url: `${kubesub.origin}${singleConnection ? "/graphql/stream" : "/graphql"}`,
      singleConnection,
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  }

  function subscribe(client: Client, variables: Record<string, unknown>): AsyncIterableIterator<Result> {
    return client.iterate({ query: podEventsDocument, variables }) as AsyncIterableIterator<Result>;
  }

  const events = (results: Result[]) => results.map((r) => r.data?.podEvents as PodEvent);
  const isComplete = (r: Result) => r.data?.podEvents.__typename === "InitialStateComplete";

  describe.each([
    { mode: "distinct connections (/graphql)", single: false },
    { mode: "single connection (/graphql/stream)", single: true },
  ])("podEvents over graphql-sse, $mode", ({ single }) => {
    it("streams the matching pods, the initial-state marker, then live adds, updates and deletes", async () => {
      const stream = subscribe(sseClient(single), { project: "team-a" });
      const initial = events(await take(stream, { until: isComplete }));
      expect(initial.map(summary).sort()).toEqual(
        ["PodAdded:alice-1:INITIAL_STATE", "PodAdded:bob-1:INITIAL_STATE", "InitialStateComplete:2"].sort(),
      );
      expect(initial.at(-1)?.__typename).toBe("InitialStateComplete");

      const { cluster } = kubesub;
      cluster.create(podResource, podFixture("team-a", "alice-3", { user: "alice" }));
      cluster.update<KubePod>(podResource, "team-a", "alice-3", (pod) => {
        pod.status = { phase: "Running", conditions: [{ type: "Ready", status: "True" }] };
      });
      cluster.create(podResource, podFixture("team-b", "elsewhere", { user: "alice" }));
      cluster.delete(podResource, "team-a", "bob-1");

      const live = events(await take(stream, { count: 3 }));
      expect(live.map(summary)).toEqual(["PodAdded:alice-3:CLUSTER_CHANGE", "PodUpdated:alice-3", "PodDeleted:bob-1:CLUSTER_CHANGE"]);
      expect(live[1]?.changedFields).toEqual(expect.arrayContaining(["phase", "status", "ready"]));
      expect(live[1]?.pod).toMatchObject({ phase: "RUNNING", ready: true, status: "Running" });
      const versions = live.map((e) => Number(e.resourceVersion));
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
      await stream.return?.();
    });

    it("filters by user and moves a pod out of and back into the stream when its label changes", async () => {
      const stream = subscribe(sseClient(single), { project: "team-a", user: "alice" });
      expect(events(await take(stream, { until: isComplete })).map(summary)).toEqual([
        "PodAdded:alice-1:INITIAL_STATE",
        "InitialStateComplete:1",
      ]);
      const relabel = (user: string) =>
        kubesub.cluster.update<KubePod>(podResource, "team-a", "alice-1", (pod) => {
          pod.metadata = { ...pod.metadata, labels: { [userLabel]: user } };
        });
      relabel("bob");
      kubesub.cluster.update<KubePod>(podResource, "team-a", "bob-1", (pod) => {
        pod.status = { phase: "Running" };
      });
      relabel("alice");
      expect(events(await take(stream, { count: 2 })).map(summary)).toEqual([
        "PodDeleted:alice-1:FILTER_CHANGE",
        "PodAdded:alice-1:FILTER_CHANGE",
      ]);
      await stream.return?.();
    });
  });

  describe("podEvents over plain fetch (text/event-stream)", () => {
    it("sends frames with X-Accel-Buffering: no and a label selector applies", async () => {
      kubesub.cluster.create(podResource, podFixture("team-a", "gpu-1", { user: "carol", labels: { tier: "gpu" } }));
      const response = await fetch(`${kubesub.origin}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({
          query: podEventsDocument,
          variables: { project: "team-a", selector: { matchExpressions: [{ key: "tier", operator: "IN", values: ["gpu"] }] } },
        }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/event-stream");
      expect(response.headers.get("x-accel-buffering")).toBe("no");
      const frames = readSse(response.body as ReadableStream<Uint8Array>);
      const first = await take(frames, { count: 2 });
      expect(first.map((f) => f.event)).toEqual(["next", "next"]);
      expect(first.map((f) => summary((JSON.parse(f.data) as Result).data?.podEvents as PodEvent))).toEqual([
        "PodAdded:gpu-1:INITIAL_STATE",
        "InitialStateComplete:1",
      ]);
      await frames.return(undefined);
    });
  });

  describe("bad input", () => {
    it.each([
      [{ project: "Team_A" }, "project"],
      [{ project: "team-a", user: "a,b!=c" }, "user"],
      [{ project: "team-a", user: "x=y" }, "user"],
      [{ project: "team-a", selector: { matchLabels: [{ key: "bad key", value: "v" }] } }, "selector.matchLabels[0].key"],
      [
        { project: "team-a", selector: { matchExpressions: [{ key: "tier", operator: "IN", values: [] }] } },
        "selector.matchExpressions[0].values",
      ],
    ])("%j is refused with BAD_USER_INPUT naming %s, and nothing is watched", async (variables, argument) => {
      const results = await take(subscribe(sseClient(false), variables), { count: 5, timeoutMs: 5_000 }).catch((error: unknown) => [
        { errors: [error] } as unknown as Result,
      ]);
      const errors = (results[0]?.errors ?? []) as unknown as { extensions?: { code?: string; argument?: string }; message: string }[];
      expect(errors[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument });
      expect(kubesub.app.registry.snapshot()).toEqual([]);
    });

    it("a query with a bad project gets a GraphQL error with extensions.code", async () => {
      const response = await fetch(`${kubesub.origin}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: `{ pods(project: "-nope") { name } }` }),
      });
      const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0]?.extensions.code).toBe("BAD_USER_INPUT");
      expect(body.errors[0]?.message).toContain("not a valid namespace name");
    });
  });

  describe("sharing and cleanup", () => {
    it("ten subscribers of one namespace share one list and one watch, and all see a change", async () => {
      const streams = Array.from({ length: 10 }, (_, i) => subscribe(sseClient(i % 2 === 0), { project: "team-a" }));
      await Promise.all(streams.map((s) => take(s, { until: isComplete })));
      expect(kubesub.cluster.stats.lists.get(listsKey)).toBe(1);
      expect(kubesub.cluster.activeWatches(podResource, watchedNamespace)).toBe(1);
      expect(kubesub.app.views.snapshot()).toEqual([{ key: "pods/team-a", references: 10 }]);
      expect(kubesub.app.registry.snapshot()).toEqual([
        expect.objectContaining({ key: informerKey, references: 1 }),
        // Which namespaces exist (one cluster-wide informer, whatever the scope), held by the view.
        expect.objectContaining({ key: "namespaces/*", references: 1 }),
      ]);

      kubesub.cluster.create(podResource, podFixture("team-a", "new-1", { user: "dan" }));
      const received = await Promise.all(streams.map((s) => take(s, { count: 1 })));
      expect(received.map((r) => summary(events(r)[0] as PodEvent))).toEqual(Array(10).fill("PodAdded:new-1:CLUSTER_CHANGE"));
      await Promise.all(streams.map((s) => s.return?.()));
    });

    it("a client that disconnects releases its informer reference within a second", async () => {
      const abort = new AbortController();
      const response = await fetch(`${kubesub.origin}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ query: podEventsDocument, variables: { project: "team-a" } }),
        signal: abort.signal,
      });
      const frames = readSse(response.body as ReadableStream<Uint8Array>);
      await take(frames, { until: (f) => f.data.includes("InitialStateComplete") });
      expect(kubesub.app.registry.snapshot()[0]?.references).toBe(1);

      const abortedAt = Date.now();
      abort.abort();
      await vi.waitFor(() => expect(kubesub.app.registry.snapshot()[0]?.references).toBe(0), { timeout: 1_000, interval: 10 });
      expect(Date.now() - abortedAt).toBeLessThan(1_000);
    });
  });

  describe("queries, health and shutdown", () => {
    it("pods answers from the informer cache", async () => {
      const response = await fetch(`${kubesub.origin}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: `{ pods(project: "team-a", user: "alice") { name namespace user phase } }` }),
      });
      expect(await response.json()).toEqual({
        data: { pods: [{ name: "alice-1", namespace: "team-a", user: "alice", phase: "PENDING" }] },
      });
      const listsBefore = kubesub.cluster.stats.lists.get(listsKey);
      await fetch(`${kubesub.origin}/graphql?query=${encodeURIComponent('{ pods(project: "team-a") { name } }')}`);
      expect(kubesub.cluster.stats.lists.get(listsKey)).toBe(listsBefore);
    });

    it("/healthz is ok and /readyz reports the informers in use", async () => {
      expect((await fetch(`${kubesub.origin}/healthz`)).status).toBe(200);
      const stream = subscribe(sseClient(false), { project: "team-a" });
      await take(stream, { until: isComplete });
      const ready = await fetch(`${kubesub.origin}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        ready: true,
        informers: [
          { name: informerKey, synced: true, subscribers: 1 },
          { name: "namespaces/*", synced: true, subscribers: 1 },
        ],
      });
      await stream.return?.();
    });

    it("shutdown ends open streams with SHUTTING_DOWN, then a closed connection graphql-sse retries, and stops the informers", async () => {
      const streams = [subscribe(sseClient(false), { project: "team-a" }), subscribe(sseClient(true), { project: "team-b" })];
      await Promise.all(streams.map((s) => take(s, { until: isComplete })));
      const closing = kubesub.close();
      // No `complete`: with retryAttempts 0, the connection closed with the operation open is the
      // client's NetworkError (with retries, graphql-sse would connect again).
      const last = await Promise.all(
        streams.map(async (s) => {
          const read: Result[] = [];
          try {
            for (let r = await s.next(); !r.done; r = await s.next()) read.push(r.value);
            return { read, ended: "completed" };
          } catch (error) {
            return { read, ended: error instanceof NetworkError ? "NetworkError" : String(error) };
          }
        }),
      );
      await closing;
      expect(last.map((r) => r.ended)).toEqual(["NetworkError", "NetworkError"]);
      expect(last.map((r) => events(r.read).map(summary))).toEqual([["StreamError:SHUTTING_DOWN"], ["StreamError:SHUTTING_DOWN"]]);
      expect(kubesub.app.registry.snapshot()).toEqual([]);
      expect(kubesub.cluster.activeWatches(podResource, watchedNamespace)).toBe(0);
    });
  });

  if (scope === "cluster") {
    it("subscribers of many projects share one list and one watch per resource, each receiving only its project", async () => {
      const projects = Array.from({ length: 20 }, (_, i) => `project-${i}`);
      for (const project of projects) kubesub.cluster.create(podResource, podFixture(project, `${project}-pod`, { user: "alice" }));
      const streams = projects.map((project) => subscribe(sseClient(false), { project }));
      const initial = await Promise.all(streams.map((s) => take(s, { until: isComplete })));
      expect(initial.map((r) => events(r).map(summary))).toEqual(
        projects.map((project) => [`PodAdded:${project}-pod:INITIAL_STATE`, "InitialStateComplete:1"]),
      );
      expect(kubesub.cluster.stats.lists.get(listsKey)).toBe(1);
      expect([...kubesub.cluster.stats.lists.keys()]).toEqual([listsKey, "namespaces/"]);
      expect(kubesub.cluster.stats.lists.get("namespaces/")).toBe(1);
      expect(kubesub.cluster.activeWatches(podResource, allNamespaces)).toBe(1);

      kubesub.cluster.create(podResource, podFixture("project-7", "late", { user: "bob" }));
      kubesub.cluster.create(podResource, podFixture("project-0", "later", { user: "bob" }));
      const [first] = await take(streams[0] as AsyncIterableIterator<Result>, { count: 1 });
      const [seventh] = await take(streams[7] as AsyncIterableIterator<Result>, { count: 1 });
      expect([first, seventh].map((r) => summary(events([r as Result])[0] as PodEvent))).toEqual([
        "PodAdded:later:CLUSTER_CHANGE",
        "PodAdded:late:CLUSTER_CHANGE",
      ]);
      await Promise.all(streams.map((s) => s.return?.()));
    });
  }
});
