import { describe, expect, it } from "vitest";
import { daskChangedFields, toDaskAutoscaler, toDaskCluster, toDaskJob, toDaskWorkerGroup } from "../../src/domain/dask.ts";
import { type KubePod, toPod } from "../../src/domain/pod.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import {
  annotate,
  cooldownAnnotation,
  daskAutoscalerObject,
  daskClusterObject,
  daskJobObject,
  daskPod,
  daskWorkerGroupObject,
  joined,
  podObject,
  rows,
  setDaskStatus,
  setPodState,
  setReplicas,
} from "../helpers/ide-dask-fixtures.ts";
import { userLabel } from "../helpers/settings.ts";

/** An object rewritten by the apiserver: a copy, changed by mutate, under a newer resourceVersion. */
function rewrite<T extends KubeObject>(object: T, mutate: (copy: T) => void = () => {}): T {
  const copy = structuredClone(object);
  mutate(copy);
  copy.metadata = { ...copy.metadata, resourceVersion: String(Number(object.metadata?.resourceVersion ?? "0") + 1) };
  return copy;
}

const withVersion = <T extends KubeObject>(object: T, resourceVersion: string): T => ({
  ...object,
  metadata: { ...object.metadata, resourceVersion },
});

const cluster = withVersion(daskClusterObject({ name: "analysis", replicas: 2, phase: "Running" }), "10");
const scheduler = daskPod({
  name: "analysis-scheduler",
  cluster: "analysis",
  component: "scheduler",
  state: "running",
  resourceVersion: "11",
});
const worker = daskPod({
  name: "analysis-worker-1",
  cluster: "analysis",
  component: "worker",
  workerGroup: "analysis-default",
  state: "running",
  resourceVersion: "12",
});
const group = withVersion(daskWorkerGroupObject({ name: "analysis-default", cluster: "analysis", replicas: 2 }), "13");
const job = withVersion(daskJobObject({ name: "etl", status: { jobStatus: "Running", jobRunnerPodName: "etl-runner" } }), "14");
const runner = podObject({ name: "etl-runner", state: "running", resourceVersion: "15" });
const autoscaler = withVersion(
  daskAutoscalerObject({ name: "analysis", cluster: "analysis", cooldownUntil: "2024-05-01T10:00:05Z" }),
  "16",
);

const clusterOf = (raw: KubeObject, pods: KubePod[]) => toDaskCluster(raw, pods.map(joined), userLabel);
const groupOf = (raw: KubeObject, pods: KubePod[]) =>
  toDaskWorkerGroup(
    raw,
    pods.map((pod) => toPod(pod, userLabel)),
    cluster,
    userLabel,
  );
const jobOf = (raw: KubeObject, pod: KubePod | undefined) => toDaskJob(raw, pod && toPod(pod, userLabel), undefined, userLabel);
const autoscalerOf = (raw: KubeObject) => toDaskAutoscaler(raw, cluster, userLabel);
const cooldown = (until: string) => (a: KubeObject) => annotate(a, { [cooldownAnnotation]: until });

