import type {
  DaskAutoscaler as DaskAutoscalerModel,
  DaskCluster as DaskClusterModel,
  DaskJob as DaskJobModel,
  DaskWorkerGroup as DaskWorkerGroupModel,
} from "../domain/dask.ts";
import { objectLocalId, parseObjectLocalId } from "../domain/identity.ts";
import type { DaskModel, DaskResource as DaskResourceName } from "../streams/dask-streams.ts";
import { builder } from "./builder.ts";
import { afterArgDescription, DateTime } from "./common.ts";
import { changeMembers, eventUnion } from "./events.ts";
import { idDescription, nodeIdentity } from "./node.ts";
import { Pod } from "./pod.ts";

const DaskClusterPhase = builder.enumType("DaskClusterPhase", {
  description: "status.phase as the Dask operator sets it.",
  values: {
    CREATED: { description: "The operator has seen the cluster but not yet made its scheduler and workers." },
    PENDING: { description: "Its scheduler or workers are being made or are not running yet." },
    RUNNING: { description: "Its scheduler is running and accepts work." },
    ERROR: { description: "The operator could not make or run the cluster." },
    UNKNOWN: { description: "The operator has set no phase yet, or one kubesub does not know." },
  },
});

const DaskJobStatus = builder.enumType("DaskJobStatus", {
  description: "status.jobStatus as the Dask operator sets it.",
  values: {
    JOB_CREATED: { description: "The job exists; the operator has not made its cluster yet." },
    CLUSTER_CREATED: { description: "Its cluster is made; the runner pod has not started yet." },
    RUNNING: { description: "The runner pod is running the job." },
    SUCCESSFUL: { description: "The runner pod completed successfully." },
    FAILED: { description: "The runner pod failed." },
    UNKNOWN: { description: "The operator has set no status yet, or one kubesub does not know." },
  },
});

const DaskResource = builder.enumType("DaskResource", {
  description: "One of the Dask operator's resources, to choose what daskEvents streams.",
  values: {
    CLUSTERS: { description: "DaskCluster (kubernetes.dask.org/v1 daskclusters)" },
    WORKER_GROUPS: { description: "DaskWorkerGroup (daskworkergroups)" },
    AUTOSCALERS: { description: "DaskAutoscaler (daskautoscalers)" },
    JOBS: { description: "DaskJob (daskjobs)" },
  },
});

/** A Dask model's id: its type, project and name (domain/identity.ts); node(id) reads it from its view. */
function daskId<M extends DaskModel>(typename: string, resource: DaskResourceName): (model: M) => string {
  return nodeIdentity<M>(
    typename,
    (model) => objectLocalId(model.project, model.name),
    (id, ctx) => ctx.dask.find<M>(resource, parseObjectLocalId(id), ctx.access),
  );
}
const daskNamedBy = "its project and name";
const clusterId = daskId<DaskClusterModel>("DaskCluster", "CLUSTERS");
const workerGroupId = daskId<DaskWorkerGroupModel>("DaskWorkerGroup", "WORKER_GROUPS");
const autoscalerId = daskId<DaskAutoscalerModel>("DaskAutoscaler", "AUTOSCALERS");
const jobId = daskId<DaskJobModel>("DaskJob", "JOBS");

const DaskCluster = builder.objectRef<DaskClusterModel>("DaskCluster").implement({
  description: "A Dask cluster, joined with its scheduler and worker pods.",
  interfaces: [builder.nodeInterfaceRef()],
  fields: (t) => ({
    id: t.id({ description: idDescription("Dask cluster", daskNamedBy), resolve: clusterId }),
    name: t.exposeString("name", { description: "The DaskCluster's name, unique in its project." }),
    project: t.exposeString("project", { description: "The namespace it is in." }),
    user: t.exposeString("user", { nullable: true, description: "The value of its user label; null when it has none." }),
    phase: t.expose("phase", { type: DaskClusterPhase, description: "The operator's status.phase." }),
    desiredWorkers: t.exposeInt("desiredWorkers", { description: "spec.worker.replicas, as set by the user or the autoscaler." }),
    workers: t.exposeInt("workers", { description: "Worker pods that exist and are not being deleted." }),
    readyWorkers: t.exposeInt("readyWorkers", { description: "Worker pods whose Ready condition is True." }),
    schedulerReady: t.exposeBoolean("schedulerReady", { description: "Its scheduler pod's Ready condition is True: it accepts work." }),
    scheduler: t.expose("scheduler", { type: Pod, nullable: true, description: "Its scheduler pod; null while there is none." }),
    createdAt: t.expose("createdAt", {
      type: DateTime,
      nullable: true,
      description: "When the DaskCluster was created (its creationTimestamp); null only if the apiserver did not say.",
    }),
    resourceVersion: t.exposeString("resourceVersion", { description: "The highest resourceVersion of the cluster and its pods." }),
  }),
});

const ownerDescription = "Whom it belongs to: the value of its own user label, else that of its cluster's; null while neither is known.";
const clusterDescription = "The name of its DaskCluster (spec.cluster); null when it names none.";

