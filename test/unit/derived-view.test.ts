// DerivedView through the ViewRegistry, over informers on an in-memory cluster: joins that follow
// pods between groups and Notebooks that come and go, and views that are shared and given back.
// Real timers: the in-memory cluster delivers in microtasks, and every wait is bounded by take().
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { daskLabels } from "../../src/domain/dask.ts";
import { type IDE, type IDEConvention, ideConventions } from "../../src/domain/ide.ts";
import type { KubePod } from "../../src/domain/pod.ts";
import { InformerRegistry } from "../../src/kube/informer-registry.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { daskClusterResource, daskJobResource, daskWorkerGroupResource, notebookResource, podResource } from "../../src/kube/resources.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { daskViews } from "../../src/streams/views/dask-views.ts";
import { ideView } from "../../src/streams/views/ide-view.ts";
import type { ModelDelta, View } from "../../src/streams/views/view.ts";
import { type ViewDefinition, type ViewLease, ViewRegistry } from "../../src/streams/views/view-registry.ts";
import {
  annotate,
  daskClusterObject,
  daskJobObject,
  daskWorkerGroupObject,
  notebookObject,
  notebookPod,
  podObject,
  setDaskStatus,
  setPodState,
} from "../helpers/ide-dask-fixtures.ts";
import { userLabel } from "../helpers/settings.ts";
import { Inbox } from "../helpers/streams.ts";

const ns = "team-a";
const all = new Set<IDEConvention>(ideConventions);

let cluster: MemoryCluster;
let informers: InformerRegistry;
let views: ViewRegistry;
const leases: ViewLease<unknown>[] = [];

beforeEach(() => {
  cluster = new MemoryCluster();
  informers = new InformerRegistry({ sources: (type, namespace) => cluster.source(type, namespace), lingerMs: 60_000 });
  views = new ViewRegistry(informers);
});

afterEach(async () => {
  for (const lease of leases.splice(0)) lease.release();
  await informers.close();
});

/** Acquires a view and waits until its informers have synced. */
async function acquire<M>(definition: ViewDefinition<M>, namespace = ns): Promise<ViewLease<M>> {
  const lease = views.acquire(definition, namespace);
  leases.push(lease as ViewLease<unknown>);
  await lease.view.settle(AbortSignal.timeout(1_000));
  return lease;
}

/** Every delta the view emits from now on, to take() in order. */
function deltas<M>(view: View<M>): Inbox<ModelDelta<M>> {
  const inbox = new Inbox<ModelDelta<M>>();
  view.addHandler((delta) => inbox.push(delta));
  return inbox;
}

/** "updated KUBESUB_LABELS/lab [pods]": a delta as a line. */
function describeDelta(delta: ModelDelta<IDE>): string {
  const { convention, name, pods } = delta.object;
  const id = `${convention}/${name}`;
  if (delta.type === "updated") return `updated ${id} [${delta.changedFields.join(",")}] pods=${pods.map((p) => p.name).join("+")}`;
  return `${delta.type} ${id}`;
}

const ideNames = (view: View<IDE>) =>
  view
    .list()
    .map((ide) => `${ide.convention}/${ide.name}:${ide.status}`)
    .sort();

const createPod = (pod: KubePod) => cluster.create(podResource, pod);
const updatePod = (name: string, mutate: (pod: KubePod) => void) => cluster.update<KubePod>(podResource, ns, name, mutate);
const labelledPod = (name: string, group: string) =>
  podObject({
    name,
    namespace: ns,
    user: "alice",
    state: "ready",
    labels: { "kubesub.io/ide": "jupyterlab", "kubesub.io/ide-name": group },
  });

