// A project's namespace deleted mid-stream, absent, terminating, forbidden to list, or created again:
// what its subscribers are told, through the real stream services, views and informers over the
// in-memory cluster (whose deleteNamespace does what the apiserver and its namespace controller do:
// terminating, every object deleted, then the Namespace).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Pod } from "../../src/domain/pod.ts";
import { slimNamespace } from "../../src/domain/slim.ts";
import { KubeApiError } from "../../src/kube/errors.ts";
import { InformerRegistry, type WatchScope } from "../../src/kube/informer-registry.ts";
import type { ListWatchSource } from "../../src/kube/list-watch-source.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { daskClusterResource, namespaceResource, podResource } from "../../src/kube/resources.ts";
import type { KubeObject, ResourceType } from "../../src/kube/types.ts";
import { checkReadiness } from "../../src/server/readiness.ts";
import { DaskStreams } from "../../src/streams/dask-streams.ts";
import { IdeStreams } from "../../src/streams/ide-streams.ts";
import { PodStreams } from "../../src/streams/pod-streams.ts";
import type { StreamAccess } from "../../src/streams/subscribers/access.ts";
import type { StreamEvent } from "../../src/streams/subscribers/stream-event.ts";
import { ViewRegistry } from "../../src/streams/views/view-registry.ts";
import { captureLogger } from "../helpers/logs.ts";
import { podFixture } from "../helpers/pods.ts";
import { testStreamServices } from "../helpers/settings.ts";
import { StreamReader } from "./support.ts";

const ns = "team-a";
const allowAll: StreamAccess = { subject: "tester", authorize: async () => {}, recheck: async () => undefined };

function describeEvent(event: StreamEvent<unknown>): string {
  switch (event.type) {
    case "added":
    case "deleted":
      return `${event.type} ${(event.object as Pod).name} ${event.cause}`;
    case "updated":
      return `updated ${(event.object as Pod).name}`;
    case "initial-state-complete":
      return `complete ${event.count}`;
    case "unavailable":
      return `unavailable ${event.resource} ${event.reason}`;
    case "error":
      return `error ${event.code}`;
  }
}

