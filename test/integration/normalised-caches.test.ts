// Normalised client caches with no configuration, as a UI uses them: Apollo Client with a plain
// new InMemoryCache() (no typePolicies) and urql with Graphcache's cacheExchange() (no keys, no
// updates, no schema), over real HTTP against the real server on an in-memory cluster. A list query
// (pods, ides, daskClusters) puts each object in the cache under its __typename and id; the
// matching subscription's XUpdated event (podEvents, ideEvents, daskEvents) carries the same object
// (same id) in its new state, so the cached object, and the query watching it, show the new state
// without the UI doing anything. The documents are the generated ones (examples/operations), which
// select id on every object and none inside previous.
import type { OperationVariables } from "@apollo/client";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { cacheExchange } from "@urql/exchange-graphcache";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { onEnd, pipe, subscribe } from "wonka";
import {
  DaskClustersDocument,
  DaskEventsDocument,
  IdeEventsDocument,
  IdesDocument,
  PodEventsDocument,
  PodsDocument,
} from "../../examples/generated/graphql.ts";
import type { KubePod } from "../../src/domain/pod.ts";
import type { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { daskClusterResource, notebookResource, podResource } from "../../src/kube/resources.ts";
import { RestartableKubesub, sseOptions } from "../helpers/clients.ts";
import { apolloClient } from "../helpers/clients-apollo.ts";
import { urqlClient } from "../helpers/clients-urql.ts";
import { daskClusterObject, daskPod, notebookObject, notebookPod, podObject, rows, setPodState } from "../helpers/ide-dask-fixtures.ts";
import { Inbox } from "../helpers/streams.ts";

const project = "team-a";

/** An event of any of the three unions, as a failure shows it and toMatchObject compares it. */
type Event = { __typename: string; [field: string]: unknown };

/** A list a UI shows and the subscription that keeps it current, typed by the generated documents. */
interface Watch<Query, QueryVariables, Events, EventVariables> {
  query: TypedDocumentNode<Query, QueryVariables>;
  queryVariables: QueryVariables;
  /** The list in an answer as one line: "name <the fields the change moves>, ...", in the answer's order. */
  lineOf(data: Query): string;
  events: TypedDocumentNode<Events, EventVariables>;
  eventVariables: EventVariables;
  eventOf(data: Events): Event;
}

/** What a test drives: a client watching a list query, and the same client's subscription. */
interface CachedClient {
  /** Each answer the watched query delivers, as its line: from the network first, then every time the cache changes. */
  watched: Inbox<string>;
  /** The events of the subscription, once subscribed. */
  events: Inbox<Event>;
  subscribe(): void;
  /** The query read from the cache alone, as a component rendering it would, as its line. */
  readCache(): string | undefined;
  dispose(): void;
}

/** Opens a client of one kind watching watch's query: generic, so that each scenario keeps its documents' types. */
type Connect = <Query, QueryVariables extends OperationVariables, Events, EventVariables extends OperationVariables>(
  origin: string,
  watch: Watch<Query, QueryVariables, Events, EventVariables>,
) => CachedClient;

const clientKinds: { kind: string; connect: Connect }[] = [
  {
    kind: "Apollo Client, new InMemoryCache()",
    connect: (origin, watch) => {
      const { apollo, dispose } = apolloClient(origin, sseOptions(origin, "distinct"));
      const watched = new Inbox<string>((line) => line);
      const events = new Inbox<Event>((event) => event.__typename);
      const query = apollo.watchQuery({ query: watch.query, variables: watch.queryVariables }).subscribe({
        next: (result) => {
          if (result.dataState === "complete") watched.push(watch.lineOf(result.data));
        },
        error: (error: unknown) => watched.end(error),
      });
      let subscription: { unsubscribe(): void } | undefined;
      return {
        watched,
        events,
        // The default fetch policy: results are written to the cache.
        subscribe: () => {
          subscription = apollo.subscribe({ query: watch.events, variables: watch.eventVariables }).subscribe({
            next: (result) => (result.data ? events.push(watch.eventOf(result.data)) : events.end(result.error)),
            error: (error: unknown) => events.end(error),
          });
        },
        readCache: () => {
          const data = apollo.readQuery({ query: watch.query, variables: watch.queryVariables });
          return data ? watch.lineOf(data) : undefined;
        },
        dispose: () => {
          subscription?.unsubscribe();
          query.unsubscribe();
          dispose();
        },
      };
    },
  },
  {
    kind: "urql, Graphcache's cacheExchange()",
    connect: (origin, watch) => {
      const { urql, dispose } = urqlClient(origin, sseOptions(origin, "single"), cacheExchange());
      const watched = new Inbox<string>((line) => line);
      const events = new Inbox<Event>((event) => event.__typename);
      const query = pipe(
        urql.query(watch.query, watch.queryVariables),
        subscribe((result) => (result.data ? watched.push(watch.lineOf(result.data)) : watched.end(result.error))),
      );
      let subscription: { unsubscribe(): void } | undefined;
      return {
        watched,
        events,
        subscribe: () => {
          subscription = pipe(
            urql.subscription(watch.events, watch.eventVariables),
            onEnd(() => events.end()),
            subscribe((result) => (result.data ? events.push(watch.eventOf(result.data)) : events.end(result.error))),
          );
        },
        readCache: () => {
          const data = urql.readQuery(watch.query, watch.queryVariables)?.data;
          return data ? watch.lineOf(data) : undefined;
        },
        dispose: () => {
          subscription?.unsubscribe();
          query.unsubscribe();
          dispose();
        },
      };
    },
  },
];

/** One list, the change a controller or kubelet makes to one of its objects, and what a UI then shows. */
interface Scenario {
  name: string;
  /** The XUpdated event the change makes. */
  updated: string;
  /** Creates the objects the query lists. */
  setup(cluster: MemoryCluster): void;
  /** The change, made after the subscription's InitialStateComplete. */
  change(cluster: MemoryCluster): void;
  open(connect: Connect, origin: string): CachedClient;
  /** The list's line before and after the change. */
  before: string;
  after: string;
  /** What the XUpdated event says: the object now, and previous (no id, so not cached). */
  event: Event;
}

/** The kubelet: a pod's containers start and become ready. */
const podBecomesReady = (cluster: MemoryCluster, name: string) =>
  cluster.update<KubePod>(podResource, project, name, (pod) => setPodState(pod, "ready"));

const scenarios: Scenario[] = [
  {
    name: "a PodUpdated event updates the Pod that the pods query put in the cache",
    updated: "PodUpdated",
    setup: (cluster) => {
      cluster.create(podResource, podObject({ name: "alice-lab", namespace: project, user: "alice", state: "creating" }));
      cluster.create(podResource, podObject({ name: "alice-etl", namespace: project, user: "alice", state: "ready" }));
    },
    change: (cluster) => podBecomesReady(cluster, "alice-lab"),
    open: (connect, origin) =>
      connect(origin, {
        query: PodsDocument,
        queryVariables: { project, user: "alice" },
        lineOf: (data) => data.pods.map((pod) => `${pod.name} ${pod.status} ${pod.ready}`).join(", "),
        events: PodEventsDocument,
        eventVariables: { project, user: "alice" },
        eventOf: (data) => data.podEvents,
      }),
    before: "alice-lab ContainerCreating false, alice-etl Running true",
    after: "alice-lab Running true, alice-etl Running true",
    event: { __typename: "PodUpdated", pod: { name: "alice-lab", status: "Running" }, previous: { status: "ContainerCreating" } },
  },
  {
    name: "an IDEUpdated event updates the IDE that the ides query put in the cache",
    updated: "IDEUpdated",
    setup: (cluster) => {
      // Kubeflow: two of alice's Notebooks and the notebook-controller's pods, one still starting.
      cluster.create(notebookResource, notebookObject({ name: "alice-lab", namespace: project, user: "alice", serverType: "jupyter" }));
      cluster.create(podResource, notebookPod("alice-lab", { namespace: project, state: "creating" }));
      cluster.create(notebookResource, notebookObject({ name: "alice-code", namespace: project, user: "alice", serverType: "group-one" }));
      cluster.create(podResource, notebookPod("alice-code", { namespace: project, state: "ready" }));
    },
    // alice-lab-0 becomes ready, so the IDE does.
    change: (cluster) => podBecomesReady(cluster, "alice-lab-0"),
    open: (connect, origin) =>
      connect(origin, {
        query: IdesDocument,
        queryVariables: { project, user: "alice" },
        lineOf: (data) => data.ides.map((ide) => `${ide.name} ${ide.kind} ${ide.status} ${ide.ready}`).join(", "),
        events: IdeEventsDocument,
        eventVariables: { project, user: "alice" },
        eventOf: (data) => data.ideEvents,
      }),
    before: "alice-lab JUPYTERLAB STARTING false, alice-code VSCODE READY true",
    after: "alice-lab JUPYTERLAB READY true, alice-code VSCODE READY true",
    event: {
      __typename: "IDEUpdated",
      ide: { name: "alice-lab", status: "READY", ready: true },
      previous: { status: "STARTING", ready: false },
    },
  },
  {
    name: "a DaskClusterUpdated event updates the DaskCluster that the daskClusters query put in the cache",
    updated: "DaskClusterUpdated",
    setup: (cluster) => {
      // The Dask operator: alice's clusters analysis (two workers, the second still starting) and etl.
      for (const [name, replicas] of [
        ["analysis", 2],
        ["etl", 1],
      ] as const) {
        cluster.create(daskClusterResource, daskClusterObject({ name, namespace: project, user: "alice", replicas, phase: "Running" }));
      }
      for (const [name, dask, component, state] of [
        ["analysis-scheduler", "analysis", "scheduler", "ready"],
        ["analysis-worker-1", "analysis", "worker", "ready"],
        ["analysis-worker-2", "analysis", "worker", "creating"],
        ["etl-scheduler", "etl", "scheduler", "ready"],
        ["etl-worker-1", "etl", "worker", "ready"],
      ] as const) {
        cluster.create(podResource, daskPod({ name, namespace: project, cluster: dask, component, state }));
      }
    },
    // analysis-worker-2 becomes ready, so readyWorkers goes from 1 to 2.
    change: (cluster) => podBecomesReady(cluster, "analysis-worker-2"),
    open: (connect, origin) =>
      connect(origin, {
        query: DaskClustersDocument,
        queryVariables: { project, user: "alice" },
        lineOf: (data) => data.daskClusters.map((c) => `${c.name} ${c.readyWorkers}/${c.workers} ready`).join(", "),
        events: DaskEventsDocument,
        eventVariables: { project, resources: ["CLUSTERS"] },
        eventOf: (data) => data.daskEvents,
      }),
    before: "analysis 1/2 ready, etl 1/1 ready",
    after: "analysis 2/2 ready, etl 1/1 ready",
    event: { __typename: "DaskClusterUpdated", cluster: { name: "analysis", readyWorkers: 2 }, previous: { readyWorkers: 1 } },
  },
];

let kubesub: RestartableKubesub;
let client: CachedClient | undefined;

beforeEach(async () => {
  kubesub = new RestartableKubesub();
  await kubesub.start();
});

afterEach(async () => {
  client?.dispose();
  client = undefined;
  await kubesub.stop();
});

describe.each(clientKinds)("$kind", ({ connect }) => {
  it.each(rows(scenarios))("%s", async (_name, scenario) => {
    scenario.setup(kubesub.cluster);
    client = scenario.open(connect, kubesub.origin);
    const [first] = await client.watched.take({ count: 1 });
    expect(first).toBe(scenario.before);

    client.subscribe();
    await client.events.take({ until: (event) => event.__typename === "InitialStateComplete" });

    scenario.change(kubesub.cluster);
    const [updated] = await client.events.take({ until: (event) => event.__typename === scenario.updated });
    expect(updated).toMatchObject(scenario.event);

    // The query watching the list shows the new state, and so does the cache read alone.
    const answers = await client.watched.take({ until: (line) => line === scenario.after });
    expect(answers.at(-1)).toBe(scenario.after);
    expect(client.readCache()).toBe(scenario.after);
  });
});