describe("DerivedView: IDEs", () => {
  it("starts from what the informers hold, and a pod moving to another IDE updates both", async () => {
    createPod(labelledPod("lab-1", "lab"));
    createPod(labelledPod("lab-2", "lab"));
    createPod(labelledPod("code-1", "code"));
    const { view } = await acquire(ideView(userLabel, all));
    expect(ideNames(view)).toEqual(["KUBESUB_LABELS/code:READY", "KUBESUB_LABELS/lab:READY"]);
    const changes = deltas(view);

    const moveTo = (group: string) => (pod: KubePod) => {
      pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, "kubesub.io/ide-name": group } };
    };
    updatePod("lab-2", moveTo("code"));
    expect((await changes.take({ count: 2, timeoutMs: 1_000 })).map(describeDelta)).toEqual([
      "updated KUBESUB_LABELS/lab [pods] pods=lab-1",
      "updated KUBESUB_LABELS/code [pods] pods=code-1+lab-2",
    ]);

    // The last pod leaving an IDE ends it; a group that did not exist starts one.
    updatePod("lab-1", moveTo("fresh"));
    expect((await changes.take({ count: 2, timeoutMs: 1_000 })).map(describeDelta)).toEqual([
      "deleted KUBESUB_LABELS/lab",
      "added KUBESUB_LABELS/fresh",
    ]);
    expect(ideNames(view)).toEqual(["KUBESUB_LABELS/code:READY", "KUBESUB_LABELS/fresh:READY"]);
  });

  it("a Notebook's IDE appears with its Notebook, follows its pod, and is removed when the Notebook is deleted", async () => {
    createPod(notebookPod("nb-carol", { namespace: ns, state: "creating" }));
    const { view } = await acquire(ideView(userLabel, all));
    expect(view.list()).toEqual([]); // a pod without its Notebook is no IDE
    const changes = deltas(view);

    cluster.create(notebookResource, notebookObject({ name: "nb-carol", namespace: ns, user: "carol", serverType: "group-one" }));
    const [added] = await changes.take({ count: 1, timeoutMs: 1_000 });
    expect(added).toMatchObject({ type: "added", object: { name: "nb-carol", kind: "VSCODE", user: "carol", status: "STARTING" } });

    // An annotation on the pod is no change; its readiness is.
    updatePod("nb-carol-0", (pod) => annotate(pod, { "kubectl.kubernetes.io/restartedAt": "now" }));
    updatePod("nb-carol-0", (pod) => setPodState(pod, "ready"));
    const [ready] = await changes.take({ count: 1, timeoutMs: 1_000 });
    expect(ready && describeDelta(ready)).toBe("updated KUBEFLOW_NOTEBOOK/nb-carol [status,ready,reason,message,pods] pods=nb-carol-0");

    cluster.delete(notebookResource, ns, "nb-carol");
    const [removed] = await changes.take({ count: 1, timeoutMs: 1_000 });
    expect(removed).toMatchObject({ type: "deleted", object: { name: "nb-carol", status: "READY" } });
    expect(view.list()).toEqual([]);
    expect(cluster.get(podResource, ns, "nb-carol-0")).toBeDefined(); // its pod outlives it for a while
  });

  it("ignores the pods of conventions it was not given", async () => {
    createPod(podObject({ name: "hub-1", namespace: ns, state: "ready", labels: { component: "singleuser-server" } }));
    createPod(labelledPod("lab-1", "lab"));
    const { view } = await acquire(ideView(userLabel, new Set<IDEConvention>(["KUBESUB_LABELS"])));
    expect(ideNames(view)).toEqual(["KUBESUB_LABELS/lab:READY"]);
  });
});

describe("DerivedView: Dask jobs", () => {
  it("routes a runner pod's changes to the job that names it", async () => {
    const job = daskJobObject({ name: "etl", namespace: ns, status: { jobStatus: "Running", jobRunnerPodName: "etl-runner" } });
    cluster.create(daskJobResource, job);
    const { view } = await acquire(daskViews(userLabel).JOBS);
    expect(view.list()).toMatchObject([{ name: "etl", status: "RUNNING", runnerPod: null }]);
    const changes = deltas(view);

    createPod(podObject({ name: "etl-runner", namespace: ns, state: "running", labels: { [daskLabels.component]: "job-runner" } }));
    expect(await changes.take({ count: 1, timeoutMs: 1_000 })).toMatchObject([
      { type: "updated", changedFields: ["runnerPod"], object: { runnerPod: { name: "etl-runner", phase: "RUNNING" } } },
    ]);
    updatePod("etl-runner", (pod) => setPodState(pod, "succeeded"));
    cluster.update(daskJobResource, ns, "etl", (j: KubeObject) => setDaskStatus(j, { jobStatus: "Successful" }));
    expect(await changes.take({ count: 2, timeoutMs: 1_000 })).toMatchObject([
      { type: "updated", changedFields: ["runnerPod"], object: { status: "RUNNING", runnerPod: { phase: "SUCCEEDED" } } },
      { type: "updated", changedFields: ["status"], object: { status: "SUCCESSFUL" } },
    ]);
  });
});

