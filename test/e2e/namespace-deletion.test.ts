// A project's namespace deleted mid-stream, on the real control plane: its podEvents, ideEvents and
// daskEvents subscribers are told ResourceUnavailable { resource: "namespaces", reason:
// NAMESPACE_TERMINATING } when the deletion starts, its objects' XDeleted as they go, and
// NAMESPACE_NOT_FOUND once the namespace is gone; never a silent stop. The streams stay open, and
// a namespace created again under the same name delivers its objects. A subscription to a namespace
// that does not exist says so before InitialStateComplete.
//
// The local control plane has no controller-manager: the test plays the namespace controller
// (deletes the namespace's objects, then removes its "kubernetes" finalizer), as ns.delete() does.
import { ApiException } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { WatchScope } from "../../src/kube/informer-registry.ts";
import { controlPlane, type TestNamespace } from "../helpers/control-plane.ts";
import type { RunningKubesub } from "../helpers/kubesub-server.ts";
import { userLabel } from "../helpers/settings.ts";
import { startKubesubOn } from "./support.ts";
import { isComplete, type StreamResult, SubscriptionStream, type UnionEvent } from "./support-graphql.ts";
import { CustomWriter, createLabelledPod, daskEventsDocument, ideEventsDocument } from "./support-ide-dask.ts";

const podEventsDocument = /* GraphQL */ `
  subscription Pods($project: String!) {
    podEvents(project: $project) {
      __typename
      ... on PodAdded { cause pod { name } }
      ... on PodDeleted { cause pod { name } }
      ... on InitialStateComplete { count }
      ... on ResourceUnavailable { resource namespace reason message }
      ... on StreamError { code message retryable }
    }
  }
`;

const cp = controlPlane();
let ns: TestNamespace;
let kubesub: RunningKubesub | undefined;
const streams: SubscriptionStream[] = [];

beforeEach(async () => {
  ns = await cp.createNamespace("ns-deleted");
});

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  await kubesub?.close();
  kubesub = undefined;
  await ns.delete();
});

/** "PodDeleted alice-lab CLUSTER_CHANGE", "ResourceUnavailable namespaces NAMESPACE_NOT_FOUND", "InitialStateComplete 1". */
function summary(result: StreamResult<UnionEvent>): string {
  if (result.errors) return `errors ${result.errors.map((e) => e.extensions?.code ?? e.message).join(",")}`;
  const event = result.event as UnionEvent;
  if (event.__typename === "ResourceUnavailable") return `ResourceUnavailable ${event.resource} ${event.reason}`;
  const object = ["pod", "ide", "cluster"].map((f) => event[f] as { name?: string } | undefined).find(Boolean);
  return [event.__typename, object?.name ?? event.count ?? event.code, event.cause].filter((p) => p !== undefined).join(" ");
}

const terminating = "ResourceUnavailable namespaces NAMESPACE_TERMINATING";
const notFound = "ResourceUnavailable namespaces NAMESPACE_NOT_FOUND";

