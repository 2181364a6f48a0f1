import { describe, expect, it } from "vitest";
import {
  type DaskClusterPhase,
  type DaskJobStatus,
  runnerPodName,
  toDaskAutoscaler,
  toDaskCluster,
  toDaskJob,
  toDaskWorkerGroup,
} from "../../src/domain/dask.ts";
import { toPod } from "../../src/domain/pod.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import {
  type DaskJobStatusSpec,
  daskAutoscalerObject,
  daskClusterObject,
  daskJobObject,
  daskPod,
  daskWorkerGroupObject,
  joined,
  podObject,
  rows,
} from "../helpers/ide-dask-fixtures.ts";
import { userLabel } from "../helpers/settings.ts";

const scheduler = (spec: Partial<Parameters<typeof daskPod>[0]> = {}) =>
  daskPod({ name: "analysis-scheduler", cluster: "analysis", component: "scheduler", state: "ready", ...spec });
const worker = (name: string, spec: Partial<Parameters<typeof daskPod>[0]> = {}) =>
  daskPod({ name, cluster: "analysis", component: "worker", workerGroup: "analysis-default", state: "ready", ...spec });

describe("toDaskCluster", () => {
  it.each<[string | undefined, DaskClusterPhase]>([
    ["Created", "CREATED"],
    ["Pending", "PENDING"],
    ["Running", "RUNNING"],
    ["Error", "ERROR"],
    ["Scaling", "UNKNOWN"],
    ["constructor", "UNKNOWN"],
    [undefined, "UNKNOWN"],
  ])("status.phase %s is %s", (phase, expected) => {
    expect(toDaskCluster(daskClusterObject({ name: "analysis", phase }), [], userLabel).phase).toBe(expected);
  });

  it("counts live worker pods and the Ready ones among them; desiredWorkers is spec.worker.replicas", () => {
    const cluster = toDaskCluster(
      daskClusterObject({ name: "analysis", user: "carol", replicas: 5, phase: "Running", resourceVersion: "30" }),
      [
        scheduler({ resourceVersion: "31" }),
        worker("w-ready", { resourceVersion: "32" }),
        worker("w-starting", { state: "creating", resourceVersion: "33" }),
        worker("w-unscheduled", { state: "unscheduled", resourceVersion: "34" }),
        worker("w-leaving", { deleting: true, resourceVersion: "35" }),
        daskPod({ name: "job-runner", cluster: "analysis", component: "job-runner", state: "ready", resourceVersion: "36" }),
      ].map(joined),
      userLabel,
    );
    expect(cluster).toMatchObject({
      name: "analysis",
      project: "team-a",
      user: "carol",
      phase: "RUNNING",
      desiredWorkers: 5,
      workers: 3,
      readyWorkers: 1,
      schedulerReady: true,
      createdAt: "2024-05-01T10:00:00.000Z",
      resourceVersion: "36",
    });
    expect(cluster.scheduler?.name).toBe("analysis-scheduler");
  });

  it.each(
    rows<{ name: string; pods: ReturnType<typeof scheduler>[]; schedulerReady: boolean; scheduler: string | null }>([
      { name: "no scheduler pod yet", pods: [], schedulerReady: false, scheduler: null },
      {
        name: "a scheduler pod that is not Ready",
        pods: [scheduler({ state: "running" })],
        schedulerReady: false,
        scheduler: "analysis-scheduler",
      },
      { name: "a Ready scheduler pod being deleted", pods: [scheduler({ deleting: true })], schedulerReady: false, scheduler: null },
      { name: "a Ready scheduler pod", pods: [scheduler()], schedulerReady: true, scheduler: "analysis-scheduler" },
    ]),
  )("scheduler: %s", (_name, { pods, schedulerReady, scheduler: name }) => {
    const cluster = toDaskCluster(daskClusterObject({ name: "analysis" }), pods.map(joined), userLabel);
    expect(cluster.schedulerReady).toBe(schedulerReady);
    expect(cluster.scheduler?.name ?? null).toBe(name);
  });

  it("wants no workers when spec.worker.replicas is absent, and has no user without the user label", () => {
    expect(toDaskCluster(daskClusterObject({ name: "analysis" }), [], userLabel)).toMatchObject({
      desiredWorkers: 0,
      user: null,
      workers: 0,
    });
  });
});

describe("toDaskWorkerGroup", () => {
  it("belongs to spec.cluster and counts its live and Ready worker pods against spec.worker.replicas", () => {
    const group = daskWorkerGroupObject({ name: "analysis-gpu", cluster: "analysis", replicas: 4 });
    group.metadata = { ...group.metadata, resourceVersion: "40" };
    const pods = [
      worker("gpu-1", { resourceVersion: "41" }),
      worker("gpu-2", { state: "running", resourceVersion: "42" }),
      worker("gpu-3", { deleting: true, resourceVersion: "43" }),
    ].map((pod) => toPod(pod, userLabel));
    const analysis = daskClusterObject({ name: "analysis", user: "carol" });
    expect(toDaskWorkerGroup(group, pods, analysis, userLabel)).toEqual({
      name: "analysis-gpu",
      project: "team-a",
      user: "carol",
      cluster: "analysis",
      desiredWorkers: 4,
      workers: 2,
      readyWorkers: 1,
      resourceVersion: "43",
    });
  });
});

