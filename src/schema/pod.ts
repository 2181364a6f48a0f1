import type { ContainerStatus as ContainerStatusModel, Label as LabelModel, OwnerReference, Pod as PodModel } from "../domain/pod.ts";
import { builder } from "./builder.ts";
import { afterArgDescription, DateTime, LabelSelectorInput } from "./common.ts";
import { changeMembers, eventUnion } from "./events.ts";

const PodPhase = builder.enumType("PodPhase", { values: ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "UNKNOWN"] as const });
const ContainerState = builder.enumType("ContainerState", { values: ["WAITING", "RUNNING", "TERMINATED", "UNKNOWN"] as const });

export const Label = builder.objectRef<LabelModel>("Label").implement({
  fields: (t) => ({ key: t.exposeString("key"), value: t.exposeString("value") }),
});

const Owner = builder.objectRef<OwnerReference>("OwnerReference").implement({
  description: "The controller that owns the object (or its first owner).",
  fields: (t) => ({ kind: t.exposeString("kind"), name: t.exposeString("name") }),
});

const ContainerStatus = builder.objectRef<ContainerStatusModel>("ContainerStatus").implement({
  fields: (t) => ({
    name: t.exposeString("name"),
    init: t.exposeBoolean("init", { description: "An init container." }),
    ready: t.exposeBoolean("ready"),
    restartCount: t.exposeInt("restartCount"),
    state: t.expose("state", { type: ContainerState }),
    reason: t.exposeString("reason", {
      nullable: true,
      description: "Why the container waits or terminated: CrashLoopBackOff, ImagePullBackOff, ContainerCreating, OOMKilled, Completed...",
    }),
    message: t.exposeString("message", { nullable: true }),
    exitCode: t.exposeInt("exitCode", { nullable: true }),
    startedAt: t.expose("startedAt", { type: DateTime, nullable: true }),
  }),
});

export const Pod = builder.objectRef<PodModel>("Pod").implement({
  fields: (t) => ({
    name: t.exposeString("name"),
    namespace: t.exposeString("namespace", { description: "The project." }),
    uid: t.exposeString("uid"),
    labels: t.expose("labels", { type: [Label] }),
    user: t.exposeString("user", { nullable: true, description: "The value of kubesub's user label on this pod." }),
    phase: t.expose("phase", { type: PodPhase }),
    status: t.exposeString("status", {
      description: "What kubectl get pods shows as STATUS: Running, Pending, ContainerCreating, CrashLoopBackOff, Terminating...",
    }),
    ready: t.exposeBoolean("ready", { description: "The pod's Ready condition is True." }),
    containers: t.expose("containers", { type: [ContainerStatus], description: "Init containers first, then the others." }),
    restarts: t.exposeInt("restarts", { description: "Restarts of all containers together." }),
    nodeName: t.exposeString("nodeName", { nullable: true }),
    podIP: t.exposeString("podIP", { nullable: true }),
    startTime: t.expose("startTime", { type: DateTime, nullable: true }),
    creationTimestamp: t.expose("creationTimestamp", { type: DateTime, nullable: true }),
    deletionTimestamp: t.expose("deletionTimestamp", { type: DateTime, nullable: true, description: "Set once deletion has begun." }),
    owner: t.expose("owner", { type: Owner, nullable: true }),
    resourceVersion: t.exposeString("resourceVersion"),
  }),
});

export const podChanges = changeMembers<PodModel>("Pod", "pod", Pod, "A pod");

export const PodEvent = eventUnion("PodEvent", "One event of a podEvents stream. Switch on __typename.", { Pod: podChanges });

const podArgs = builder.args((t) => ({
  project: t.string({ required: true, description: "The namespace." }),
  user: t.string({ description: "Only pods whose user label has this value." }),
  selector: t.field({ type: LabelSelectorInput, description: "Only pods whose labels match." }),
}));

builder.queryField("pods", (t) =>
  t.field({
    type: [Pod],
    description: "The pods of a project, from kubesub's informer cache.",
    args: podArgs,
    resolve: (_root, args, ctx) => ctx.pods.list(args, ctx.access),
  }),
);

builder.subscriptionField("podEvents", (t) =>
  t.field({
    type: PodEvent,
    description: "The pods of a project: each matching pod as PodAdded, then InitialStateComplete, then every change.",
    args: { ...podArgs, after: t.arg.string({ description: afterArgDescription }) },
    subscribe: (_root, args, ctx) => ctx.pods.events({ ...args, lastEventId: ctx.lastEventId }, ctx.access),
    resolve: (event) => event as never,
  }),
);
