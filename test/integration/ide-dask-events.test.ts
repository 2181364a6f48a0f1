// ideEvents and daskEvents as a client sees them: the real server over real HTTP, graphql-sse
// clients, an in-memory cluster in which the tests play the Kubeflow notebook-controller, the
// kubelet, the Dask operator and its autoscaler.
import { type Client, createClient, type ExecutionResult, NetworkError } from "graphql-sse";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import { KubeApiError } from "../../src/kube/errors.ts";
import type { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import {
  daskAutoscalerResource,
  daskClusterResource,
  daskJobResource,
  daskWorkerGroupResource,
  notebookResource,
  podResource,
} from "../../src/kube/resources.ts";
import type { KubeObject, ResourceType } from "../../src/kube/types.ts";
import {
  annotate,
  cooldownAnnotation,
  daskAutoscalerObject,
  daskClusterObject,
  daskJobObject,
  daskPod,
  daskWorkerGroupObject,
  notebookObject,
  notebookPod,
  podObject,
  setDaskStatus,
  setPodState,
  setReplicas,
} from "../helpers/ide-dask-fixtures.ts";
import { type RunningKubesub, startOnMemoryCluster } from "../helpers/kubesub-server.ts";
import { userLabel } from "../helpers/settings.ts";
import { readSse } from "../helpers/sse.ts";
import { take } from "../helpers/streams.ts";

const project = "data-science";

const ideEventsDocument = /* GraphQL */ `
  subscription Ides($project: String!, $user: String, $kind: IDEKind, $target: String) {
    ideEvents(project: $project, user: $user, kind: $kind, target: $target) {
      __typename
      ... on IDEAdded { cause ide { name kind user status ready convention pods { name } } }
      ... on IDEUpdated { changedFields ide { name kind status ready pods { name ready } } previous { status ready } }
      ... on IDEDeleted { cause ide { name } }
      ... on InitialStateComplete { count }
      ... on ResourceUnavailable { resource namespace reason message }
      ... on StreamError { code message }
    }
  }
`;

const daskEventsDocument = /* GraphQL */ `
  subscription Dask($project: String!, $target: String, $resources: [DaskResource!], $user: String) {
    daskEvents(project: $project, target: $target, resources: $resources, user: $user) {
      __typename
      ... on DaskClusterAdded { cause cluster { name phase desiredWorkers workers readyWorkers schedulerReady } }
      ... on DaskClusterUpdated { changedFields cluster { name phase desiredWorkers workers readyWorkers schedulerReady } }
      ... on DaskClusterDeleted { cause cluster { name } }
      ... on DaskWorkerGroupAdded { cause workerGroup { name cluster desiredWorkers workers readyWorkers } }
      ... on DaskWorkerGroupUpdated { changedFields workerGroup { name desiredWorkers workers readyWorkers } }
      ... on DaskWorkerGroupDeleted { cause workerGroup { name } }
      ... on DaskAutoscalerAdded { cause autoscaler { name cluster minimum maximum } }
      ... on DaskAutoscalerUpdated { changedFields autoscaler { name minimum maximum } }
      ... on DaskAutoscalerDeleted { cause autoscaler { name } }
      ... on DaskJobAdded { cause job { name status cluster startTime endTime runnerPod { name phase } } }
      ... on DaskJobUpdated { changedFields job { name status cluster startTime endTime runnerPod { name phase } } previous { status } }
      ... on DaskJobDeleted { cause job { name } }
      ... on InitialStateComplete { count }
      ... on ResourceUnavailable { resource namespace reason message }
      ... on StreamError { code message }
    }
  }
`;

/** Every field any member of either union may carry, as the documents above select them. */
interface Event {
  __typename: string;
  cause?: string;
  count?: number;
  changedFields?: string[];
  resource?: string;
  namespace?: string;
  reason?: string;
  message?: string;
  code?: string;
  ide?: { name: string; kind?: string; user?: string | null; status?: string; ready?: boolean; convention?: string; pods?: object[] };
  previous?: { status?: string; ready?: boolean };
  cluster?: { name: string; phase?: string; desiredWorkers?: number; workers?: number; readyWorkers?: number; schedulerReady?: boolean };
  workerGroup?: { name: string; cluster?: string; desiredWorkers?: number; workers?: number; readyWorkers?: number };
  autoscaler?: { name: string; cluster?: string; minimum?: number; maximum?: number };
  job?: {
    name: string;
    status?: string;
    cluster?: string | null;
    startTime?: string | null;
    endTime?: string | null;
    runnerPod?: { name: string; phase: string } | null;
  };
}

type Result = ExecutionResult<Record<string, Event>>;

/** "IDEAdded nb-carol INITIAL_STATE", "DaskClusterUpdated analysis [desiredWorkers]", "InitialStateComplete 2". */
function summary(event: Event): string {
  const object = event.ide ?? event.cluster ?? event.workerGroup ?? event.autoscaler ?? event.job;
  const parts = [event.__typename, object?.name ?? event.count ?? event.resource ?? event.code];
  if (event.cause) parts.push(event.cause);
  if (event.changedFields) parts.push(`[${event.changedFields.join(",")}]`);
  return parts.join(" ");
}

let kubesub: RunningKubesub & { cluster: MemoryCluster };
let cluster: MemoryCluster;
const clients: Client[] = [];

beforeEach(async () => {
  kubesub = await startOnMemoryCluster();
  cluster = kubesub.cluster;
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.dispose();
  await kubesub.close();
});

function subscribe(document: string, variables: Record<string, unknown>, singleConnection = false): AsyncIterableIterator<Result> {
  const client = createClient({
    url: `${kubesub.origin}${singleConnection ? "/graphql/stream" : "/graphql"}`,
    singleConnection,
    retryAttempts: 0,
  });
  clients.push(client);
  return client.iterate({ query: document, variables }) as AsyncIterableIterator<Result>;
}

const ideEvents = (variables: Record<string, unknown>, singleConnection?: boolean) =>
  subscribe(ideEventsDocument, { project, ...variables }, singleConnection);
const daskEvents = (variables: Record<string, unknown>) => subscribe(daskEventsDocument, { project, ...variables });

const eventsOf = (results: Result[]) => results.map((r) => (r.data?.ideEvents ?? r.data?.daskEvents) as Event);
const isComplete = (r: Result) => eventsOf([r])[0]?.__typename === "InitialStateComplete";

/** Everything up to and including InitialStateComplete. */
async function initial(stream: AsyncIterator<Result>): Promise<Event[]> {
  return eventsOf(await take(stream, { until: isComplete }));
}

async function next(stream: AsyncIterator<Result>, count = 1): Promise<Event[]> {
  return eventsOf(await take(stream, { count }));
}

interface RefusalError {
  message: string;
  extensions?: { code?: string; argument?: string };
}

/**
 * The first GraphQL error a subscription is refused with: from its first result, or, when the server
 * answered with an error status (variables that do not fit the schema), from that response's body,
 * which graphql-sse's client reports only as "Server responded with 400".
 */
async function refusal(stream: AsyncIterator<Result>): Promise<RefusalError & { status?: number }> {
  let results: Result[];
  try {
    results = await take(stream, { count: 1 });
  } catch (error) {
    if (!(error instanceof NetworkError) || !error.response) throw error;
    // graphql-sse leaves the body unread; yoga writes it as the stream's one "next" frame.
    const response = error.response as Response;
    const [frame] = await take(readSse(response.body as ReadableStream<Uint8Array>), { until: (f) => f.event === "next" });
    const body = JSON.parse(frame?.data ?? "{}") as { errors?: RefusalError[] };
    return { ...(body.errors?.[0] as RefusalError), status: response.status };
  }
  const errors = (results[0]?.errors ?? []) as unknown as RefusalError[];
  expect(errors, "the subscription is refused with an error").not.toHaveLength(0);
  return errors[0] as RefusalError;
}

/**
 * Starts the project's pod informer (it outlives its stream by the server's linger time), so that a
 * list failure injected next meets the first list of the other resource a new stream reads.
 */
async function warmPodInformer(): Promise<void> {
  const pods = subscribe(`subscription Pods($project: String!) { podEvents(project: $project) { __typename } }`, { project });
  await take(pods, { until: (r) => (r.data?.podEvents as Event | undefined)?.__typename === "InitialStateComplete" });
  await pods.return?.();
  expect(kubesub.app.registry.snapshot().map((entry) => entry.key)).toEqual(["pods/*", "namespaces/*"]);
}

const updatePod = (name: string, mutate: (pod: KubePod) => void) => cluster.update<KubePod>(podResource, project, name, mutate);
const update = (type: ResourceType, name: string, mutate: (object: KubeObject) => void) => cluster.update(type, project, name, mutate);

describe("ideEvents", () => {
  beforeEach(() => {
    // Kubeflow: three Notebooks, one of each kind, and the notebook-controller's pods.
    for (const [name, user, serverType] of [
      ["nb-carol", "carol", "jupyter"],
      ["code-dan", "dan", "group-one"],
      ["rstudio-alice", "alice", "group-two"],
    ] as const) {
      cluster.create(notebookResource, notebookObject({ name, namespace: project, user, serverType }));
      cluster.create(podResource, notebookPod(name, { namespace: project, state: "creating" }));
    }
    // kubesub's own labels and a JupyterHub single-user server.
    cluster.create(
      podResource,
      podObject({ name: "vscode-bob", namespace: project, user: "bob", state: "ready", labels: { "kubesub.io/ide": "vscode" } }),
    );
    cluster.create(
      podResource,
      podObject({
        name: "jupyter-erin",
        namespace: project,
        state: "unscheduled",
        labels: { component: "singleuser-server", "hub.jupyter.org/username": "erin" },
      }),
    );
    // Not an IDE.
    cluster.create(podResource, podObject({ name: "etl-1", namespace: project, user: "dan", state: "ready", labels: { app: "etl" } }));
  });

  it.each([
    { mode: "distinct connections", single: false },
    { mode: "a single connection", single: true },
  ])("sends every IDE, InitialStateComplete, then a Notebook pod's readiness as IDEUpdated ($mode)", async ({ single }) => {
    const stream = ideEvents({}, single);
    const start = await initial(stream);
    expect(start.map(summary).sort()).toEqual(
      [
        "IDEAdded code-dan INITIAL_STATE",
        "IDEAdded jupyter-erin INITIAL_STATE",
        "IDEAdded nb-carol INITIAL_STATE",
        "IDEAdded rstudio-alice INITIAL_STATE",
        "IDEAdded vscode-bob INITIAL_STATE",
        "InitialStateComplete 5",
      ].sort(),
    );
    expect(start.at(-1)?.__typename).toBe("InitialStateComplete");
    const byName = Object.fromEntries(start.filter((e) => e.ide).map((e) => [e.ide?.name, e.ide]));
    expect(byName).toMatchObject({
      "nb-carol": { kind: "JUPYTERLAB", user: "carol", status: "STARTING", ready: false, convention: "KUBEFLOW_NOTEBOOK" },
      "code-dan": { kind: "VSCODE", user: "dan", convention: "KUBEFLOW_NOTEBOOK" },
      "rstudio-alice": { kind: "RSTUDIO", user: "alice", convention: "KUBEFLOW_NOTEBOOK" },
      "vscode-bob": { kind: "VSCODE", user: "bob", status: "READY", ready: true, convention: "KUBESUB_LABELS" },
      "jupyter-erin": { kind: "JUPYTERLAB", user: "erin", status: "PENDING", convention: "JUPYTERHUB" },
    });

    updatePod("nb-carol-0", (pod) => setPodState(pod, "ready"));
    const [ready] = await next(stream);
    expect(ready?.__typename).toBe("IDEUpdated");
    expect(ready?.changedFields).toEqual(expect.arrayContaining(["status", "ready"]));
    expect(ready).toMatchObject({
      ide: { name: "nb-carol", status: "READY", ready: true, pods: [{ name: "nb-carol-0", ready: true }] },
      previous: { status: "STARTING", ready: false },
    });
    await stream.return?.();
  });

  it("does not deliver annotation-only changes: the next event is the next visible one", async () => {
    const stream = ideEvents({});
    await initial(stream);

    // One watch delivers in order: the pod annotations come before the visible pod change.
    updatePod("nb-carol-0", (pod) => annotate(pod, { "kubectl.kubernetes.io/restartedAt": "2024-05-01T12:00:00Z" }));
    updatePod("vscode-bob", (pod) => annotate(pod, { "example.org/scraped": "yes" }));
    updatePod("etl-1", (pod) => setPodState(pod, "succeeded")); // not an IDE
    updatePod("code-dan-0", (pod) => setPodState(pod, { stuck: "ImagePullBackOff" }));
    const [failed] = await next(stream);
    expect(failed && summary(failed)).toBe("IDEUpdated code-dan [status,reason,message,pods]");
    expect(failed?.ide).toMatchObject({ status: "FAILED", ready: false });

    // Likewise on the Notebooks' watch.
    cluster.update(notebookResource, project, "nb-carol", (nb) => annotate(nb, { "notebooks.kubeflow.org/last-activity": "now" }));
    cluster.update(notebookResource, project, "rstudio-alice", (nb) =>
      annotate(nb, { "kubeflow-resource-stopped": "2024-05-01T12:00:00Z" }),
    );
    expect((await next(stream)).map(summary)).toEqual(["IDEUpdated rstudio-alice [status,reason,message]"]);
    await stream.return?.();
  });

  it.each([
    {
      name: "kind",
      variables: { kind: "VSCODE" },
      initial: ["IDEAdded code-dan INITIAL_STATE", "IDEAdded vscode-bob INITIAL_STATE", "InitialStateComplete 2"],
      live: ["IDEUpdated code-dan", "IDEUpdated vscode-bob"],
      last: "vscode-bob",
    },
    {
      name: "target",
      variables: { target: "nb-carol" },
      initial: ["IDEAdded nb-carol INITIAL_STATE", "InitialStateComplete 1"],
      live: ["IDEUpdated nb-carol"],
      last: "nb-carol-0",
    },
    {
      name: "user",
      variables: { user: "erin" },
      initial: ["IDEAdded jupyter-erin INITIAL_STATE", "InitialStateComplete 1"],
      live: ["IDEUpdated jupyter-erin"],
      last: "jupyter-erin",
    },
  ])("the $name filter narrows the initial state and the live changes", async ({ variables, initial: first, live, last }) => {
    const stream = ideEvents(variables);
    expect((await initial(stream)).map(summary).sort()).toEqual([...first].sort());

    // A visible change to every IDE, then one more to a matching IDE: only the matching ones arrive.
    updatePod("rstudio-alice-0", (pod) => setPodState(pod, "ready"));
    updatePod("nb-carol-0", (pod) => setPodState(pod, "ready"));
    updatePod("code-dan-0", (pod) => setPodState(pod, "ready"));
    updatePod("vscode-bob", (pod) => setPodState(pod, { stuck: "CrashLoopBackOff" }));
    updatePod("jupyter-erin", (pod) => setPodState(pod, "ready"));
    updatePod(last, (pod) => setPodState(pod, "scheduled"));
    const events = await next(stream, live.length + 1);
    const lastIde = last.replace(/-0$/, "");
    expect(events.map((e) => `${e.__typename} ${e.ide?.name}`)).toEqual([...live, `IDEUpdated ${lastIde}`]);
    await stream.return?.();
  });

  it("a Notebook being stopped: IDEUpdated STOPPED, its pod leaving: IDEUpdated, the Notebook deleted: IDEDeleted", async () => {
    const stream = ideEvents({ target: "code-dan" });
    await initial(stream);

    cluster.update(notebookResource, project, "code-dan", (nb) => annotate(nb, { "kubeflow-resource-stopped": "2024-05-01T12:00:00Z" }));
    const [stopped] = await next(stream);
    expect(stopped && summary(stopped)).toBe("IDEUpdated code-dan [status,reason,message]");
    expect(stopped).toMatchObject({ ide: { status: "STOPPED", ready: false }, previous: { status: "STARTING" } });

    cluster.delete(podResource, project, "code-dan-0");
    expect((await next(stream)).map(summary)).toEqual(["IDEUpdated code-dan [startedAt,pods]"]);

    cluster.delete(notebookResource, project, "code-dan");
    expect((await next(stream)).map(summary)).toEqual(["IDEDeleted code-dan CLUSTER_CHANGE"]);
    await stream.return?.();
  });

  describe("bad input", () => {
    it.each([
      {
        name: "written in the document",
        stream: () => subscribe(`subscription { ideEvents(project: "${project}", kind: EMACS) { __typename } }`, {}),
        refused: { code: "GRAPHQL_VALIDATION_FAILED" },
      },
      {
        name: "passed as a variable",
        stream: () => ideEvents({ kind: "EMACS" }),
        // Over an accepted stream, as graphql-sse's protocol asks: no HTTP error status.
        refused: { code: "BAD_USER_INPUT", status: undefined },
      },
    ])("a kind that is not an IDEKind, $name, is refused before anything is watched", async ({ stream, refused }) => {
      const { code, status } = refused;
      const error = await refusal(stream());
      expect(error.message).toContain('Value "EMACS" does not exist in "IDEKind" enum');
      expect(error.extensions?.code).toBe(code);
      expect(error.status).toBe(status);
      expect(kubesub.app.registry.snapshot()).toEqual([]);
    });

    it('target "Bad_Name" is refused with BAD_USER_INPUT naming target, before anything is watched', async () => {
      const error = await refusal(ideEvents({ target: "Bad_Name" }));
      expect(error.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "target" });
      expect(error.message).toContain("Bad_Name");
      expect(kubesub.app.registry.snapshot()).toEqual([]);
    });
  });

  it("without the Notebook CRD, reports notebooks NOT_INSTALLED and still streams the other conventions' IDEs", async () => {
    await warmPodInformer();
    cluster.failNextLists(new KubeApiError("the server could not find the requested resource", { statusCode: 404 }));

    const stream = ideEvents({ kind: "VSCODE" });
    const start = await initial(stream);
    expect(start[0]).toMatchObject({
      __typename: "ResourceUnavailable",
      resource: "notebooks.kubeflow.org",
      namespace: project,
      reason: "NOT_INSTALLED",
    });
    expect(start.slice(1).map(summary)).toEqual(["IDEAdded vscode-bob INITIAL_STATE", "InitialStateComplete 1"]);
    await stream.return?.();
  });
});

