// A subscriber's pod stream end to end below the schema: PodStreams -> openStream -> shared view
// (view-events.ts, which replaced object-events.ts) -> InformerRegistry -> MemoryCluster.
import { GraphQLError } from "graphql";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LabelSelector } from "../../src/domain/label-selector.ts";
import type { KubePod, Pod } from "../../src/domain/pod.ts";
import { BadUserInputError } from "../../src/errors.ts";
import { KubeApiError } from "../../src/kube/errors.ts";
import { InformerRegistry } from "../../src/kube/informer-registry.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import { type PodQuery, PodStreams } from "../../src/streams/pod-streams.ts";
import type { StreamAccess } from "../../src/streams/subscribers/access.ts";
import type { StreamEvent } from "../../src/streams/subscribers/stream-event.ts";
import { ViewRegistry } from "../../src/streams/views/view-registry.ts";
import { captureLogger } from "../helpers/logs.ts";
import { podFixture } from "../helpers/pods.ts";
import { testStreamServices, userLabel } from "../helpers/settings.ts";
import { take } from "../helpers/streams.ts";
import { StreamReader, settle } from "./support.ts";

const ns = "team-a";

let cluster: MemoryCluster;
let registry: InformerRegistry;
let views: ViewRegistry;
let shutdown: AbortController;
let log: ReturnType<typeof captureLogger>;

beforeEach(() => {
  vi.useFakeTimers();
  cluster = new MemoryCluster();
  cluster.createNamespace(ns);
  registry = new InformerRegistry({ sources: (type, namespace) => cluster.source(type, namespace), lingerMs: 1_000 });
  shutdown = new AbortController();
  log = captureLogger();
  views = new ViewRegistry(registry, log.logger);
});

afterEach(async () => {
  await registry.close();
  vi.useRealTimers();
});

/** A caller allowed to read everything, whose access never lapses. */
const allowAll: StreamAccess = { subject: "tester", authorize: async () => {}, recheck: async () => undefined };

function podStreams(queueCapacity = 100): PodStreams {
  return new PodStreams(testStreamServices(views, { queueCapacity, shutdown: shutdown.signal, logger: log.logger }));
}

async function open(query: PodQuery, queueCapacity?: number) {
  const stream = await podStreams(queueCapacity).events(query, allowAll);
  return { stream, reader: new StreamReader(stream) };
}

/** "added alice-1 INITIAL_STATE", "updated alice-1 [phase,status]", "complete 2", "error OVERFLOW". */
function describeEvent(event: StreamEvent<Pod>): string {
  switch (event.type) {
    case "added":
    case "deleted":
      return `${event.type} ${event.object.name} ${event.cause}`;
    case "updated":
      return `updated ${event.object.name} [${event.changedFields.join(",")}]`;
    case "initial-state-complete":
      return `complete ${event.count}`;
    case "unavailable":
      return `unavailable ${event.resource} ${event.reason}`;
    case "error":
      return `error ${event.code}`;
  }
}

async function read(reader: StreamReader<StreamEvent<Pod>>): Promise<string[]> {
  return (await reader.available()).map(describeEvent);
}

const createPod = (name: string, user?: string, labels: Record<string, string> = {}) =>
  cluster.create(podResource, podFixture(ns, name, { user, labels }));
const updatePod = (name: string, mutate: (pod: KubePod) => void) => cluster.update<KubePod>(podResource, ns, name, mutate);
const setUser = (name: string, user: string) =>
  updatePod(name, (pod) => {
    pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, [userLabel]: user } };
  });
const setPhase = (name: string, phase: string) =>
  updatePod(name, (pod) => {
    pod.status = { ...pod.status, phase };
  });
const podReferences = () => registry.snapshot().find((entry) => entry.key === `pods/${ns}`)?.references;