describe("toDaskJob", () => {
  it.each<[string | undefined, DaskJobStatus]>([
    ["JobCreated", "JOB_CREATED"],
    ["ClusterCreated", "CLUSTER_CREATED"],
    ["Running", "RUNNING"],
    ["Successful", "SUCCESSFUL"],
    ["Failed", "FAILED"],
    ["Retrying", "UNKNOWN"],
    ["toString", "UNKNOWN"],
    [undefined, "UNKNOWN"],
  ])("status.jobStatus %s is %s", (jobStatus, expected) => {
    expect(toDaskJob(daskJobObject({ name: "etl", status: { jobStatus } }), undefined, undefined, userLabel).status).toBe(expected);
  });

  it.each(
    rows<{ name: string; status: DaskJobStatusSpec; expected: object }>([
      {
        name: "just created: no cluster, no times",
        status: { jobStatus: "JobCreated" },
        expected: { status: "JOB_CREATED", cluster: null, startTime: null, endTime: null },
      },
      {
        name: "its cluster created",
        status: { jobStatus: "ClusterCreated", clusterName: "etl" },
        expected: { status: "CLUSTER_CREATED", cluster: "etl", startTime: null, endTime: null },
      },
      {
        name: "running since startTime",
        status: { jobStatus: "Running", clusterName: "etl", startTime: "2024-05-01T10:05:00Z", jobRunnerPodName: "etl-runner" },
        expected: { status: "RUNNING", cluster: "etl", startTime: "2024-05-01T10:05:00.000Z", endTime: null },
      },
      {
        name: "finished at endTime",
        status: {
          jobStatus: "Successful",
          clusterName: "etl",
          startTime: "2024-05-01T10:05:00Z",
          endTime: "2024-05-01T10:35:00Z",
          jobRunnerPodName: "etl-runner",
        },
        expected: { status: "SUCCESSFUL", cluster: "etl", startTime: "2024-05-01T10:05:00.000Z", endTime: "2024-05-01T10:35:00.000Z" },
      },
      {
        name: "an unparseable time is null",
        status: { jobStatus: "Running", startTime: "yesterday" },
        expected: { status: "RUNNING", startTime: null },
      },
    ]),
  )("%s", (_name, { status, expected }) => {
    expect(toDaskJob(daskJobObject({ name: "etl", user: "dan", status }), undefined, undefined, userLabel)).toMatchObject({
      name: "etl",
      project: "team-a",
      user: "dan",
      runnerPod: null,
      ...expected,
    });
  });

  it("joins the runner pod the operator names in status.jobRunnerPodName", () => {
    const job = daskJobObject({ name: "etl", status: { jobStatus: "Running", jobRunnerPodName: "etl-runner" } });
    job.metadata = { ...job.metadata, resourceVersion: "50" };
    expect(runnerPodName(job)).toBe("etl-runner");
    expect(runnerPodName(daskJobObject({ name: "etl", status: { jobStatus: "JobCreated" } }))).toBeUndefined();

    const runner = toPod(podObject({ name: "etl-runner", state: "running", resourceVersion: "51" }), userLabel);
    expect(toDaskJob(job, runner, undefined, userLabel)).toMatchObject({
      runnerPod: { name: "etl-runner", phase: "RUNNING" },
      resourceVersion: "51",
    });
  });
});

describe("whom worker groups, autoscalers and jobs belong to", () => {
  const labelled = <T extends { metadata?: object }>(object: T, user: string): T => ({
    ...object,
    metadata: { ...object.metadata, labels: { ...(object.metadata as { labels?: object }).labels, [userLabel]: user } },
  });
  const carols = daskClusterObject({ name: "analysis", user: "carol" });
  const group = daskWorkerGroupObject({ name: "analysis-default", cluster: "analysis" });
  const autoscaler = daskAutoscalerObject({ name: "analysis", cluster: "analysis" });
  const job = daskJobObject({ name: "report", status: { jobStatus: "Running", clusterName: "analysis" } });
  const owners = (cluster: ReturnType<typeof daskClusterObject> | undefined, own?: string) => [
    toDaskWorkerGroup(own ? labelled(group, own) : group, [], cluster, userLabel).user,
    toDaskAutoscaler(own ? labelled(autoscaler, own) : autoscaler, cluster, userLabel).user,
    toDaskJob(own ? labelled(job, own) : job, undefined, cluster, userLabel).user,
  ];

  it("without a user label of their own: their cluster's user", () => {
    expect(owners(carols)).toEqual(["carol", "carol", "carol"]);
  });

  it("with a user label of their own: that user, whoever owns the cluster", () => {
    expect(owners(carols, "alice")).toEqual(["alice", "alice", "alice"]);
    expect(owners(undefined, "alice")).toEqual(["alice", "alice", "alice"]);
  });

  it("nobody while their cluster is not known, or has no user label", () => {
    expect(owners(undefined)).toEqual([null, null, null]);
    expect(owners(daskClusterObject({ name: "analysis" }))).toEqual([null, null, null]);
  });

  it("a job before the operator has named its cluster takes no cluster's user, and has no cluster", () => {
    const fresh = daskJobObject({ name: "report", status: { jobStatus: "JobCreated" } });
    expect(toDaskJob(fresh, undefined, undefined, userLabel)).toMatchObject({ user: null, cluster: null });
  });

  it("a worker group or autoscaler that names no cluster has cluster null, not an empty name", () => {
    const withoutCluster = (object: KubeObject): KubeObject => ({ ...object, spec: { minimum: 1 } }) as KubeObject;
    expect(toDaskWorkerGroup(withoutCluster(group), [], undefined, userLabel)).toMatchObject({ cluster: null, user: null });
    expect(toDaskAutoscaler(withoutCluster(autoscaler), undefined, userLabel)).toMatchObject({ cluster: null, user: null });
  });
});