describe.each<WatchScope>(["namespace", "cluster"])("a project's namespace, --watch-scope %s", (scope) => {
  let cluster: MemoryCluster;
  let registry: InformerRegistry;
  let views: ViewRegistry;
  let log: ReturnType<typeof captureLogger>;

  beforeEach(() => {
    vi.useFakeTimers();
    cluster = new MemoryCluster();
    log = captureLogger();
    registry = new InformerRegistry({ sources: (type, namespace) => cluster.source(type, namespace), lingerMs: 1_000, scope });
    views = new ViewRegistry(registry, log.logger);
  });

  afterEach(async () => {
    await registry.close();
    vi.useRealTimers();
  });

  const services = () => testStreamServices(views, { shutdown: new AbortController().signal, logger: log.logger });
  const podEvents = async (project = ns) => {
    const stream = await new PodStreams(services()).events({ project }, allowAll);
    return new StreamReader(stream as AsyncIterableIterator<StreamEvent<unknown>>);
  };
  const read = async (reader: StreamReader<StreamEvent<unknown>>) => (await reader.available()).map(describeEvent);
  const createPod = (name: string, namespace = ns) => cluster.create(podResource, podFixture(namespace, name));

  it("deleted mid-stream: NAMESPACE_TERMINATING once it starts, its pods' PodDeleted, then NAMESPACE_NOT_FOUND once it is gone; the stream stays open", async () => {
    createPod("a");
    createPod("b");
    createPod("elsewhere", "team-b");
    const reader = await podEvents();
    expect(await read(reader)).toEqual(["added a INITIAL_STATE", "added b INITIAL_STATE", "complete 2"]);

    cluster.terminateNamespace(ns);
    const terminating = await reader.available();
    expect(terminating.map(describeEvent)).toEqual(["unavailable namespaces NAMESPACE_TERMINATING"]);
    expect(terminating[0]).toMatchObject({ namespace: ns, message: expect.stringContaining(`namespace ${ns} is being deleted`) });
    expect(() => createPod("c")).toThrow(/being terminated/);

    cluster.deleteNamespace(ns);
    const gone = await reader.available();
    expect(gone.map(describeEvent)).toEqual([
      "deleted a CLUSTER_CHANGE",
      "deleted b CLUSTER_CHANGE",
      "unavailable namespaces NAMESPACE_NOT_FOUND",
    ]);
    expect(gone[2]).toMatchObject({ namespace: ns, message: expect.stringContaining(`namespace ${ns} does not exist`) });
    expect(reader.done).toBe(false);

    // Another project's stream heard nothing of it.
    const other = await podEvents("team-b");
    expect(await read(other)).toEqual(["added elsewhere INITIAL_STATE", "complete 1"]);
  });

  /**
   * Deletes the namespace in two steps, reading between them. Pods and namespaces are separate
   * watches, so a pod's deletion and the namespace's may arrive in either order when they happen
   * at once (a real namespace controller deletes the pods first and takes its time); so sorted.
   */
  const deleteNamespace = async (reader: StreamReader<StreamEvent<unknown>>) => {
    cluster.terminateNamespace(ns);
    const first = await read(reader);
    cluster.deleteNamespace(ns);
    return [first, (await read(reader)).sort()];
  };

  it("created again with the same name: its objects arrive as added, and a second deletion is told again", async () => {
    createPod("a");
    const reader = await podEvents();
    expect(await read(reader)).toEqual(["added a INITIAL_STATE", "complete 1"]);
    const told = [
      ["unavailable namespaces NAMESPACE_TERMINATING"],
      ["deleted a CLUSTER_CHANGE", "unavailable namespaces NAMESPACE_NOT_FOUND"],
    ];
    expect(await deleteNamespace(reader)).toEqual(told);

    cluster.createNamespace(ns);
    createPod("a");
    expect(await read(reader)).toEqual(["added a CLUSTER_CHANGE"]);

    expect(await deleteNamespace(reader)).toEqual(told);
    expect(reader.done).toBe(false);
  });

  it("a subscription to a namespace that does not exist starts with NAMESPACE_NOT_FOUND, and delivers its objects once it is created", async () => {
    cluster.createNamespace("team-b");
    const reader = await podEvents("nowhere");
    const initial = await reader.available();
    expect(initial.map(describeEvent)).toEqual(["unavailable namespaces NAMESPACE_NOT_FOUND", "complete 0"]);
    expect(initial[0]).toMatchObject({ resource: "namespaces", namespace: "nowhere" });

    cluster.createNamespace("nowhere");
    createPod("first", "nowhere");
    expect(await read(reader)).toEqual(["added first CLUSTER_CHANGE"]);
  });

  it("a subscription to a namespace being deleted starts with NAMESPACE_TERMINATING, then its objects", async () => {
    createPod("a");
    cluster.terminateNamespace(ns);
    const reader = await podEvents();
    expect(await read(reader)).toEqual(["unavailable namespaces NAMESPACE_TERMINATING", "added a INITIAL_STATE", "complete 1"]);
    cluster.deleteNamespace(ns);
    expect(await read(reader)).toEqual(["deleted a CLUSTER_CHANGE", "unavailable namespaces NAMESPACE_NOT_FOUND"]);
  });

  it("ideEvents and daskEvents, whose streams read several views of the namespace, are told each move once", async () => {
    cluster.createNamespace(ns);
    const ides = new StreamReader(
      (await new IdeStreams(services(), new Set(["KUBESUB_LABELS", "KUBEFLOW_NOTEBOOK"])).events(
        { project: ns },
        allowAll,
      )) as AsyncIterableIterator<StreamEvent<unknown>>,
    );
    const dask = new StreamReader(
      (await new DaskStreams(services()).events({ project: ns }, allowAll)) as AsyncIterableIterator<StreamEvent<unknown>>,
    );
    expect(await read(ides)).toEqual(["complete 0"]);
    expect(await read(dask)).toEqual(["complete 0"]);
    cluster.create(daskClusterResource, { metadata: { name: "dc", namespace: ns } });
    expect(await read(dask)).toEqual(["added dc CLUSTER_CHANGE"]);

    cluster.terminateNamespace(ns);
    expect(await read(ides)).toEqual(["unavailable namespaces NAMESPACE_TERMINATING"]);
    expect(await read(dask)).toEqual(["unavailable namespaces NAMESPACE_TERMINATING"]);
    cluster.deleteNamespace(ns);
    expect(await read(ides)).toEqual(["unavailable namespaces NAMESPACE_NOT_FOUND"]);
    expect((await read(dask)).sort()).toEqual(["deleted dc CLUSTER_CHANGE", "unavailable namespaces NAMESPACE_NOT_FOUND"]);

    const late = new StreamReader(
      (await new DaskStreams(services()).events({ project: ns }, allowAll)) as AsyncIterableIterator<StreamEvent<unknown>>,
    );
    expect(await read(late)).toEqual(["unavailable namespaces NAMESPACE_NOT_FOUND", "complete 0"]);
  });

  it("a namespace created a moment ago, which the namespaces watch has not delivered yet, is not said to be missing when its objects are seen", async () => {
    // The namespaces source neither lists nor delivers "fresh": its watch lags behind the pods'.
    const lagging = "fresh";
    const hidden = <T extends KubeObject>(object: T) => object.metadata?.name === lagging;
    const lagged = new InformerRegistry({
      sources: <T extends KubeObject>(type: ResourceType, namespace: string): ListWatchSource<T> => {
        const source = cluster.source<T>(type, namespace);
        if (type !== namespaceResource) return source;
        return {
          ...source,
          async *list(signal) {
            for await (const page of source.list(signal)) yield { ...page, items: page.items.filter((o) => !hidden(o)) };
          },
          watch: (options) =>
            source.watch({ ...options, onEvent: (e) => ("object" in e && hidden(e.object) ? undefined : options.onEvent(e)) }),
        };
      },
      lingerMs: 1_000,
      scope,
    });
    const laggedViews = new ViewRegistry(lagged, log.logger);
    const laggedPodEvents = async (project: string) =>
      new StreamReader(
        (await new PodStreams(testStreamServices(laggedViews, { shutdown: new AbortController().signal, logger: log.logger })).events(
          { project },
          allowAll,
        )) as AsyncIterableIterator<StreamEvent<unknown>>,
      );
    try {
      createPod("first", lagging);
      expect(await read(await laggedPodEvents(lagging))).toEqual(["added first INITIAL_STATE", "complete 1"]);
      // Without objects, nothing tells that the namespace exists: it is reported missing.
      expect(await read(await laggedPodEvents("nowhere"))).toEqual(["unavailable namespaces NAMESPACE_NOT_FOUND", "complete 0"]);
    } finally {
      await lagged.close();
    }
  });

  it("when kubesub may not list namespaces, streams go on as before and say nothing of them", async () => {
    const forbidden = () =>
      new KubeApiError('namespaces is forbidden: cannot list resource "namespaces" at the cluster scope', { statusCode: 403 });
    cluster.failNextListsOf(namespaceResource, forbidden(), forbidden(), forbidden());
    createPod("a");
    const reader = await podEvents();
    expect(await read(reader)).toEqual(["added a INITIAL_STATE", "complete 1"]);
    const absent = await podEvents("nowhere");
    expect(await read(absent)).toEqual(["complete 0"]);
    cluster.deleteNamespace(ns);
    expect(await read(reader)).toEqual(["deleted a CLUSTER_CHANGE"]);
    // kubesub is ready all the same: per-namespace Roles are a supported way to run it.
    const report = await checkReadiness({ registry, probeApiServer: async () => {} });
    expect(report.ready).toBe(true);
    expect(report.informers).toContainEqual({ name: "namespaces/*", synced: true, subscribers: 2 });
  });
});

describe("slimNamespace", () => {
  it("keeps the name, uid, resourceVersion, deletionTimestamp and phase, nothing else", () => {
    const slim = slimNamespace({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: "team-a",
        uid: "u-1",
        resourceVersion: "42",
        labels: { "kubernetes.io/metadata.name": "team-a" },
        deletionTimestamp: new Date("2026-11-30T06:00:00Z"),
        managedFields: [{ manager: "kubectl" }],
      },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Terminating", conditions: [] },
    } as never);
    expect(slim).toEqual({
      metadata: { name: "team-a", uid: "u-1", resourceVersion: "42", deletionTimestamp: "2026-11-30T06:00:00.000Z" },
      status: { phase: "Terminating" },
    });
  });
});
