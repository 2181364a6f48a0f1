// kubesub as a UI's GraphQL client sees it: Apollo Client and urql, with the typed documents that
// graphql-codegen generates from examples/operations (examples/generated), over real HTTP against
// the real server on an in-memory cluster. Apollo subscribes over GraphQL over SSE in distinct
// connections mode (/graphql), urql in single connection mode (/graphql/stream).
//
// Across a restart the clients reconnect as an app would: ResubscribingStream subscribes again when
// a stream ends with a retryable StreamError (SHUTTING_DOWN) or completes, and graphql-sse's own
// retries (retryAttempts, retry) carry those subscriptions over the time no kubesub listens.
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import {
  DaskClustersDocument,
  DaskEventsDocument,
  type DaskEventsSubscription,
  IdeEventsDocument,
  type IdeEventsSubscription,
  type IdeStatus,
  IdesDocument,
  PodEventsDocument,
  type PodEventsSubscription,
  type PodPhase,
  PodsDocument,
} from "../../examples/generated/graphql.ts";
import type { KubePod } from "../../src/domain/pod.ts";
import { daskClusterResource, daskWorkerGroupResource, podResource } from "../../src/kube/resources.ts";
import {
  ConnectionRetries,
  RestartableKubesub,
  type ResubscribingStream,
  resubscribing,
  sseOptions,
  type TypedClient,
} from "../helpers/clients.ts";
import { apolloClient } from "../helpers/clients-apollo.ts";
import { urqlClient } from "../helpers/clients-urql.ts";
import { daskClusterObject, daskPod, daskWorkerGroupObject, podObject, setPodState, setReplicas } from "../helpers/ide-dask-fixtures.ts";
import { take } from "../helpers/streams.ts";

const project = "data-science";

type PodEvent = PodEventsSubscription["podEvents"];
type IdeEvent = IdeEventsSubscription["ideEvents"];
type DaskEvent = DaskEventsSubscription["daskEvents"];
/** The members every event union shares. */
type SharedEvent = Extract<PodEvent | IdeEvent | DaskEvent, { __typename: "InitialStateComplete" | "ResourceUnavailable" | "StreamError" }>;
type AnyEvent = PodEvent | IdeEvent | DaskEvent;

// What a UI does with an event: switch on __typename, which narrows it to its fragment's fields.
// Each switch is exhaustive: a member added to a union fails the typecheck here.

function sharedLine(event: SharedEvent): string {
  switch (event.__typename) {
    case "InitialStateComplete":
      return `InitialStateComplete ${event.count}`;
    case "ResourceUnavailable":
      return `ResourceUnavailable ${event.resource} ${event.reason}`;
    case "StreamError":
      return `StreamError ${event.code}${event.retryable ? " retryable" : ""}`;
  }
}

function podLine(event: PodEvent): string {
  switch (event.__typename) {
    case "PodAdded":
    case "PodDeleted":
      return `${event.__typename} ${event.pod.name} ${event.cause}`;
    case "PodUpdated":
      return `PodUpdated ${event.pod.name} [${event.changedFields.join(",")}]`;
    default:
      return sharedLine(event);
  }
}

function ideLine(event: IdeEvent): string {
  switch (event.__typename) {
    case "IDEAdded":
    case "IDEDeleted":
      return `${event.__typename} ${event.ide.name} ${event.cause}`;
    case "IDEUpdated":
      return `IDEUpdated ${event.ide.name} [${event.changedFields.join(",")}]`;
    default:
      return sharedLine(event);
  }
}

function daskLine(event: DaskEvent): string {
  switch (event.__typename) {
    case "DaskClusterAdded":
    case "DaskClusterDeleted":
      return `${event.__typename} ${event.cluster.name} ${event.cause}`;
    case "DaskClusterUpdated":
      return `DaskClusterUpdated ${event.cluster.name} [${event.changedFields.join(",")}]`;
    case "DaskWorkerGroupAdded":
    case "DaskWorkerGroupDeleted":
      return `${event.__typename} ${event.workerGroup.name} ${event.cause}`;
    case "DaskWorkerGroupUpdated":
      return `DaskWorkerGroupUpdated ${event.workerGroup.name} [${event.changedFields.join(",")}]`;
    case "DaskAutoscalerAdded":
    case "DaskAutoscalerDeleted":
      return `${event.__typename} ${event.autoscaler.name} ${event.cause}`;
    case "DaskAutoscalerUpdated":
      return `DaskAutoscalerUpdated ${event.autoscaler.name} [${event.changedFields.join(",")}]`;
    case "DaskJobAdded":
    case "DaskJobDeleted":
      return `${event.__typename} ${event.job.name} ${event.cause}`;
    case "DaskJobUpdated":
      return `DaskJobUpdated ${event.job.name} [${event.changedFields.join(",")}]`;
    default:
      return sharedLine(event);
  }
}

