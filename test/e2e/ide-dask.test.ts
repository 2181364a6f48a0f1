// The IDE and Dask domains against a real apiserver with the upstream Dask operator and Kubeflow
// Notebook CRDs: the test writes what the operator, the autoscaler, the notebook-controller,
// JupyterHub and the kubelet would, and real graphql-sse clients see the joined models follow.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { daskAutoscalerResource, daskClusterResource, daskJobResource, notebookResource } from "../../src/kube/resources.ts";
import type { KubesubOverrides } from "../../src/options.ts";
import { controlPlane, type TestNamespace } from "../helpers/control-plane.ts";
import type { RunningKubesub } from "../helpers/kubesub-server.ts";
import { deletePod, patchPodStatus, runningStatus, startKubesubOn } from "./support.ts";
import { isComplete, type StreamResult, SubscriptionStream, summarize, type UnionEvent } from "./support-graphql.ts";
import {
  CustomWriter,
  createDaskPod,
  createLabelledPod,
  daskEventsDocument,
  deleteCrd,
  ideEventsDocument,
  restoreCrds,
  rv,
} from "./support-ide-dask.ts";

const cp = controlPlane();
let ns: TestNamespace;
let custom: CustomWriter;
let kubesub: RunningKubesub | undefined;
const streams: SubscriptionStream[] = [];

beforeEach(async () => {
  ns = await cp.createNamespace("ide-dask");
  custom = new CustomWriter(cp, ns.name);
});

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  await kubesub?.close();
  kubesub = undefined;
  await ns.delete();
});

async function subscribe(document: string, variables: Record<string, unknown>, overrides: KubesubOverrides = {}) {
  kubesub ??= await startKubesubOn(cp, overrides);
  const stream = new SubscriptionStream(kubesub.origin, document, { project: ns.name, ...variables });
  streams.push(stream);
  return stream;
}

const summaries = (results: StreamResult<UnionEvent>[]) => results.map(summarize);

/** The one event a write must cause. */
async function next(stream: SubscriptionStream): Promise<UnionEvent> {
  const [event] = await stream.events({ count: 1 });
  return event as UnionEvent;
}