describe("daskEvents", () => {
  beforeEach(() => {
    cluster.create(
      daskClusterResource,
      daskClusterObject({ name: "analysis", namespace: project, user: "carol", replicas: 1, phase: "Running" }),
    );
    cluster.create(
      daskWorkerGroupResource,
      daskWorkerGroupObject({ name: "analysis-default", namespace: project, cluster: "analysis", replicas: 1 }),
    );
    cluster.create(
      daskAutoscalerResource,
      daskAutoscalerObject({ name: "analysis", namespace: project, cluster: "analysis", cooldownUntil: "2024-05-01T10:00:05Z" }),
    );
    cluster.create(
      podResource,
      daskPod({ name: "analysis-scheduler", namespace: project, cluster: "analysis", component: "scheduler", state: "ready" }),
    );
    cluster.create(podResource, worker("analysis-worker-1", "ready"));
    cluster.create(
      daskClusterResource,
      daskClusterObject({ name: "other", namespace: project, user: "dan", replicas: 0, phase: "Pending" }),
    );
    cluster.create(
      daskJobResource,
      daskJobObject({ name: "nightly", namespace: project, user: "dan", status: { jobStatus: "JobCreated" } }),
    );
  });

  const worker = (name: string, state: "unscheduled" | "ready") =>
    daskPod({ name, namespace: project, cluster: "analysis", component: "worker", workerGroup: "analysis-default", state });

  /** "desired/workers/ready": what a dashboard shows of a cluster's size. */
  const size = (e: Event | undefined) => `${e?.cluster?.desiredWorkers}/${e?.cluster?.workers}/${e?.cluster?.readyWorkers}`;

  it("follows a cluster being scaled: desiredWorkers, then workers, then readyWorkers, for its target only", async () => {
    const stream = daskEvents({ target: "analysis", resources: ["CLUSTERS"] });
    const start = await initial(stream);
    expect(start.map(summary)).toEqual(["DaskClusterAdded analysis INITIAL_STATE", "InitialStateComplete 1"]);
    expect(start[0]?.cluster).toEqual({
      name: "analysis",
      phase: "RUNNING",
      desiredWorkers: 1,
      workers: 1,
      readyWorkers: 1,
      schedulerReady: true,
    });

    update(daskClusterResource, "analysis", (c) => setReplicas(c, 3));
    update(daskClusterResource, "other", (c) => setReplicas(c, 5)); // another cluster: not this stream's
    cluster.create(podResource, worker("analysis-worker-2", "unscheduled"));
    cluster.create(podResource, worker("analysis-worker-3", "unscheduled"));
    updatePod("analysis-worker-2", (pod) => setPodState(pod, "ready"));
    updatePod("analysis-worker-3", (pod) => setPodState(pod, "ready"));
    const up = await next(stream, 5);
    expect(up.map((e) => `${summary(e)} ${size(e)}`)).toEqual([
      "DaskClusterUpdated analysis [desiredWorkers] 3/1/1",
      // reason and message: the first worker that waits for a node, then the next, then none.
      "DaskClusterUpdated analysis [workers,reason,message] 3/2/1",
      "DaskClusterUpdated analysis [workers] 3/3/1",
      "DaskClusterUpdated analysis [readyWorkers,message] 3/3/2",
      "DaskClusterUpdated analysis [readyWorkers,reason,message] 3/3/3",
    ]);

    // Scaling down: a worker being deleted no longer counts; one that is gone neither.
    update(daskClusterResource, "analysis", (c) => setReplicas(c, 1));
    updatePod("analysis-worker-3", (pod) => {
      pod.metadata = { ...pod.metadata, deletionTimestamp: "2024-05-01T11:00:00Z" };
    });
    cluster.delete(podResource, project, "analysis-worker-3");
    cluster.delete(podResource, project, "analysis-worker-2");
    const down = await next(stream, 3);
    expect(down.map((e) => `${summary(e)} ${size(e)}`)).toEqual([
      "DaskClusterUpdated analysis [desiredWorkers] 1/3/3",
      "DaskClusterUpdated analysis [workers,readyWorkers] 1/2/2",
      "DaskClusterUpdated analysis [workers,readyWorkers] 1/1/1",
    ]);
    await stream.return?.();
  });

  it("does not deliver the autoscaler's cooldown-annotation churn: the next event is the next visible one", async () => {
    const stream = daskEvents({});
    const start = await initial(stream);
    expect(start.map(summary).sort()).toEqual(
      [
        "DaskClusterAdded analysis INITIAL_STATE",
        "DaskClusterAdded other INITIAL_STATE",
        "DaskWorkerGroupAdded analysis-default INITIAL_STATE",
        "DaskAutoscalerAdded analysis INITIAL_STATE",
        "DaskJobAdded nightly INITIAL_STATE",
        "InitialStateComplete 5",
      ].sort(),
    );

    // The autoscalers' watch delivers in order: the churn comes before the visible change.
    for (let second = 10; second <= 50; second += 10) {
      update(daskAutoscalerResource, "analysis", (a) => annotate(a, { [cooldownAnnotation]: `2024-05-01T10:00:${second}Z` }));
    }
    update(daskAutoscalerResource, "analysis", (a) => {
      (a as { spec: object }).spec = { cluster: "analysis", minimum: 1, maximum: 8 };
    });
    const events = await next(stream);
    expect(events.map(summary)).toEqual(["DaskAutoscalerUpdated analysis [maximum]"]);
    expect(events[0]?.autoscaler).toEqual({ name: "analysis", minimum: 1, maximum: 8 });

    // Likewise a worker pod's annotation, before its cluster's scheduler stops being Ready.
    updatePod("analysis-worker-1", (pod) => annotate(pod, { "example.org/scraped": "yes" }));
    updatePod("analysis-scheduler", (pod) => setPodState(pod, "running"));
    expect((await next(stream)).map(summary)).toEqual(["DaskClusterUpdated analysis [schedulerReady,reason,message,scheduler]"]);
    await stream.return?.();
  });

  it("resources: [JOBS] streams only DaskJob events, and a job running to completion arrives as DaskJobUpdated", async () => {
    const stream = daskEvents({ resources: ["JOBS"] });
    const start = await initial(stream);
    expect(start.map(summary)).toEqual(["DaskJobAdded nightly INITIAL_STATE", "InitialStateComplete 1"]);
    expect(start[0]?.job).toEqual({
      name: "nightly",
      status: "JOB_CREATED",
      cluster: null,
      startTime: null,
      endTime: null,
      runnerPod: null,
    });

    // Changes to the other resources: none of this stream's business.
    update(daskClusterResource, "analysis", (c) => setReplicas(c, 2));
    update(daskWorkerGroupResource, "analysis-default", (g) => setReplicas(g, 2));
    update(daskAutoscalerResource, "analysis", (a) => {
      (a as { spec: object }).spec = { cluster: "analysis", minimum: 2, maximum: 4 };
    });

    // The operator: a cluster for the job, then the runner pod, then the job's end.
    update(daskJobResource, "nightly", (j) => setDaskStatus(j, { jobStatus: "ClusterCreated", clusterName: "nightly" }));
    expect((await next(stream)).map(summary)).toEqual(["DaskJobUpdated nightly [status,cluster]"]);

    cluster.create(
      podResource,
      daskPod({ name: "nightly-runner", namespace: project, cluster: "nightly", component: "job-runner", state: "running" }),
    );
    update(daskJobResource, "nightly", (j) =>
      setDaskStatus(j, { jobStatus: "Running", startTime: "2024-05-01T10:05:00Z", jobRunnerPodName: "nightly-runner" }),
    );
    const [running] = await next(stream);
    expect(running && summary(running)).toBe("DaskJobUpdated nightly [status,startTime,runnerPod]");
    expect(running).toMatchObject({
      previous: { status: "CLUSTER_CREATED" },
      job: {
        status: "RUNNING",
        cluster: "nightly",
        startTime: "2024-05-01T10:05:00.000Z",
        runnerPod: { name: "nightly-runner", phase: "RUNNING" },
      },
    });

    updatePod("nightly-runner", (pod) => setPodState(pod, "succeeded"));
    update(daskJobResource, "nightly", (j) => setDaskStatus(j, { jobStatus: "Successful", endTime: "2024-05-01T10:35:00Z" }));
    const done = await next(stream, 2);
    expect(done.map(summary)).toEqual(["DaskJobUpdated nightly [runnerPod]", "DaskJobUpdated nightly [status,endTime]"]);
    expect(done[1]).toMatchObject({
      previous: { status: "RUNNING" },
      job: { status: "SUCCESSFUL", endTime: "2024-05-01T10:35:00.000Z", runnerPod: { phase: "SUCCEEDED" } },
    });
    await stream.return?.();
  });

  it("a DaskCluster CRD that cannot be listed yet: ResourceUnavailable NOT_INSTALLED, InitialStateComplete, then DaskClusterAdded once a retry lists it", async () => {
    await warmPodInformer();
    // kubesub's default --watch-scope cluster: one list of daskclusters for all projects.
    const listsOf = () => cluster.stats.lists.get("daskclusters.kubernetes.dask.org/") ?? 0;
    expect(listsOf()).toBe(0);
    cluster.failNextLists(new KubeApiError("the server could not find the requested resource", { statusCode: 404 }));

    const subscribedAt = Date.now();
    const stream = daskEvents({ resources: ["CLUSTERS"] });
    const start = await initial(stream);
    expect(start.map(summary)).toEqual(["ResourceUnavailable daskclusters.kubernetes.dask.org", "InitialStateComplete 0"]);
    expect(start[0]).toMatchObject({ namespace: project, reason: "NOT_INSTALLED" });
    expect(start[0]?.message).toContain("kubernetes.dask.org/v1 daskclusters");
    expect(listsOf()).toBe(1);

    // The informer retries after its backoff (at most 1.5 x the server's 1 s retry bound).
    const later = eventsOf(await take(stream, { count: 2, timeoutMs: 4_000 }));
    expect(later.map(summary).sort()).toEqual(["DaskClusterAdded analysis CLUSTER_CHANGE", "DaskClusterAdded other CLUSTER_CHANGE"]);
    expect(later.find((e) => e.cluster?.name === "analysis")?.cluster).toMatchObject({
      desiredWorkers: 1,
      workers: 1,
      schedulerReady: true,
    });
    expect(listsOf()).toBe(2);
    expect(Date.now() - subscribedAt).toBeLessThan(4_000);
    await stream.return?.();
  });

  it("a DaskCluster CRD deleted mid-stream: its clusters leave, ResourceUnavailable NOT_INSTALLED says why, and once it is back its clusters come as added", async () => {
    const stream = daskEvents({ resources: ["CLUSTERS", "WORKER_GROUPS"], target: "analysis" });
    const start = (await initial(stream)).map(summary);
    expect(start).toContain("DaskClusterAdded analysis INITIAL_STATE");

    // The CRD goes: the operator's objects are deleted, then the resource is no longer served.
    for (const name of cluster.objectsOf(daskClusterResource, project).map((c) => c.metadata?.name ?? "")) {
      cluster.delete(daskClusterResource, project, name);
    }
    cluster.failNextListsOf(
      daskClusterResource,
      ...Array.from({ length: 2 }, () => new KubeApiError("the server could not find the requested resource", { statusCode: 404 })),
    );
    cluster.expireWatches();
    const gone = eventsOf(await take(stream, { until: (r) => eventsOf([r])[0]?.__typename === "ResourceUnavailable", timeoutMs: 4_000 }));
    // The worker group stays (its own CRD is still there), and belongs to nobody without its cluster.
    expect(gone.map(summary)).toEqual([
      "DaskClusterDeleted analysis CLUSTER_CHANGE",
      "DaskWorkerGroupUpdated analysis-default [user]",
      "ResourceUnavailable daskclusters.kubernetes.dask.org",
    ]);
    expect(gone.at(-1)).toMatchObject({ namespace: project, reason: "NOT_INSTALLED" });

    // A new subscriber learns it from its start.
    const late = daskEvents({ resources: ["CLUSTERS"], target: "analysis" });
    expect((await initial(late)).map(summary)).toEqual(["ResourceUnavailable daskclusters.kubernetes.dask.org", "InitialStateComplete 0"]);

    // Installed again: a retry lists it, and what exists arrives on both streams.
    cluster.create(daskClusterResource, daskClusterObject({ name: "analysis", namespace: project, user: "carol", replicas: 1 }));
    for (const s of [stream, late]) {
      const back = eventsOf(await take(s, { until: (r) => eventsOf([r])[0]?.__typename === "DaskClusterAdded", timeoutMs: 6_000 }));
      expect(back.map(summary)).toContain("DaskClusterAdded analysis CLUSTER_CHANGE");
    }
    await stream.return?.();
    await late.return?.();
  });

  it("a DaskCluster CRD that cannot be listed yet is reported once, though every Dask view reads it; worker groups and autoscalers take their cluster's user once it can", async () => {
    await warmPodInformer();
    cluster.failNextLists(new KubeApiError("the server could not find the requested resource", { statusCode: 404 }));

    const stream = daskEvents({});
    const start = await initial(stream);
    expect(start.map(summary)).toEqual([
      "ResourceUnavailable daskclusters.kubernetes.dask.org",
      "DaskWorkerGroupAdded analysis-default INITIAL_STATE",
      "DaskAutoscalerAdded analysis INITIAL_STATE",
      "DaskJobAdded nightly INITIAL_STATE",
      "InitialStateComplete 3",
    ]);

    // The informer retries after its backoff (at most 1.5 x the server's 1 s retry bound).
    const later = eventsOf(await take(stream, { count: 4, timeoutMs: 4_000 }));
    expect(later.map(summary).sort()).toEqual(
      [
        "DaskClusterAdded analysis CLUSTER_CHANGE",
        "DaskClusterAdded other CLUSTER_CHANGE",
        "DaskWorkerGroupUpdated analysis-default [user]",
        "DaskAutoscalerUpdated analysis [user]",
      ].sort(),
    );
    await stream.return?.();
  });

  describe("previous", () => {
    /** The same fields of the object and of previous, so that one can be compared with the other whole. */
    const versionsDocument = /* GraphQL */ `
      subscription DaskVersions($project: String!) {
        daskEvents(project: $project, resources: [CLUSTERS, WORKER_GROUPS]) {
          __typename
          ... on DaskClusterAdded { cluster { name resourceVersion workers readyWorkers schedulerReady } }
          ... on DaskClusterUpdated {
            changedFields
            cluster { name resourceVersion workers readyWorkers schedulerReady }
            previous { name resourceVersion workers readyWorkers schedulerReady }
          }
          ... on DaskWorkerGroupAdded { workerGroup { name resourceVersion workers readyWorkers } }
          ... on DaskWorkerGroupUpdated {
            changedFields
            workerGroup { name resourceVersion workers readyWorkers }
            previous { name resourceVersion workers readyWorkers }
          }
          ... on InitialStateComplete { count }
        }
      }
    `;
    type Sent = { name: string; resourceVersion: string };

    /**
     * Follows one stream as a client does: every Updated's previous must be the object this stream
     * last sent under that name, whole. Returns the events' summaries.
     */
    function follow(lastSent: Map<string, Sent>, events: Event[]): string[] {
      for (const event of events) {
        const object = (event.cluster ?? event.workerGroup) as Sent | undefined;
        if (!object) continue;
        const key = `${event.__typename.replace(/(Added|Updated|Deleted)$/, "")}/${object.name}`;
        if (event.__typename.endsWith("Updated")) {
          expect(lastSent.has(key), `${key} was sent before it was updated`).toBe(true);
          expect(event.previous, `previous of ${summary(event)}`).toEqual(lastSent.get(key));
        }
        lastSent.set(key, object);
      }
      return events.map(summary);
    }

    it("DaskClusterUpdated and DaskWorkerGroupUpdated carry as previous the object this stream last sent, not a version written in between that it never saw", async () => {
      const early = subscribe(versionsDocument, { project });
      const earlySent = new Map<string, Sent>();
      expect(follow(earlySent, await initial(early)).sort()).toEqual(
        ["DaskClusterAdded analysis", "DaskClusterAdded other", "DaskWorkerGroupAdded analysis-default", "InitialStateComplete 3"].sort(),
      );
      const sentVersion = (key: string) => earlySent.get(key)?.resourceVersion;
      const [clusterVersion, groupVersion] = [sentVersion("DaskCluster/analysis"), sentVersion("DaskWorkerGroup/analysis-default")];

      // Writes that no served field shows, each followed on the same (pod) watch by a visible change.
      // The annotation raises the highest resourceVersion of the cluster's and the group's pods.
      updatePod("analysis-worker-1", (pod) => annotate(pod, { "example.org/scraped": "1" }));
      const late = subscribe(versionsDocument, { project });
      const lateSent = new Map<string, Sent>();
      await initial(late).then((events) => follow(lateSent, events));
      cluster.create(podResource, worker("analysis-worker-2", "unscheduled"));
      updatePod("analysis-scheduler", (pod) => annotate(pod, { "example.org/scraped": "2" }));
      updatePod("analysis-worker-2", (pod) => annotate(pod, { "example.org/scraped": "3" }));
      updatePod("analysis-worker-2", (pod) => setPodState(pod, "ready"));

      const live = [
        "DaskClusterUpdated analysis [workers,reason,message]",
        "DaskWorkerGroupUpdated analysis-default [workers]",
        "DaskClusterUpdated analysis [readyWorkers,reason,message]",
        "DaskWorkerGroupUpdated analysis-default [readyWorkers]",
      ];
      const earlyLive = await next(early, 4);
      expect(follow(earlySent, earlyLive).sort()).toEqual([...live].sort());
      expect(follow(lateSent, await next(late, 4)).sort()).toEqual([...live].sort());
      // What the user saw first: the versions of the initial state, not the annotation's.
      expect(earlyLive.find((e) => e.cluster)?.previous).toMatchObject({ resourceVersion: clusterVersion, workers: 1 });
      expect(earlyLive.find((e) => e.workerGroup)?.previous).toMatchObject({ resourceVersion: groupVersion, workers: 1 });
      await early.return?.();
      await late.return?.();
    });
  });

  describe("user", () => {
    const query = async (document: string, variables: Record<string, unknown>) => {
      const response = await fetch(`${kubesub.origin}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query: document, variables: { project, ...variables } }),
      });
      const body = (await response.json()) as { data?: Record<string, { name: string; user: string | null }[]>; errors?: unknown[] };
      expect(body.errors).toBeUndefined();
      return body.data ?? {};
    };
    const listsDocument = /* GraphQL */ `
      query Lists($project: String!, $user: String) {
        daskClusters(project: $project, user: $user) { name user }
        daskWorkerGroups(project: $project, user: $user) { name user }
        daskAutoscalers(project: $project, user: $user) { name user }
        daskJobs(project: $project, user: $user) { name user }
      }
    `;
    /** "daskWorkerGroups analysis-default carol": each listed object with its user. */
    const lists = async (user: string) =>
      Object.entries(await query(listsDocument, { user }))
        .flatMap(([field, objects]) => objects.map((o) => `${field} ${o.name} ${o.user}`))
        .sort();

    it("worker groups, autoscalers and jobs belong to the user of their cluster, unless labelled with their own: in streams and queries", async () => {
      // A job without a user label of its own, on carol's cluster; one of alice's on dan's cluster.
      cluster.create(
        daskJobResource,
        daskJobObject({ name: "report", namespace: project, status: { jobStatus: "Running", clusterName: "analysis" } }),
      );
      cluster.create(
        daskJobResource,
        daskJobObject({ name: "mine", namespace: project, user: "alice", status: { jobStatus: "Running", clusterName: "other" } }),
      );

      const alice = daskEvents({ user: "alice" });
      expect((await initial(alice)).map(summary)).toEqual(["DaskJobAdded mine INITIAL_STATE", "InitialStateComplete 1"]);
      const carol = daskEvents({ user: "carol" });
      expect((await initial(carol)).map(summary).sort()).toEqual(
        [
          "DaskClusterAdded analysis INITIAL_STATE",
          "DaskWorkerGroupAdded analysis-default INITIAL_STATE",
          "DaskAutoscalerAdded analysis INITIAL_STATE",
          "DaskJobAdded report INITIAL_STATE",
          "InitialStateComplete 4",
        ].sort(),
      );
      const dan = daskEvents({ user: "dan" });
      expect((await initial(dan)).map(summary).sort()).toEqual(
        ["DaskClusterAdded other INITIAL_STATE", "DaskJobAdded nightly INITIAL_STATE", "InitialStateComplete 2"].sort(),
      );

      // Changes to carol's objects reach carol's stream only.
      update(daskWorkerGroupResource, "analysis-default", (g) => setReplicas(g, 2));
      update(daskJobResource, "mine", (j) => setDaskStatus(j, { jobStatus: "Successful" }));
      expect((await next(carol)).map(summary)).toEqual(["DaskWorkerGroupUpdated analysis-default [desiredWorkers]"]);
      expect((await next(alice)).map(summary)).toEqual(["DaskJobUpdated mine [status]"]);

      expect(await lists("alice")).toEqual(["daskJobs mine alice"]);
      expect(await lists("carol")).toEqual([
        "daskAutoscalers analysis carol",
        "daskClusters analysis carol",
        "daskJobs report carol",
        "daskWorkerGroups analysis-default carol",
      ]);
      for (const stream of [alice, carol, dan]) await stream.return?.();
    });

    it("objects arriving before their cluster, and a cluster relabelled or deleted: Added and Deleted with FILTER_CHANGE", async () => {
      const alice = daskEvents({ user: "alice" });
      expect((await initial(alice)).map(summary)).toEqual(["InitialStateComplete 0"]);
      const carol = daskEvents({ user: "carol" });
      expect((await initial(carol)).map(summary)).toHaveLength(4);

      // The operator's objects for alice's cluster "late", seen before the cluster itself: nobody's yet.
      cluster.create(daskWorkerGroupResource, daskWorkerGroupObject({ name: "late-default", namespace: project, cluster: "late" }));
      cluster.create(daskAutoscalerResource, daskAutoscalerObject({ name: "late", namespace: project, cluster: "late" }));
      cluster.create(
        daskJobResource,
        daskJobObject({ name: "late-job", namespace: project, status: { jobStatus: "ClusterCreated", clusterName: "late" } }),
      );
      cluster.create(daskClusterResource, daskClusterObject({ name: "late", namespace: project, user: "alice", phase: "Created" }));
      expect((await next(alice, 4)).map(summary).sort()).toEqual(
        [
          "DaskClusterAdded late CLUSTER_CHANGE",
          "DaskWorkerGroupAdded late-default FILTER_CHANGE",
          "DaskAutoscalerAdded late FILTER_CHANGE",
          "DaskJobAdded late-job FILTER_CHANGE",
        ].sort(),
      );

      // carol's cluster given to alice: its worker group and autoscaler move with it.
      update(daskClusterResource, "analysis", (c) => {
        c.metadata = { ...c.metadata, labels: { ...c.metadata?.labels, [userLabel]: "alice" } };
      });
      const moved = ["DaskCluster analysis", "DaskWorkerGroup analysis-default", "DaskAutoscaler analysis"];
      expect((await next(carol, 3)).map(summary).sort()).toEqual(
        moved
          .map((m) => m.replace(" ", "Deleted "))
          .map((m) => `${m} FILTER_CHANGE`)
          .sort(),
      );
      expect((await next(alice, 3)).map(summary).sort()).toEqual(
        moved
          .map((m) => m.replace(" ", "Added "))
          .map((m) => `${m} FILTER_CHANGE`)
          .sort(),
      );

      // Without its cluster, a worker group belongs to nobody.
      cluster.delete(daskClusterResource, project, "late");
      expect((await next(alice, 4)).map(summary).sort()).toEqual(
        [
          "DaskClusterDeleted late CLUSTER_CHANGE",
          "DaskWorkerGroupDeleted late-default FILTER_CHANGE",
          "DaskAutoscalerDeleted late FILTER_CHANGE",
          "DaskJobDeleted late-job FILTER_CHANGE",
        ].sort(),
      );
      // Nothing more for carol: the next event on her stream is her next change.
      cluster.create(daskClusterResource, daskClusterObject({ name: "carols", namespace: project, user: "carol" }));
      expect((await next(carol)).map(summary)).toEqual(["DaskClusterAdded carols CLUSTER_CHANGE"]);
      await alice.return?.();
      await carol.return?.();
    });
  });

  it("one operation selects previous { cluster user } on DaskWorkerGroupUpdated, DaskAutoscalerUpdated and DaskJobUpdated, unaliased", async () => {
    const document = /* GraphQL */ `
      subscription DaskOwners($project: String!) {
        daskEvents(project: $project) {
          __typename
          ... on DaskClusterAdded { cluster { name user } }
          ... on DaskClusterUpdated { cluster { name user } previous { name user } }
          ... on DaskWorkerGroupAdded { workerGroup { name cluster user } }
          ... on DaskWorkerGroupUpdated { workerGroup { name cluster user } previous { name cluster user } }
          ... on DaskAutoscalerAdded { autoscaler { name cluster user } }
          ... on DaskAutoscalerUpdated { autoscaler { name cluster user } previous { name cluster user } }
          ... on DaskJobAdded { job { name cluster user } }
          ... on DaskJobUpdated { job { name cluster user } previous { name cluster user } }
          ... on InitialStateComplete { count }
        }
      }
    `;
    const stream = subscribe(document, { project });
    const [first] = await take(stream, { count: 1 });
    expect(first?.errors).toBeUndefined();
    await take(stream, { until: isComplete });

    update(daskWorkerGroupResource, "analysis-default", (g) => setReplicas(g, 2));
    update(daskAutoscalerResource, "analysis", (a) => {
      (a as { spec: object }).spec = { cluster: "analysis", minimum: 1, maximum: 8 };
    });
    update(daskJobResource, "nightly", (j) => setDaskStatus(j, { jobStatus: "ClusterCreated", clusterName: "nightly" }));
    const events = eventsOf(await take(stream, { count: 3 })) as unknown as { __typename: string; previous: object }[];
    // Three watches: their events may arrive in any order.
    const byType = Object.fromEntries(events.map((e) => [e.__typename, e.previous]));
    expect(byType).toEqual({
      DaskWorkerGroupUpdated: { name: "analysis-default", cluster: "analysis", user: "carol" },
      DaskAutoscalerUpdated: { name: "analysis", cluster: "analysis", user: "carol" },
      DaskJobUpdated: { name: "nightly", cluster: null, user: "dan" },
    });
    await stream.return?.();
  });

  describe("bad input", () => {
    it.each([
      { variables: { target: "Bad_Name" }, argument: "target" },
      { variables: { resources: [] }, argument: "resources" },
      { variables: { project: "Data_Science" }, argument: "project" },
    ])("$variables is refused with BAD_USER_INPUT naming $argument, before anything is watched", async ({ variables, argument }) => {
      const error = await refusal(daskEvents(variables));
      expect(error.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument });
      expect(kubesub.app.registry.snapshot()).toEqual([]);
    });
  });
});
