import type {
  DaskAutoscaler as DaskAutoscalerModel,
  DaskCluster as DaskClusterModel,
  DaskJob as DaskJobModel,
  DaskWorkerGroup as DaskWorkerGroupModel,
} from "../domain/dask.ts";
import { builder } from "./builder.ts";
import { afterArgDescription, DateTime } from "./common.ts";
import { changeMembers, eventUnion } from "./events.ts";
import { Pod } from "./pod.ts";

const DaskClusterPhase = builder.enumType("DaskClusterPhase", {
  description: "status.phase as the Dask operator sets it.",
  values: ["CREATED", "PENDING", "RUNNING", "ERROR", "UNKNOWN"] as const,
});

const DaskJobStatus = builder.enumType("DaskJobStatus", {
  description: "status.jobStatus as the Dask operator sets it.",
  values: ["JOB_CREATED", "CLUSTER_CREATED", "RUNNING", "SUCCESSFUL", "FAILED", "UNKNOWN"] as const,
});

const DaskResource = builder.enumType("DaskResource", {
  values: {
    CLUSTERS: { description: "DaskCluster (kubernetes.dask.org/v1 daskclusters)" },
    WORKER_GROUPS: { description: "DaskWorkerGroup (daskworkergroups)" },
    AUTOSCALERS: { description: "DaskAutoscaler (daskautoscalers)" },
    JOBS: { description: "DaskJob (daskjobs)" },
  },
});

const DaskCluster = builder.objectRef<DaskClusterModel>("DaskCluster").implement({
  description: "A Dask cluster, joined with its scheduler and worker pods.",
  fields: (t) => ({
    name: t.exposeString("name"),
    project: t.exposeString("project"),
    user: t.exposeString("user", { nullable: true, description: "The value of its user label." }),
    phase: t.expose("phase", { type: DaskClusterPhase }),
    desiredWorkers: t.exposeInt("desiredWorkers", { description: "spec.worker.replicas, as set by the user or the autoscaler." }),
    workers: t.exposeInt("workers", { description: "Worker pods that exist and are not being deleted." }),
    readyWorkers: t.exposeInt("readyWorkers", { description: "Worker pods whose Ready condition is True." }),
    schedulerReady: t.exposeBoolean("schedulerReady"),
    scheduler: t.expose("scheduler", { type: Pod, nullable: true }),
    createdAt: t.expose("createdAt", { type: DateTime, nullable: true }),
    resourceVersion: t.exposeString("resourceVersion", { description: "The highest resourceVersion of the cluster and its pods." }),
  }),
});

const ownerDescription = "Whom it belongs to: the value of its own user label, else that of its cluster's; null while neither is known.";
const clusterDescription = "The name of its DaskCluster (spec.cluster); null when it names none.";

const DaskWorkerGroup = builder.objectRef<DaskWorkerGroupModel>("DaskWorkerGroup").implement({
  fields: (t) => ({
    name: t.exposeString("name"),
    project: t.exposeString("project"),
    user: t.exposeString("user", { nullable: true, description: ownerDescription }),
    cluster: t.exposeString("cluster", { nullable: true, description: clusterDescription }),
    desiredWorkers: t.exposeInt("desiredWorkers"),
    workers: t.exposeInt("workers"),
    readyWorkers: t.exposeInt("readyWorkers"),
    resourceVersion: t.exposeString("resourceVersion"),
  }),
});

const DaskAutoscaler = builder.objectRef<DaskAutoscalerModel>("DaskAutoscaler").implement({
  fields: (t) => ({
    name: t.exposeString("name"),
    project: t.exposeString("project"),
    user: t.exposeString("user", { nullable: true, description: ownerDescription }),
    cluster: t.exposeString("cluster", { nullable: true, description: clusterDescription }),
    minimum: t.exposeInt("minimum"),
    maximum: t.exposeInt("maximum"),
    resourceVersion: t.exposeString("resourceVersion"),
  }),
});

const DaskJob = builder.objectRef<DaskJobModel>("DaskJob").implement({
  fields: (t) => ({
    name: t.exposeString("name"),
    project: t.exposeString("project"),
    user: t.exposeString("user", { nullable: true, description: ownerDescription }),
    status: t.expose("status", { type: DaskJobStatus }),
    cluster: t.exposeString("cluster", {
      nullable: true,
      description: "The name of the DaskCluster the job runs on (status.clusterName); null until the operator has made it.",
    }),
    startTime: t.expose("startTime", { type: DateTime, nullable: true }),
    endTime: t.expose("endTime", { type: DateTime, nullable: true }),
    runnerPod: t.expose("runnerPod", { type: Pod, nullable: true }),
    resourceVersion: t.exposeString("resourceVersion"),
  }),
});

export const DaskEvent = eventUnion("DaskEvent", "One event of a daskEvents stream. Switch on __typename.", {
  DaskCluster: changeMembers<DaskClusterModel>("DaskCluster", "cluster", DaskCluster, "A Dask cluster"),
  DaskWorkerGroup: changeMembers<DaskWorkerGroupModel>("DaskWorkerGroup", "workerGroup", DaskWorkerGroup, "A worker group"),
  DaskAutoscaler: changeMembers<DaskAutoscalerModel>("DaskAutoscaler", "autoscaler", DaskAutoscaler, "An autoscaler"),
  DaskJob: changeMembers<DaskJobModel>("DaskJob", "job", DaskJob, "A Dask job"),
});

const listArgs = builder.args((t) => ({
  project: t.string({ required: true, description: "The namespace." }),
  target: t.string({ description: "A cluster's name: that cluster, and the worker groups, autoscalers and jobs of it." }),
  user: t.string({
    description:
      "Only objects that belong to this user: clusters with this user label; worker groups, autoscalers and jobs with it, or else of such a cluster.",
  }),
}));

builder.queryFields((t) => ({
  daskClusters: t.field({
    type: [DaskCluster],
    args: listArgs,
    resolve: (_r, args, ctx) => ctx.dask.list<DaskClusterModel>("CLUSTERS", args, ctx.access),
  }),
  daskWorkerGroups: t.field({
    type: [DaskWorkerGroup],
    args: listArgs,
    resolve: (_r, args, ctx) => ctx.dask.list<DaskWorkerGroupModel>("WORKER_GROUPS", args, ctx.access),
  }),
  daskAutoscalers: t.field({
    type: [DaskAutoscaler],
    args: listArgs,
    resolve: (_r, args, ctx) => ctx.dask.list<DaskAutoscalerModel>("AUTOSCALERS", args, ctx.access),
  }),
  daskJobs: t.field({ type: [DaskJob], args: listArgs, resolve: (_r, args, ctx) => ctx.dask.list<DaskJobModel>("JOBS", args, ctx.access) }),
}));

builder.subscriptionField("daskEvents", (t) =>
  t.field({
    type: DaskEvent,
    description: "The Dask resources of a project, in one stream: each as an Added event, then InitialStateComplete, then every change.",
    args: {
      ...listArgs,
      resources: t.arg({ type: [DaskResource], description: "Which resources to stream; all by default." }),
      after: t.arg.string({ description: afterArgDescription }),
    },
    subscribe: (_root, args, ctx) => ctx.dask.events({ ...args, lastEventId: ctx.lastEventId }, ctx.access),
    resolve: (event) => event as never,
  }),
);