const isComplete = (event: AnyEvent) => event.__typename === "InitialStateComplete";

/** Everything up to and including InitialStateComplete. */
const initialState = <T extends AnyEvent>(stream: ResubscribingStream<T>) => take(stream, { until: isComplete });

const clientKinds: { kind: string; connect: (origin: string, retries: ConnectionRetries) => TypedClient }[] = [
  {
    kind: "Apollo Client, distinct connections (/graphql)",
    connect: (origin, retries) => apolloClient(origin, sseOptions(origin, "distinct", retries)),
  },
  {
    kind: "urql, single connection (/graphql/stream)",
    connect: (origin, retries) => urqlClient(origin, sseOptions(origin, "single", retries)),
  },
];

let kubesub: RestartableKubesub;
const clients: TypedClient[] = [];
const streams: ResubscribingStream<AnyEvent>[] = [];

const updatePod = (name: string, mutate: (pod: KubePod) => void) => kubesub.cluster.update<KubePod>(podResource, project, name, mutate);
const scaleCluster = (replicas: number) =>
  kubesub.cluster.update(daskClusterResource, project, "analysis", (c) => setReplicas(c, replicas));

beforeEach(async () => {
  kubesub = new RestartableKubesub();
  await kubesub.start();
  const { cluster } = kubesub;
  // alice's batch pod and two IDEs (kubesub's labels), bob's pod, and a Dask cluster of alice's.
  cluster.create(podResource, podObject({ name: "alice-etl", namespace: project, user: "alice", state: "ready" }));
  cluster.create(podResource, podObject({ name: "bob-etl", namespace: project, user: "bob", state: "ready" }));
  cluster.create(
    podResource,
    podObject({ name: "vscode-alice", namespace: project, user: "alice", state: "creating", labels: { "kubesub.io/ide": "vscode" } }),
  );
  cluster.create(
    podResource,
    podObject({ name: "lab-alice", namespace: project, user: "alice", state: "ready", labels: { "kubesub.io/ide": "jupyterlab" } }),
  );
  cluster.create(
    daskClusterResource,
    daskClusterObject({ name: "analysis", namespace: project, user: "alice", replicas: 1, phase: "Running" }),
  );
  cluster.create(
    daskWorkerGroupResource,
    daskWorkerGroupObject({ name: "analysis-default", namespace: project, cluster: "analysis", replicas: 1 }),
  );
  cluster.create(
    podResource,
    daskPod({ name: "analysis-scheduler", namespace: project, cluster: "analysis", component: "scheduler", state: "ready" }),
  );
  cluster.create(
    podResource,
    daskPod({
      name: "analysis-worker-1",
      namespace: project,
      cluster: "analysis",
      component: "worker",
      workerGroup: "analysis-default",
      state: "ready",
    }),
  );
});

afterEach(async () => {
  await Promise.all(streams.splice(0).map((stream) => stream.return()));
  for (const client of clients.splice(0)) client.dispose();
  await kubesub.stop();
});