describe("Dask", () => {
  it("a DaskCluster created, scaled and deleted: desiredWorkers, workers, readyWorkers and schedulerReady follow its pods", async () => {
    const core = cp.core();
    const stream = await subscribe(daskEventsDocument, {});
    expect(summaries(await stream.take({ until: isComplete }))).toEqual(["InitialStateComplete 0"]);
    const name = "analysis";

    // Each write causes exactly one event, with that write's resourceVersion, and the next write
    // waits for it: a missing, extra or out-of-order event fails the step it belongs to.
    const steps: { what: string; write: () => Promise<{ metadata?: { resourceVersion?: string } }>; expect: string; cluster?: object }[] = [
      {
        what: "created",
        write: () => custom.createDaskCluster(name, 2, "alice"),
        expect: "DaskClusterAdded analysis CLUSTER_CHANGE",
        cluster: {
          user: "alice",
          phase: "UNKNOWN",
          desiredWorkers: 2,
          workers: 0,
          readyWorkers: 0,
          schedulerReady: false,
          scheduler: null,
        },
      },
      {
        what: "phase Created",
        write: () => custom.setDaskClusterPhase(name, "Created"),
        expect: "DaskClusterUpdated analysis [phase]",
        cluster: { phase: "CREATED" },
      },
      {
        what: "scheduler pod",
        write: () => createDaskPod(core, ns.name, name, "scheduler", `${name}-scheduler`),
        expect: "DaskClusterUpdated analysis [scheduler]",
        cluster: { schedulerReady: false, scheduler: { name: `${name}-scheduler`, ready: false } },
      },
      {
        what: "scheduler ready",
        write: () => patchPodStatus(core, ns.name, `${name}-scheduler`, runningStatus(0)),
        expect: "DaskClusterUpdated analysis [scheduler,schedulerReady]",
        cluster: { schedulerReady: true, scheduler: { name: `${name}-scheduler`, ready: true } },
      },
      {
        what: "phase Running",
        write: () => custom.setDaskClusterPhase(name, "Running"),
        expect: "DaskClusterUpdated analysis [phase]",
        cluster: { phase: "RUNNING" },
      },
      ...[1, 2].flatMap((i) => [
        {
          what: `worker ${i}`,
          write: () => createDaskPod(core, ns.name, name, "worker", `${name}-worker-${i}`),
          expect: "DaskClusterUpdated analysis [workers]",
          cluster: { workers: i, readyWorkers: i - 1 },
        },
        {
          what: `worker ${i} ready`,
          write: () => patchPodStatus(core, ns.name, `${name}-worker-${i}`, runningStatus(0)),
          expect: "DaskClusterUpdated analysis [readyWorkers]",
          cluster: { workers: i, readyWorkers: i },
        },
      ]),
      {
        what: "scaled up",
        write: () => custom.scaleDaskCluster(name, 3),
        expect: "DaskClusterUpdated analysis [desiredWorkers]",
        cluster: { desiredWorkers: 3 },
      },
      {
        what: "worker 3",
        write: () => createDaskPod(core, ns.name, name, "worker", `${name}-worker-3`),
        expect: "DaskClusterUpdated analysis [workers]",
        cluster: { desiredWorkers: 3, workers: 3, readyWorkers: 2 },
      },
      {
        what: "worker 3 ready",
        write: () => patchPodStatus(core, ns.name, `${name}-worker-3`, runningStatus(0)),
        expect: "DaskClusterUpdated analysis [readyWorkers]",
        cluster: { workers: 3, readyWorkers: 3 },
      },
      {
        what: "scaled down",
        write: () => custom.scaleDaskCluster(name, 1),
        expect: "DaskClusterUpdated analysis [desiredWorkers]",
        cluster: { desiredWorkers: 1 },
      },
    ];
    for (const step of steps) {
      const written = await step.write();
      const event = await next(stream);
      expect({ step: step.what, event: summarize({ event }) }).toEqual({ step: step.what, event: step.expect });
      expect(event.resourceVersion, step.what).toBe(rv(written));
      if (step.cluster) expect(event.cluster, step.what).toMatchObject(step.cluster);
    }

    // A deleted worker stops counting as soon as it is terminating; its removal changes nothing more.
    for (const [i, left] of [
      [3, 2],
      [2, 1],
    ] as const) {
      await deletePod(core, ns.name, `${name}-worker-${i}`);
      const event = await next(stream);
      expect(summarize({ event })).toBe("DaskClusterUpdated analysis [readyWorkers,workers]");
      expect(event.cluster).toMatchObject({ desiredWorkers: 1, workers: left, readyWorkers: left, schedulerReady: true });
    }

    await custom.delete(daskClusterResource, name);
    expect(summaries(await stream.take({ count: 1 }))).toEqual(["DaskClusterDeleted analysis CLUSTER_CHANGE"]);
    // Its leftover pods belong to no cluster now: removing them sends nothing, so the next event is
    // a new cluster's.
    await deletePod(core, ns.name, `${name}-worker-1`);
    await deletePod(core, ns.name, `${name}-scheduler`);
    await custom.createDaskCluster("sentinel", 1, "bob");
    expect(summaries(await stream.take({ count: 1 }))).toEqual(["DaskClusterAdded sentinel CLUSTER_CHANGE"]);
    expect(stream.untaken).toEqual([]);
  });

  it("the autoscaler's cooldown-until annotation churn is never delivered; the next visible change is", async () => {
    const stream = await subscribe(daskEventsDocument, { resources: ["AUTOSCALERS"] });
    expect(summaries(await stream.take({ until: isComplete }))).toEqual(["InitialStateComplete 0"]);
    const cooldown = "kubernetes.dask.org/cooldown-until";
    const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString();
    const created = await custom.createDaskAutoscaler("analysis", "analysis", 1, 5, { [cooldown]: at(0) });
    const added = await next(stream);
    expect(summarize({ event: added })).toBe("DaskAutoscalerAdded analysis CLUSTER_CHANGE");
    expect(added).toMatchObject({ resourceVersion: rv(created), autoscaler: { cluster: "analysis", minimum: 1, maximum: 5 } });

    // The autoscaler rewrites its cooldown annotation on every evaluation: five writes, five new
    // resourceVersions, nothing for clients.
    const churn: string[] = [];
    for (let i = 1; i <= 5; i++) churn.push(rv(await custom.annotate(daskAutoscalerResource, "analysis", cooldown, at(i * 10))));
    expect(new Set(churn).size).toBe(5);
    const raised = await custom.patch(daskAutoscalerResource, "analysis", { "/spec/maximum": 8 });
    const updated = await next(stream);
    expect(summarize({ event: updated })).toBe("DaskAutoscalerUpdated analysis [maximum]");
    expect(updated).toMatchObject({ resourceVersion: rv(raised), autoscaler: { maximum: 8 }, previous: { maximum: 5 } });
    expect(stream.untaken).toEqual([]);
  });

  it.skipIf(!cp.isLocal)(
    "a CRD installed after the subscription started: ResourceUnavailable NOT_INSTALLED first, then its objects as they come",
    async () => {
      try {
        await deleteCrd(cp, daskJobResource);
        const stream = await subscribe(daskEventsDocument, { resources: ["JOBS"] }, { retryMaxMs: 500 });
        const opening = await stream.events({ until: (r) => isComplete(r) });
        expect(opening).toEqual([
          {
            __typename: "ResourceUnavailable",
            resource: "daskjobs.kubernetes.dask.org",
            namespace: ns.name,
            reason: "NOT_INSTALLED",
            message: "kubernetes.dask.org/v1 daskjobs is not installed in this cluster; kubesub keeps retrying and will deliver once it is",
          },
          { __typename: "InitialStateComplete", count: 0 },
        ]);

        await restoreCrds(cp);
        const job = await custom.createDaskJob("nightly", "alice");
        const added = await stream.events({ count: 1, timeoutMs: 15_000 });
        expect(added).toEqual([
          {
            __typename: "DaskJobAdded",
            cause: "CLUSTER_CHANGE",
            resourceVersion: rv(job),
            job: { name: "nightly", status: "UNKNOWN", user: "alice" },
          },
        ]);
        expect(stream.untaken).toEqual([]);
      } finally {
        await restoreCrds(cp);
      }
    },
  );
});