describe("daskChangedFields", () => {
  it.each(
    rows<{ name: string; before: () => object; after: () => object; changed: string[] }>([
      {
        name: "cluster: a worker pod rewritten with nothing new",
        before: () => clusterOf(cluster, [scheduler, worker]),
        after: () => clusterOf(cluster, [scheduler, rewrite(worker)]),
        changed: [],
      },
      {
        name: "cluster: the scheduler pod's annotations changed",
        before: () => clusterOf(cluster, [scheduler, worker]),
        after: () => clusterOf(cluster, [rewrite(scheduler, (p) => annotate(p, { "prometheus.io/scrape": "true" })), worker]),
        changed: [],
      },
      {
        name: "cluster: the DaskCluster rewritten with nothing new",
        before: () => clusterOf(cluster, [scheduler, worker]),
        after: () => clusterOf(rewrite(cluster), [scheduler, worker]),
        changed: [],
      },
      {
        name: "cluster: a worker became Ready",
        before: () => clusterOf(cluster, [scheduler, worker]),
        after: () => clusterOf(cluster, [scheduler, rewrite(worker, (p) => setPodState(p, "ready"))]),
        changed: ["readyWorkers"],
      },
      {
        name: "cluster: the scheduler became Ready",
        before: () => clusterOf(cluster, [scheduler, worker]),
        after: () => clusterOf(cluster, [rewrite(scheduler, (p) => setPodState(p, "ready")), worker]),
        // The worker still is not: the cluster's reason is the same, its message now the worker's.
        changed: ["schedulerReady", "message", "scheduler"],
      },
      {
        name: "cluster: scaled up",
        before: () => clusterOf(cluster, [scheduler, worker]),
        after: () =>
          clusterOf(
            rewrite(cluster, (c) => setReplicas(c, 3)),
            [scheduler, worker],
          ),
        changed: ["desiredWorkers"],
      },
      {
        name: "cluster: phase changed",
        before: () => clusterOf(cluster, [scheduler, worker]),
        after: () =>
          clusterOf(
            rewrite(cluster, (c) => setDaskStatus(c, { phase: "Error" })),
            [scheduler, worker],
          ),
        changed: ["phase"],
      },
      {
        name: "worker group: a worker rewritten with nothing new",
        before: () => groupOf(group, [worker]),
        after: () => groupOf(group, [rewrite(worker)]),
        changed: [],
      },
      {
        name: "worker group: a worker became Ready",
        before: () => groupOf(group, [worker]),
        after: () => groupOf(group, [rewrite(worker, (p) => setPodState(p, "ready"))]),
        changed: ["readyWorkers"],
      },
      {
        name: "autoscaler: the cooldown annotation rewritten",
        before: () => autoscalerOf(autoscaler),
        after: () => autoscalerOf(rewrite(autoscaler, cooldown("2024-05-01T10:00:10Z"))),
        changed: [],
      },
      {
        name: "autoscaler: maximum changed",
        before: () => autoscalerOf(autoscaler),
        after: () =>
          autoscalerOf(
            rewrite(autoscaler, (a) => {
              (a as { spec: object }).spec = { cluster: "analysis", minimum: 1, maximum: 8 };
            }),
          ),
        changed: ["maximum"],
      },
      {
        name: "job: the runner pod rewritten with nothing new",
        before: () => jobOf(job, runner),
        after: () => jobOf(job, rewrite(runner)),
        changed: [],
      },
      {
        name: "job: the runner pod finished",
        before: () => jobOf(job, runner),
        after: () =>
          jobOf(
            job,
            rewrite(runner, (p) => setPodState(p, "succeeded")),
          ),
        changed: ["runnerPod"],
      },
      {
        name: "job: the runner pod appeared",
        before: () => jobOf(job, undefined),
        after: () => jobOf(job, runner),
        changed: ["runnerPod"],
      },
      {
        name: "job: it succeeded",
        before: () => jobOf(job, runner),
        after: () =>
          jobOf(
            rewrite(job, (j) => setDaskStatus(j, { jobStatus: "Successful", endTime: "2024-05-01T10:30:00Z" })),
            runner,
          ),
        changed: ["status", "endTime"],
      },
    ]),
  )("%s", (_name, { before, after, changed }) => {
    expect(daskChangedFields(before(), after())).toEqual(changed);
  });
});

describe("toDaskAutoscaler and the autoscaler's cooldown annotation", () => {
  it.each([
    ["a later time", "2024-05-01T10:00:10Z"],
    ["an empty value", ""],
    ["a value that is no time", "soon"],
    ["no annotation at all", undefined],
  ])("every served field but resourceVersion stays the same when it is rewritten to %s", (_name, until) => {
    const before = autoscalerOf(autoscaler);
    const next = rewrite(autoscaler, (a) => {
      if (until === undefined) a.metadata = { ...a.metadata, annotations: {} };
      else cooldown(until)(a);
    });
    const after = autoscalerOf(next);
    expect(after).toEqual({ ...before, resourceVersion: "17" });
    expect(after).toEqual({
      name: "analysis",
      project: "team-a",
      user: null,
      cluster: "analysis",
      minimum: 1,
      maximum: 5,
      resourceVersion: "17",
    });
  });
});