describe.each(clientKinds)("$kind", ({ connect }) => {
  let client: TypedClient;
  let retries: ConnectionRetries;
  beforeEach(() => {
    retries = new ConnectionRetries();
    client = connect(kubesub.origin, retries);
    clients.push(client);
  });

  function open<T extends AnyEvent>(stream: ResubscribingStream<T>): ResubscribingStream<T> {
    streams.push(stream as ResubscribingStream<AnyEvent>);
    return stream;
  }
  const podEvents = (user: string) => open(resubscribing(client, PodEventsDocument, { project, user }, (data) => data.podEvents));
  const ideEvents = () =>
    open(resubscribing(client, IdeEventsDocument, { project, user: "alice", kind: "VSCODE" }, (data) => data.ideEvents));
  const daskEvents = () =>
    open(
      resubscribing(
        client,
        DaskEventsDocument,
        { project, target: "analysis", resources: ["CLUSTERS", "WORKER_GROUPS"] },
        (data) => data.daskEvents,
      ),
    );

  it("Pods, Ides and DaskClusters answer with typed lists", async () => {
    const { pods } = await client.query(PodsDocument, { project, user: "alice" });
    expectTypeOf<(typeof pods)[number]["phase"]>().toEqualTypeOf<PodPhase>();
    expect(pods.map((pod) => `${pod.name} ${pod.phase} ${pod.status}`).sort()).toEqual([
      "alice-etl RUNNING Running",
      "lab-alice RUNNING Running",
      "vscode-alice PENDING ContainerCreating",
    ]);
    expect(pods.find((pod) => pod.name === "vscode-alice")?.containers).toMatchObject([
      { name: "main", state: "WAITING", reason: "ContainerCreating", ready: false },
    ]);

    const { ides } = await client.query(IdesDocument, { project, user: "alice", kind: "VSCODE" });
    expectTypeOf<(typeof ides)[number]["status"]>().toEqualTypeOf<IdeStatus>();
    expect(ides).toMatchObject([{ name: "vscode-alice", kind: "VSCODE", convention: "KUBESUB_LABELS", status: "STARTING", ready: false }]);

    const { daskClusters } = await client.query(DaskClustersDocument, { project });
    expect(daskClusters).toMatchObject([
      {
        name: "analysis",
        user: "alice",
        phase: "RUNNING",
        desiredWorkers: 1,
        workers: 1,
        readyWorkers: 1,
        schedulerReady: true,
        scheduler: { name: "analysis-scheduler", ready: true },
      },
    ]);
  });

  it("podEvents: alice's pods, InitialStateComplete, then PodAdded, PodUpdated and PodDeleted, narrowed by __typename", async () => {
    // The generated union narrows on __typename: only PodUpdated has changedFields and previous.
    expectTypeOf<Extract<PodEvent, { __typename: "PodUpdated" }>>().toHaveProperty("changedFields").toEqualTypeOf<string[]>();
    expectTypeOf<Extract<PodEvent, { __typename: "PodAdded" }>>().not.toHaveProperty("changedFields");

    const stream = podEvents("alice");
    const initial = await initialState(stream);
    expect(initial.map(podLine).sort()).toEqual(
      [
        "PodAdded alice-etl INITIAL_STATE",
        "PodAdded lab-alice INITIAL_STATE",
        "PodAdded vscode-alice INITIAL_STATE",
        "InitialStateComplete 3",
      ].sort(),
    );

    kubesub.cluster.create(podResource, podObject({ name: "alice-train", namespace: project, user: "alice" }));
    kubesub.cluster.create(podResource, podObject({ name: "bob-train", namespace: project, user: "bob" }));
    updatePod("alice-train", (pod) => setPodState(pod, "ready"));
    kubesub.cluster.delete(podResource, project, "alice-etl");
    const live = await take(stream, { count: 3 });
    expect(live.map(podLine)).toEqual([
      "PodAdded alice-train CLUSTER_CHANGE",
      "PodUpdated alice-train [phase,status,ready,reason,message,containers,nodeName,podIP,startTime]",
      "PodDeleted alice-etl CLUSTER_CHANGE",
    ]);
    const updated = live[1];
    if (updated?.__typename !== "PodUpdated") throw new Error(`expected PodUpdated, got ${updated?.__typename}`);
    expect(updated.pod).toMatchObject({ phase: "RUNNING", status: "Running", ready: true, nodeName: "node-1" });
    expect(updated.previous).toMatchObject({ phase: "PENDING", status: "Pending", ready: false, nodeName: null });
    expect(stream.subscriptions).toBe(1);
  });

  it("ideEvents: alice's VS Code, InitialStateComplete, then IDEUpdated as its pod becomes ready", async () => {
    const stream = ideEvents();
    const initial = await initialState(stream);
    expect(initial.map(ideLine)).toEqual(["IDEAdded vscode-alice INITIAL_STATE", "InitialStateComplete 1"]);
    const [added] = initial;
    if (added?.__typename !== "IDEAdded") throw new Error(`expected IDEAdded, got ${added?.__typename}`);
    expect(added.ide).toMatchObject({ kind: "VSCODE", user: "alice", status: "STARTING", ready: false, convention: "KUBESUB_LABELS" });

    updatePod("lab-alice", (pod) => setPodState(pod, { stuck: "CrashLoopBackOff" })); // not VS Code
    updatePod("vscode-alice", (pod) => setPodState(pod, "ready"));
    const [ready] = await take(stream, { count: 1 });
    expect(ready && ideLine(ready)).toBe("IDEUpdated vscode-alice [status,ready,reason,message,pods]");
    if (ready?.__typename !== "IDEUpdated") throw new Error("unreachable");
    expect(ready.ide).toMatchObject({ status: "READY", ready: true, pods: [{ name: "vscode-alice", ready: true }] });
    expect(ready.previous).toMatchObject({ status: "STARTING", ready: false });
  });

  it("daskEvents: the target cluster and its worker group, InitialStateComplete, then DaskClusterUpdated as it scales", async () => {
    const stream = daskEvents();
    const initial = await initialState(stream);
    expect(initial.map(daskLine).sort()).toEqual(
      ["DaskClusterAdded analysis INITIAL_STATE", "DaskWorkerGroupAdded analysis-default INITIAL_STATE", "InitialStateComplete 2"].sort(),
    );

    scaleCluster(3);
    const [scaled] = await take(stream, { count: 1 });
    expect(scaled && daskLine(scaled)).toBe("DaskClusterUpdated analysis [desiredWorkers]");
    if (scaled?.__typename !== "DaskClusterUpdated") throw new Error("unreachable");
    expect(scaled.cluster).toMatchObject({ desiredWorkers: 3, workers: 1, readyWorkers: 1 });
    expect(scaled.previous).toMatchObject({ desiredWorkers: 1 });
  });

  it("after kubesub restarts on the same port, every stream re-subscribes, starts again with a fresh initial state, then goes on live", async () => {
    const pods = podEvents("alice");
    const ides = ideEvents();
    const dask = daskEvents();
    await Promise.all([initialState(pods), initialState(ides), initialState(dask)]);

    // Re-subscriptions meet a closed port while no kubesub listens; graphql-sse retries them.
    const retried = retries.next();
    await kubesub.stop();
    // Each stream's last event from the old server.
    for (const stream of [pods, ides, dask]) {
      expect((await take<AnyEvent>(stream, { count: 1 })).map((e) => sharedLine(e as SharedEvent))).toEqual([
        "StreamError SHUTTING_DOWN retryable",
      ]);
    }
    // The cluster goes on changing while kubesub is down; the new server's initial state shows it.
    kubesub.cluster.create(podResource, podObject({ name: "alice-train", namespace: project, user: "alice" }));
    updatePod("vscode-alice", (pod) => setPodState(pod, "ready"));
    scaleCluster(2);
    await retried;
    await kubesub.start();

    const [podsAgain, idesAgain, daskAgain] = await Promise.all([pods, ides, dask].map((stream) => restarted(stream)));
    expect(podsAgain?.map((e) => podLine(e as PodEvent)).sort()).toEqual(
      [
        "PodAdded alice-etl INITIAL_STATE",
        "PodAdded alice-train INITIAL_STATE",
        "PodAdded lab-alice INITIAL_STATE",
        "PodAdded vscode-alice INITIAL_STATE",
        "InitialStateComplete 4",
      ].sort(),
    );
    expect(idesAgain?.map((e) => ideLine(e as IdeEvent))).toEqual(["IDEAdded vscode-alice INITIAL_STATE", "InitialStateComplete 1"]);
    expect(idesAgain?.[0]).toMatchObject({ ide: { status: "READY", ready: true } });
    expect(daskAgain?.map((e) => daskLine(e as DaskEvent)).sort()).toEqual(
      ["DaskClusterAdded analysis INITIAL_STATE", "DaskWorkerGroupAdded analysis-default INITIAL_STATE", "InitialStateComplete 2"].sort(),
    );
    expect(daskAgain?.find((e) => e.__typename === "DaskClusterAdded")).toMatchObject({ cluster: { desiredWorkers: 2 } });
    for (const stream of [pods, ides, dask]) expect(stream.subscriptions).toBeGreaterThanOrEqual(2);

    // Live again.
    kubesub.cluster.delete(podResource, project, "alice-train");
    updatePod("vscode-alice", (pod) => setPodState(pod, { stuck: "CrashLoopBackOff" }));
    scaleCluster(3);
    expect((await take(pods, { count: 1 })).map(podLine)).toEqual(["PodDeleted alice-train CLUSTER_CHANGE"]);
    // vscode-alice's pod change reaches the pod stream too.
    expect((await take(pods, { count: 1 })).map(podLine)).toEqual([expect.stringMatching(/^PodUpdated vscode-alice /)]);
    expect((await take(ides, { count: 1 })).map(ideLine)).toEqual([expect.stringMatching(/^IDEUpdated vscode-alice \[status,ready/)]);
    expect((await take(dask, { count: 1 })).map(daskLine)).toEqual(["DaskClusterUpdated analysis [desiredWorkers]"]);
  });
});

/**
 * The events of a stream up to the new server's InitialStateComplete, less those before its last
 * StreamError: a re-subscription that reaches the old server while it still shuts down gets
 * SHUTTING_DOWN again, and the client subscribes once more.
 */
async function restarted(stream: ResubscribingStream<AnyEvent>): Promise<AnyEvent[]> {
  const events = await take(stream, { until: isComplete, timeoutMs: 10_000 });
  const lastError = events.findLastIndex((e) => e.__typename === "StreamError");
  for (const e of events.slice(0, lastError + 1)) {
    if (e.__typename === "StreamError") expect(sharedLine(e)).toBe("StreamError SHUTTING_DOWN retryable");
  }
  return events.slice(lastError + 1);
}