describe("IDEs", () => {
  it("a Kubeflow Notebook with server-type group-two is an RStudio IDE, with its pod's readiness", async () => {
    const core = cp.core();
    const stream = await subscribe(ideEventsDocument, {});
    expect(summaries(await stream.take({ until: isComplete }))).toEqual(["InitialStateComplete 0"]);

    const notebook = await custom.createNotebook("stats", "alice", { "notebooks.kubeflow.org/server-type": "group-two" });
    const added = await next(stream);
    expect(summarize({ event: added })).toBe("IDEAdded stats CLUSTER_CHANGE");
    expect(added).toMatchObject({
      resourceVersion: rv(notebook),
      ide: { kind: "RSTUDIO", user: "alice", status: "PENDING", ready: false, convention: "KUBEFLOW_NOTEBOOK", pods: [] },
    });

    // The notebook-controller's StatefulSet pod, then the kubelet's Ready.
    const pod = await createLabelledPod(core, ns.name, "stats-0", { "notebook-name": "stats", statefulset: "stats" });
    const withPod = await next(stream);
    expect(summarize({ event: withPod })).toBe("IDEUpdated stats [pods]");
    expect(withPod).toMatchObject({ resourceVersion: rv(pod), ide: { status: "PENDING", pods: [{ name: "stats-0", ready: false }] } });
    const ready = await patchPodStatus(core, ns.name, "stats-0", runningStatus(0));
    const readyEvent = await next(stream);
    expect(readyEvent.changedFields).toEqual(expect.arrayContaining(["status", "ready", "pods"]));
    expect(readyEvent).toMatchObject({
      resourceVersion: rv(ready),
      ide: { kind: "RSTUDIO", status: "READY", ready: true, pods: [{ name: "stats-0", ready: true }] },
      previous: { status: "PENDING", ready: false },
    });

    await custom.delete(notebookResource, "stats");
    expect(summaries(await stream.take({ count: 1 }))).toEqual(["IDEDeleted stats CLUSTER_CHANGE"]);
    expect(stream.untaken).toEqual([]);
  });

  it("a JupyterHub single-user pod is a JupyterLab IDE of the user its annotation names", async () => {
    const core = cp.core();
    const stream = await subscribe(ideEventsDocument, { user: "alice" });
    expect(summaries(await stream.take({ until: isComplete }))).toEqual(["InitialStateComplete 0"]);
    const hubPod = (user: string) =>
      createLabelledPod(
        core,
        ns.name,
        `jupyter-${user}`,
        { app: "jupyterhub", component: "singleuser-server" },
        { "hub.jupyter.org/username": user },
      );

    const created = await hubPod("alice");
    const added = await next(stream);
    expect(summarize({ event: added })).toBe("IDEAdded jupyter-alice CLUSTER_CHANGE");
    expect(added).toMatchObject({
      resourceVersion: rv(created),
      ide: { kind: "JUPYTERLAB", user: "alice", status: "PENDING", convention: "JUPYTERHUB", pods: [{ name: "jupyter-alice" }] },
    });

    // bob's server is not in alice's stream: the next event is her own pod turning Ready.
    await hubPod("bob");
    const ready = await patchPodStatus(core, ns.name, "jupyter-alice", runningStatus(0));
    const readyEvent = await next(stream);
    expect(summarize({ event: readyEvent })).toMatch(/^IDEUpdated jupyter-alice /);
    expect(readyEvent).toMatchObject({ resourceVersion: rv(ready), ide: { user: "alice", status: "READY", ready: true } });
    expect(stream.untaken).toEqual([]);
  });
});
