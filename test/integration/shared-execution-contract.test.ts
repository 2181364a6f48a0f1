// The rule that makes shared execution correct: resolvers below a subscription field read only their
// parent (the event), never the context, because one result serves every subscriber of an operation
// (src/server/use-shared-sse.ts executes events with a context that throws when read). Here every
// field of every member of PodEvent, IDEEvent and DaskEvent is selected and every member is made to
// happen, over real HTTP: a resolver that reads the context makes a result carry an error.
import { createClient, type ExecutionResult } from "graphql-sse";
import { afterAll, beforeAll, expect, it } from "vitest";
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
import { buildSchema } from "../../src/schema/index.ts";
import {
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
import { everythingSubscription, membersOf } from "../helpers/schema-selection.ts";
import { take } from "../helpers/streams.ts";

const schema = buildSchema();
const project = "data-science";
const unions = ["PodEvent", "IDEEvent", "DaskEvent"] as const;

let kubesub: RunningKubesub & { cluster: MemoryCluster };
beforeAll(async () => {
  kubesub = await startOnMemoryCluster({
    // Per-project informers, so that a list in another project can be made to fail (ResourceUnavailable).
    watchScope: "namespace",
    // Everything selected, four levels down, is far over the production limits.
    security: {
      maxBodyBytes: 1_048_576,
      limits: { maxDepth: 20, maxAliases: 100, maxTokens: 100_000, maxCost: 1_000_000 },
      graphiql: false,
    },
  });
});
afterAll(() => kubesub.close());

type Event = { __typename: string };

function subscribe(union: string, projectName = project): AsyncIterableIterator<ExecutionResult<Record<string, Event>>> {
  const client = createClient({ url: `${kubesub.origin}/graphql`, retryAttempts: 0 });
  return client.iterate({ query: everythingSubscription(schema, union, projectName) }) as AsyncIterableIterator<
    ExecutionResult<Record<string, Event>>
  >;
}

const typename = (result: ExecutionResult<Record<string, Event>>) => Object.values(result.data ?? {})[0]?.__typename ?? "";

it("every member of every event union, every field selected, executes without reading the context", async () => {
  const { cluster } = kubesub;
  const create = cluster.create.bind(cluster);
  create(podResource, podObject({ name: "etl", namespace: project, user: "dan", state: "creating" }));
  create(notebookResource, notebookObject({ name: "nb-carol", namespace: project, user: "carol" }));
  create(podResource, notebookPod("nb-carol", { namespace: project, state: "creating" }));
  create(daskClusterResource, daskClusterObject({ name: "analysis", namespace: project, user: "carol", replicas: 1, phase: "Running" }));
  create(
    podResource,
    daskPod({ name: "analysis-scheduler", namespace: project, cluster: "analysis", component: "scheduler", state: "ready" }),
  );
  create(podResource, daskPod({ name: "analysis-worker", namespace: project, cluster: "analysis", component: "worker", state: "ready" }));
  create(
    daskWorkerGroupResource,
    daskWorkerGroupObject({ name: "analysis-default", cluster: "analysis", namespace: project, replicas: 1 }),
  );
  create(daskAutoscalerResource, daskAutoscalerObject({ name: "analysis", cluster: "analysis", namespace: project }));
  create(
    daskJobResource,
    daskJobObject({ name: "nightly", namespace: project, user: "carol", status: { jobStatus: "Running", clusterName: "analysis" } }),
  );

  const streams = unions.map((union) => subscribe(union));
  const results = await Promise.all(streams.map((stream) => take(stream, { until: (r) => typename(r) === "InitialStateComplete" })));

  // Every kind changes, then goes.
  cluster.update(podResource, project, "etl", (pod) => setPodState(pod, "ready"));
  cluster.update(podResource, project, "nb-carol-0", (pod) => setPodState(pod, "ready"));
  cluster.update(daskClusterResource, project, "analysis", (object) => setReplicas(object, 2));
  cluster.update(daskWorkerGroupResource, project, "analysis-default", (object) => setReplicas(object, 2));
  cluster.update(daskAutoscalerResource, project, "analysis", (object) => {
    (object as { spec: { maximum: number } }).spec.maximum = 9;
  });
  cluster.update(daskJobResource, project, "nightly", (object) => setDaskStatus(object, { jobStatus: "Successful" }));
  cluster.delete(podResource, project, "etl");
  cluster.delete(notebookResource, project, "nb-carol");
  cluster.delete(podResource, project, "nb-carol-0");
  for (const [type, name] of [
    [daskJobResource, "nightly"],
    [daskAutoscalerResource, "analysis"],
    [daskWorkerGroupResource, "analysis-default"],
    [daskClusterResource, "analysis"],
  ] as const) {
    cluster.delete(type, project, name);
  }
  const deletedLast = ["PodDeleted", "IDEDeleted", "DaskClusterDeleted"];
  for (const [i, stream] of streams.entries()) {
    results[i]?.push(...(await take(stream, { until: (r) => typename(r) === deletedLast[i] })));
  }

  // A resource that cannot be read yet, in another project.
  cluster.failNextLists(new KubeApiError("forbidden (injected)", { statusCode: 403 }));
  const unavailable = subscribe("PodEvent", "team-b");
  results.push(await take(unavailable, { until: (r) => typename(r) === "InitialStateComplete" }));
  streams.push(unavailable);

  // And the last event of every stream: StreamError SHUTTING_DOWN.
  const closing = kubesub.close();
  for (const [i, stream] of streams.entries()) {
    results[i]?.push(...(await take(stream, { until: (r) => typename(r) === "StreamError" })));
  }
  await closing;

  const all = results.flat();
  expect(all.flatMap((result) => result.errors ?? [])).toEqual([]);
  const seen = new Set(all.map(typename));
  const members = new Set(unions.flatMap((union) => membersOf(schema, union).map((member) => member.name)));
  expect([...members].filter((member) => !seen.has(member))).toEqual([]);
});