const DaskWorkerGroup = builder.objectRef<DaskWorkerGroupModel>("DaskWorkerGroup").implement({
  description: "A group of Dask workers of a cluster (the operator makes a default one per cluster), joined with its worker pods.",
  interfaces: [builder.nodeInterfaceRef()],
  fields: (t) => ({
    id: t.id({
      description: idDescription("worker group", daskNamedBy),
      resolve: workerGroupId,
    }),
    name: t.exposeString("name", { description: "The DaskWorkerGroup's name, unique in its project." }),
    project: t.exposeString("project", { description: "The namespace it is in." }),
    user: t.exposeString("user", { nullable: true, description: ownerDescription }),
    cluster: t.exposeString("cluster", { nullable: true, description: clusterDescription }),
    desiredWorkers: t.exposeInt("desiredWorkers", { description: "spec.worker.replicas: how many workers it should have." }),
    workers: t.exposeInt("workers", { description: "Its worker pods that exist and are not being deleted." }),
    readyWorkers: t.exposeInt("readyWorkers", { description: "Its worker pods whose Ready condition is True." }),
    resourceVersion: t.exposeString("resourceVersion", {
      description: "The highest resourceVersion of the worker group and its pods. Opaque: compare for equality only.",
    }),
  }),
});

const DaskAutoscaler = builder.objectRef<DaskAutoscalerModel>("DaskAutoscaler").implement({
  description: "The adaptive scaling bounds of a Dask cluster: the operator sets its desiredWorkers between minimum and maximum.",
  interfaces: [builder.nodeInterfaceRef()],
  fields: (t) => ({
    id: t.id({
      description: idDescription("autoscaler", daskNamedBy),
      resolve: autoscalerId,
    }),
    name: t.exposeString("name", { description: "The DaskAutoscaler's name, unique in its project." }),
    project: t.exposeString("project", { description: "The namespace it is in." }),
    user: t.exposeString("user", { nullable: true, description: ownerDescription }),
    cluster: t.exposeString("cluster", { nullable: true, description: clusterDescription }),
    minimum: t.exposeInt("minimum", { description: "spec.minimum: the fewest workers the cluster scales down to." }),
    maximum: t.exposeInt("maximum", { description: "spec.maximum: the most workers the cluster scales up to." }),
    resourceVersion: t.exposeString("resourceVersion", {
      description: "The autoscaler's resourceVersion. Opaque: compare for equality only.",
    }),
  }),
});

const DaskJob = builder.objectRef<DaskJobModel>("DaskJob").implement({
  description: "A Dask job: a runner pod that runs a script on a Dask cluster the operator makes for it.",
  interfaces: [builder.nodeInterfaceRef()],
  fields: (t) => ({
    id: t.id({ description: idDescription("Dask job", daskNamedBy), resolve: jobId }),
    name: t.exposeString("name", { description: "The DaskJob's name, unique in its project." }),
    project: t.exposeString("project", { description: "The namespace it is in." }),
    user: t.exposeString("user", { nullable: true, description: ownerDescription }),
    status: t.expose("status", { type: DaskJobStatus, description: "The operator's status.jobStatus." }),
    cluster: t.exposeString("cluster", {
      nullable: true,
      description: "The name of the DaskCluster the job runs on (status.clusterName); null until the operator has made it.",
    }),
    startTime: t.expose("startTime", {
      type: DateTime,
      nullable: true,
      description: "When the job started (status.startTime); null until it has.",
    }),
    endTime: t.expose("endTime", {
      type: DateTime,
      nullable: true,
      description: "When the job ended (status.endTime); null until it has.",
    }),
    runnerPod: t.expose("runnerPod", {
      type: Pod,
      nullable: true,
      description: "The pod that runs the job's script; null while there is none.",
    }),
    resourceVersion: t.exposeString("resourceVersion", {
      description: "The highest resourceVersion of the job and its runner pod. Opaque: compare for equality only.",
    }),
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
    description: "The Dask clusters of a project, from kubesub's caches.",
    args: listArgs,
    resolve: (_r, args, ctx) => ctx.dask.list<DaskClusterModel>("CLUSTERS", args, ctx.access),
  }),
  daskWorkerGroups: t.field({
    type: [DaskWorkerGroup],
    description: "The Dask worker groups of a project, from kubesub's caches.",
    args: listArgs,
    resolve: (_r, args, ctx) => ctx.dask.list<DaskWorkerGroupModel>("WORKER_GROUPS", args, ctx.access),
  }),
  daskAutoscalers: t.field({
    type: [DaskAutoscaler],
    description: "The Dask autoscalers of a project, from kubesub's caches.",
    args: listArgs,
    resolve: (_r, args, ctx) => ctx.dask.list<DaskAutoscalerModel>("AUTOSCALERS", args, ctx.access),
  }),
  daskJobs: t.field({
    type: [DaskJob],
    description: "The Dask jobs of a project, from kubesub's caches.",
    args: listArgs,
    resolve: (_r, args, ctx) => ctx.dask.list<DaskJobModel>("JOBS", args, ctx.access),
  }),
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