describe("DerivedView: a recomputation that changes no served field", () => {
  it("keeps the model as it was last emitted: the next update's old is that model, and so is list()", async () => {
    const job = daskJobObject({ name: "etl", namespace: ns, status: { jobStatus: "Running", jobRunnerPodName: "etl-runner" } });
    cluster.create(daskJobResource, job);
    createPod(podObject({ name: "etl-runner", namespace: ns, state: "running", labels: { [daskLabels.component]: "job-runner" } }));
    const { view } = await acquire(daskViews(userLabel).JOBS);
    const [emitted] = view.list();
    const changes = deltas(view);

    // The runner pod rewritten twice with nothing a client sees: newer resourceVersions only.
    updatePod("etl-runner", (pod) => annotate(pod, { "example.org/scraped": "1" }));
    updatePod("etl-runner", (pod) => annotate(pod, { "example.org/scraped": "2" }));
    updatePod("etl-runner", (pod) => setPodState(pod, "succeeded"));
    const [finished] = await changes.take({ count: 1, timeoutMs: 1_000 });
    expect(finished).toMatchObject({ type: "updated", changedFields: ["runnerPod"] });
    if (finished?.type !== "updated") throw new Error("unreachable");
    expect(finished.old).toBe(emitted);
    expect(view.list()).toEqual([finished.object]);
  });
});

describe("DerivedView: Dask ownership", () => {
  it("a worker group seen before its cluster takes the cluster's user when it arrives, and follows its relabelling", async () => {
    cluster.create(daskWorkerGroupResource, daskWorkerGroupObject({ name: "late-default", namespace: ns, cluster: "late" }));
    const { view } = await acquire(daskViews(userLabel).WORKER_GROUPS);
    expect(view.list()).toMatchObject([{ name: "late-default", cluster: "late", user: null }]);
    const changes = deltas(view);

    cluster.create(daskClusterResource, daskClusterObject({ name: "late", namespace: ns, user: "alice" }));
    cluster.update(daskClusterResource, ns, "late", (c: KubeObject) => setDaskStatus(c, { phase: "Running" })); // owner unchanged
    cluster.update(daskClusterResource, ns, "late", (c: KubeObject) => {
      c.metadata = { ...c.metadata, labels: { [userLabel]: "bob" } };
    });
    cluster.delete(daskClusterResource, ns, "late");
    expect(
      (await changes.take({ count: 3, timeoutMs: 1_000 })).map((d) => [d.type, "changedFields" in d && d.changedFields, d.object.user]),
    ).toEqual([
      ["updated", ["user"], "alice"],
      ["updated", ["user"], "bob"],
      ["updated", ["user"], null],
    ]);
  });
});

describe("ViewRegistry", () => {
  it("shares one view per definition and namespace, and gives it and its informers back after the last release", async () => {
    const definition = ideView(userLabel, all);
    const first = await acquire(definition);
    const second = await acquire(definition);
    const elsewhere = await acquire(definition, "team-b");
    expect(second.view).toBe(first.view);
    expect(elsewhere.view).not.toBe(first.view);
    const viewKey = first.view.description;
    expect(views.snapshot()).toEqual([
      { key: viewKey, references: 2 },
      { key: elsewhere.view.description, references: 1 },
    ]);
    const references = () => Object.fromEntries(informers.snapshot().map((entry) => [entry.key, entry.references]));
    expect(references()).toEqual({
      "pods/team-a": 1,
      "notebooks.kubeflow.org/team-a": 1,
      "pods/team-b": 1,
      "notebooks.kubeflow.org/team-b": 1,
      // Which namespaces exist: one cluster-wide informer whatever the scope, once per view.
      "namespaces/*": 2,
    });

    elsewhere.release();
    first.release();
    first.release(); // idempotent: does not take the second subscriber's reference
    expect(views.snapshot()).toEqual([{ key: viewKey, references: 1 }]);
    second.release();
    expect(views.snapshot()).toEqual([]);
    expect(references()).toEqual({
      "pods/team-a": 0,
      "notebooks.kubeflow.org/team-a": 0,
      "pods/team-b": 0,
      "notebooks.kubeflow.org/team-b": 0,
      "namespaces/*": 0,
    });

    // A released view hears no more; the next subscriber gets a fresh one from the lingering informers.
    const again = await acquire(definition);
    expect(again.view).not.toBe(first.view);
    const fresh = deltas(again.view);
    createPod(labelledPod("lab-1", "lab"));
    expect(await fresh.take({ count: 1, timeoutMs: 1_000 })).toMatchObject([{ type: "added", object: { name: "lab" } }]);
    expect(first.view.list()).toEqual([]); // the informer told both in one turn; only the live view listened
    expect(cluster.stats.lists.get("pods/team-a")).toBe(1);
  });
});