describe.each<WatchScope>(["cluster", "namespace"])("--watch-scope %s", (watchScope) => {
  it("a project's namespace deleted mid-stream tells its podEvents/ideEvents/daskEvents subscribers NAMESPACE_TERMINATING, then its objects' deletions and NAMESPACE_NOT_FOUND; created again, it delivers", async () => {
    const core = cp.core("admin", "writer");
    const custom = new CustomWriter(cp, ns.name);
    await createLabelledPod(core, ns.name, "alice-lab", { [userLabel]: "alice", "kubesub.io/ide": "jupyterlab" });
    await custom.createDaskCluster("analysis", 1, "alice");

    kubesub = await startKubesubOn(cp, { watchScope });
    const open = (document: string, project = ns.name) => {
      const stream = new SubscriptionStream(kubesub?.origin ?? "", document, { project });
      streams.push(stream);
      return stream;
    };
    const pods = open(podEventsDocument);
    const ides = open(ideEventsDocument);
    const dask = open(daskEventsDocument);
    const initial = async (stream: SubscriptionStream) => (await stream.take({ until: isComplete })).map(summary);
    expect(await initial(pods)).toEqual(["PodAdded alice-lab INITIAL_STATE", "InitialStateComplete 1"]);
    expect(await initial(ides)).toEqual(["IDEAdded alice-lab INITIAL_STATE", "InitialStateComplete 1"]);
    expect(await initial(dask)).toEqual(["DaskClusterAdded analysis INITIAL_STATE", "InitialStateComplete 1"]);

    // kubectl delete namespace: the apiserver marks it Terminating (deletionTimestamp, phase).
    await core.deleteNamespace({ name: ns.name });
    for (const stream of [pods, ides, dask]) {
      const [told] = await stream.take({ count: 1 });
      expect(summary(told as StreamResult<UnionEvent>)).toBe(terminating);
      expect(told?.event).toMatchObject({ namespace: ns.name, message: expect.stringContaining("is being deleted") });
    }
    // A subscriber arriving now is told at its start.
    const late = open(podEventsDocument);
    expect(await initial(late)).toEqual([terminating, "PodAdded alice-lab INITIAL_STATE", "InitialStateComplete 1"]);

    // The namespace controller's part: the objects, then the finalizer; then the namespace is gone.
    await ns.delete();
    // Reads until every one of these has arrived. Pods and namespaces are separate watches, so the
    // object's deletion and the namespace's may come in either order; before them, the pod's
    // update to Terminating may come too (as PodUpdated, IDEUpdated): nothing else may.
    const rest = async (stream: SubscriptionStream, expected: string[]) => {
      const seen: string[] = [];
      while (!expected.every((e) => seen.includes(e))) seen.push(...(await stream.take({ count: 1, timeoutMs: 15_000 })).map(summary));
      return seen.filter((s) => !/^\w+Updated\b/.test(s)).sort();
    };
    for (const [stream, deleted] of [
      [pods, "PodDeleted alice-lab CLUSTER_CHANGE"],
      [late, "PodDeleted alice-lab CLUSTER_CHANGE"],
      [ides, "IDEDeleted alice-lab CLUSTER_CHANGE"],
      [dask, "DaskClusterDeleted analysis CLUSTER_CHANGE"],
    ] as const) {
      expect(await rest(stream, [deleted, notFound])).toEqual([deleted, notFound]);
    }

    // Nothing ended: created again under the same name, the project's objects arrive.
    await core.createNamespace({ body: { metadata: { name: ns.name, labels: { "kubesub.io/e2e": "true" } } } });
    await createLabelledPod(core, ns.name, "bob-lab", { [userLabel]: "bob", "kubesub.io/ide": "jupyterlab" });
    for (const stream of [pods, late]) expect((await stream.take({ count: 1 })).map(summary)).toEqual(["PodAdded bob-lab CLUSTER_CHANGE"]);
    expect((await ides.take({ count: 1 })).map(summary)).toEqual(["IDEAdded bob-lab CLUSTER_CHANGE"]);
    for (const stream of [pods, ides, dask, late]) expect(stream.untaken.map(summary)).toEqual([]);
  }, 60_000);

  it("a subscription to a namespace that does not exist starts with NAMESPACE_NOT_FOUND, and stays open", async () => {
    const absent = `${ns.name}-absent`;
    const exists = await cp
      .core()
      .readNamespace({ name: absent })
      .then(
        () => true,
        (error: unknown) => !(error instanceof ApiException && error.code === 404),
      );
    expect(exists).toBe(false);
    kubesub = await startKubesubOn(cp, { watchScope });
    for (const document of [podEventsDocument, ideEventsDocument, daskEventsDocument]) {
      const stream = new SubscriptionStream(kubesub.origin, document, { project: absent });
      streams.push(stream);
      const results = await stream.take({ until: isComplete });
      expect(results.map(summary)).toEqual([notFound, "InitialStateComplete 0"]);
      expect(results[0]?.event).toMatchObject({
        namespace: absent,
        message: expect.stringContaining(`namespace ${absent} does not exist`),
      });
    }
    expect(streams.every((stream) => stream.untaken.length === 0)).toBe(true);
  }, 30_000);
});