describe("pod event streams", () => {
  it("sends the snapshot, the initial-state marker with its count, then live changes", async () => {
    createPod("alice-1", "alice");
    createPod("bob-1", "bob");
    cluster.create(podResource, podFixture("team-b", "elsewhere", { user: "alice" }));
    const { reader } = await open({ project: ns });

    const initial = await reader.available();
    expect(initial.map(describeEvent)).toEqual(["added alice-1 INITIAL_STATE", "added bob-1 INITIAL_STATE", "complete 2"]);
    expect(initial[2]).toMatchObject({ resourceVersion: cluster.currentRevision });
    expect(initial[0]).toMatchObject({ kind: "Pod", object: { name: "alice-1", namespace: ns, user: "alice", phase: "PENDING" } });

    createPod("carol-1", "carol");
    setPhase("alice-1", "Running");
    cluster.delete(podResource, ns, "bob-1");
    const live = await reader.available();

    expect(live.map(describeEvent)).toEqual([
      "added carol-1 CLUSTER_CHANGE",
      "updated alice-1 [phase,status]",
      "deleted bob-1 CLUSTER_CHANGE",
    ]);
    const updated = live[1] as Extract<StreamEvent<Pod>, { type: "updated" }>;
    expect(updated.previous.phase).toBe("PENDING");
    expect(updated.object.phase).toBe("RUNNING");
    expect(updated.resourceVersion).toBe(updated.object.resourceVersion);
    expect(reader.done).toBe(false);
  });

  it("sends an empty snapshot as a marker with count 0", async () => {
    const { reader } = await open({ project: ns });
    expect(await read(reader)).toEqual(["complete 0"]);
  });

  it("shows a user only their pods", async () => {
    createPod("alice-1", "alice");
    createPod("bob-1", "bob");
    const { reader } = await open({ project: ns, user: "alice" });
    expect(await read(reader)).toEqual(["added alice-1 INITIAL_STATE", "complete 1"]);

    createPod("bob-2", "bob");
    setPhase("bob-1", "Running");
    cluster.delete(podResource, ns, "bob-1");
    createPod("alice-2", "alice");
    expect(await read(reader)).toEqual(["added alice-2 CLUSTER_CHANGE"]);
  });

  it("filters by label selector", async () => {
    createPod("jupyter", "alice", { "kubesub.io/ide": "jupyterlab" });
    createPod("etl", "alice", { app: "etl" });
    createPod("rstudio", "alice", { "kubesub.io/ide": "rstudio" });
    const selector: LabelSelector = { matchExpressions: [{ key: "kubesub.io/ide", operator: "NOT_IN", values: ["rstudio"] }] };
    const { reader } = await open({ project: ns, selector: { ...selector, matchLabels: null } });
    expect(await read(reader)).toEqual(["added jupyter INITIAL_STATE", "added etl INITIAL_STATE", "complete 2"]);

    const exists = await open({ project: ns, selector: { matchExpressions: [{ key: "kubesub.io/ide", operator: "EXISTS" }] } });
    expect(await read(exists.reader)).toEqual(["added jupyter INITIAL_STATE", "added rstudio INITIAL_STATE", "complete 2"]);
  });

  it("moves a pod out of and back into view when its labels change (FILTER_CHANGE)", async () => {
    createPod("shared", "alice");
    const { reader } = await open({ project: ns, user: "alice" });
    expect(await read(reader)).toEqual(["added shared INITIAL_STATE", "complete 1"]);

    setUser("shared", "bob");
    expect(await read(reader)).toEqual(["deleted shared FILTER_CHANGE"]);
    setPhase("shared", "Running"); // out of view: nothing
    expect(await read(reader)).toEqual([]);
    setUser("shared", "alice");
    const back = await reader.available();
    expect(back.map(describeEvent)).toEqual(["added shared FILTER_CHANGE"]);
    expect(back[0]).toMatchObject({ object: { phase: "RUNNING", user: "alice" } });
  });

  it("does not send an update that changes no field a client sees", async () => {
    createPod("a", "alice");
    const { reader } = await open({ project: ns });
    await reader.available();

    updatePod("a", (pod) => {
      pod.metadata = { ...pod.metadata, annotations: { note: "changed" }, managedFields: [{ manager: "kubectl" }] };
    });
    expect(await read(reader)).toEqual([]);

    updatePod("a", (pod) => {
      pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, tier: "gpu" } };
      pod.spec = { nodeName: "node-1" };
    });
    const events = await reader.available();
    expect(events.map(describeEvent)).toEqual(["updated a [labels,nodeName]"]);
  });

  it("coalesces what a stream that falls behind has not read, one event per object, rather than ending it", async () => {
    createPod("a");
    const { stream, reader } = await open({ project: ns }, 2);
    expect((await take(stream, { count: 2 })).map(describeEvent)).toEqual(["added a INITIAL_STATE", "complete 1"]);

    // The subscriber reads nothing while these changes arrive: past two waiting, they are merged.
    createPod("b");
    createPod("c");
    createPod("d");
    await settle();
    updatePod("b", (pod) => {
      pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, tier: "gpu" } };
    });
    cluster.delete(podResource, ns, "c");
    await settle();

    const events = await reader.available();
    // c came and went unseen; b moved to its last change, which it carries the cursor of.
    expect(events.map(describeEvent)).toEqual(["added d CLUSTER_CHANGE", "added b CLUSTER_CHANGE"]);
    expect(events[0]).not.toHaveProperty("coalesced");
    expect(events[1]).toMatchObject({ coalesced: 2, object: { labels: expect.arrayContaining([{ key: "tier", value: "gpu" }]) } });
    expect(reader.done).toBe(false);
    expect(podReferences()).toBe(1);
    await stream.return?.();
  });

  it("keeps a stream that stays within its capacity", async () => {
    const { stream, reader } = await open({ project: ns }, 2);
    await take(stream, { count: 1 });
    createPod("a");
    createPod("b");
    await settle();
    expect(await read(reader)).toEqual(["added a CLUSTER_CHANGE", "added b CLUSTER_CHANGE"]);
    expect(reader.done).toBe(false);
  });

  it("ends with SHUTTING_DOWN after what was already queued when kubesub shuts down", async () => {
    createPod("a");
    const { stream, reader } = await open({ project: ns });
    await take(stream, { count: 2 });
    createPod("b"); // queued, not yet read
    await settle();

    shutdown.abort();
    const events = await reader.available();
    expect(events.map(describeEvent)).toEqual(["added b CLUSTER_CHANGE", "error SHUTTING_DOWN"]);
    expect(events[1]).toMatchObject({ retryable: true });
    expect(reader.done).toBe(true);
    expect(podReferences()).toBe(0);

    const afterShutdown = await open({ project: ns });
    expect(await read(afterShutdown.reader)).toEqual(["error SHUTTING_DOWN"]);
    expect(afterShutdown.reader.done).toBe(true);
  });

  it("ends a waiting stream with SHUTTING_DOWN", async () => {
    const { reader } = await open({ project: ns });
    expect(await read(reader)).toEqual(["complete 0"]); // a next() is now pending
    shutdown.abort();
    expect(await read(reader)).toEqual(["error SHUTTING_DOWN"]);
    expect(reader.done).toBe(true);
  });

  it("releases its view and informer leases when the clients return", async () => {
    const first = await open({ project: ns });
    const second = await open({ project: ns, user: "alice" });
    await first.reader.available();
    await second.reader.available();
    expect(views.snapshot()).toEqual([{ key: `pods/${ns}`, references: 2 }]);
    expect(podReferences()).toBe(1); // the shared view holds the informer once

    await first.stream.return?.();
    expect(views.snapshot()).toEqual([{ key: `pods/${ns}`, references: 1 }]);
    expect(podReferences()).toBe(1);
    await second.stream.return?.();
    expect(views.snapshot()).toEqual([]);
    expect(podReferences()).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(registry.snapshot()).toEqual([]);
    expect(cluster.activeWatches(podResource, ns)).toBe(0);
  });

  it("releases its lease when the client returns before the informer synced", async () => {
    const release = cluster.holdLists();
    const { stream } = await open({ project: ns });
    expect(podReferences()).toBe(1);
    await stream.return?.();
    expect(podReferences()).toBe(0);
    release();
  });

  it("reports a namespace kubesub may not list as unavailable, then delivers its pods once it may", async () => {
    cluster.failNextLists(new KubeApiError('pods is forbidden: cannot list resource "pods"', { statusCode: 403 }));
    createPod("a");
    const { reader } = await open({ project: ns });
    const events = await reader.available();
    expect(events.map(describeEvent)).toEqual(["unavailable pods FORBIDDEN", "complete 0"]);
    expect(events[0]).toMatchObject({ namespace: ns, message: expect.stringContaining(`pods in ${ns}`) });
    expect(reader.done).toBe(false);
    expect(podReferences()).toBe(1);

    await vi.advanceTimersByTimeAsync(30_000); // past the informer's backoff: its next list succeeds
    expect(await read(reader)).toEqual(["added a CLUSTER_CHANGE"]);
  });

  it("tells a subscriber arriving after a permanent failure at once, without waiting for a retry", async () => {
    cluster.failNextLists(new KubeApiError("forbidden", { statusCode: 403 }), new KubeApiError("forbidden", { statusCode: 403 }));
    const first = await open({ project: ns });
    expect(await read(first.reader)).toEqual(["unavailable pods FORBIDDEN", "complete 0"]);

    const second = await open({ project: ns, user: "alice" }); // the informer is still in its backoff
    expect(await read(second.reader)).toEqual(["unavailable pods FORBIDDEN", "complete 0"]);
    expect(cluster.stats.lists.get(`pods/${ns}`)).toBe(1);
  });

  it("waits through a transient list failure, then sends the snapshot", async () => {
    cluster.failNextLists(new KubeApiError("etcd timeout", { statusCode: 500 }));
    createPod("a");
    const { reader } = await open({ project: ns });
    expect(await read(reader)).toEqual([]);
    await vi.advanceTimersByTimeAsync(30_000); // past any backoff
    expect(await read(reader)).toEqual(["added a INITIAL_STATE", "complete 1"]);
  });

  it("starts with what it can read when the apiserver stays silent past the sync timeout, then catches up", async () => {
    const release = cluster.holdLists(); // the list hangs: an apiserver that accepts but never answers
    createPod("a");
    const { reader } = await open({ project: ns });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(await read(reader)).toEqual([]);
    await vi.advanceTimersByTimeAsync(1); // syncTimeoutMs is 5 s
    expect(await read(reader)).toEqual(["unavailable pods UNREACHABLE", "complete 0"]);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(await read(reader)).toEqual(["added a CLUSTER_CHANGE"]);
  });

  it("watches nothing for a caller who may not read the namespace", async () => {
    const forbidden = new GraphQLError("no", { extensions: { code: "FORBIDDEN" } });
    const denied: StreamAccess = { ...allowAll, authorize: () => Promise.reject(forbidden) };
    await expect(podStreams().events({ project: ns }, denied)).rejects.toBe(forbidden);
    expect(registry.snapshot()).toEqual([]);
    expect(cluster.stats.lists.size).toBe(0);
  });

  describe("rejects bad input with BAD_USER_INPUT before checking access or watching anything", () => {
    it.each<{ name: string; query: PodQuery }>([
      { name: "a project that is not a namespace name", query: { project: "Team_A" } },
      { name: "an empty project", query: { project: "" } },
      { name: "a user with selector syntax", query: { project: ns, user: "a,b!=c" } },
      { name: "a user with an equals sign", query: { project: ns, user: "x=y" } },
      { name: "an empty user", query: { project: ns, user: "" } },
      { name: "a bad matchLabels key", query: { project: ns, selector: { matchLabels: [{ key: "bad key", value: "x" }] } } },
      { name: "a bad matchLabels value", query: { project: ns, selector: { matchLabels: [{ key: "app", value: "a,b" }] } } },
      {
        name: "a bad matchExpressions key",
        query: { project: ns, selector: { matchExpressions: [{ key: "-app", operator: "EXISTS" }] } },
      },
      {
        name: "a bad matchExpressions value",
        query: { project: ns, selector: { matchExpressions: [{ key: "app", operator: "IN", values: ["ok", "not ok"] }] } },
      },
      { name: "IN with no values", query: { project: ns, selector: { matchExpressions: [{ key: "app", operator: "IN", values: [] }] } } },
      { name: "NOT_IN with null values", query: { project: ns, selector: { matchExpressions: [{ key: "app", operator: "NOT_IN" }] } } },
      {
        name: "EXISTS with values",
        query: { project: ns, selector: { matchExpressions: [{ key: "app", operator: "EXISTS", values: ["x"] }] } },
      },
    ])("$name", async ({ query }) => {
      const authorize = vi.fn(allowAll.authorize);
      let thrown: unknown;
      try {
        await podStreams().events(query, { ...allowAll, authorize });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(BadUserInputError);
      expect(thrown).toBeInstanceOf(GraphQLError);
      expect((thrown as GraphQLError).extensions.code).toBe("BAD_USER_INPUT");
      expect(authorize).not.toHaveBeenCalled();
      expect(registry.snapshot()).toEqual([]);
      expect(cluster.stats.lists.size).toBe(0);
    });
  });
});
