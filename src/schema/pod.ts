import { objectLocalId, parseObjectLocalId } from "../domain/identity.ts";
import type { ContainerStatus as ContainerStatusModel, Label as LabelModel, OwnerReference, Pod as PodModel } from "../domain/pod.ts";
import { builder } from "./builder.ts";
import { afterArgDescription, DateTime, LabelSelectorInput } from "./common.ts";
import { changeMembers, eventUnion } from "./events.ts";
import { idDescription, nodeIdentity } from "./node.ts";

const PodPhase = builder.enumType("PodPhase", {
  description: "The pod's status.phase, as Kubernetes sets it. For what to show a person, status is closer to kubectl.",
  values: {
    PENDING: {
      description: "Accepted, but a container is not running yet: waiting to be scheduled, pulling images, or in init containers.",
    },
    RUNNING: { description: "Bound to a node, and at least one container is running, starting or restarting." },
    SUCCEEDED: { description: "Every container terminated successfully and will not be restarted." },
    FAILED: { description: "Every container terminated, and at least one failed (non-zero exit, or killed by the system)." },
    UNKNOWN: { description: "The pod's state could not be obtained, typically because its node does not answer." },
  },
});
const ContainerState = builder.enumType("ContainerState", {
  description: "Which of the container's states Kubernetes reports.",
  values: {
    WAITING: { description: "Not running yet or again: reason says why (ContainerCreating, ImagePullBackOff, CrashLoopBackOff...)." },
    RUNNING: { description: "Running since startedAt." },
    TERMINATED: { description: "It ran and exited: exitCode and reason (Completed, Error, OOMKilled...) say how." },
    UNKNOWN: { description: "Kubernetes reported no state for it yet." },
  },
});

export const Label = builder.objectRef<LabelModel>("Label").implement({
  description: "A Kubernetes label of the object.",
  fields: (t) => ({
    key: t.exposeString("key", { description: 'The key, with its prefix if it has one: "app.kubernetes.io/name".' }),
    value: t.exposeString("value", { description: "The value; may be the empty string." }),
  }),
});

const Owner = builder.objectRef<OwnerReference>("OwnerReference").implement({
  description: "The controller that owns the object (or its first owner).",
  fields: (t) => ({
    kind: t.exposeString("kind", { description: 'The owner\'s kind: "ReplicaSet", "StatefulSet", "Job", "Notebook"...' }),
    name: t.exposeString("name", { description: "The owner's name, in the same namespace." }),
  }),
});

const ContainerStatus = builder.objectRef<ContainerStatusModel>("ContainerStatus").implement({
  description: "The status of one container of a pod, as the kubelet reports it.",
  fields: (t) => ({
    name: t.exposeString("name", { description: "The container's name in the pod spec." }),
    init: t.exposeBoolean("init", { description: "An init container." }),
    ready: t.exposeBoolean("ready", { description: "The container passes its readiness probe (or has none and is running)." }),
    restartCount: t.exposeInt("restartCount", { description: "How many times the kubelet restarted this container." }),
    state: t.expose("state", { type: ContainerState, description: "Its current state." }),
    reason: t.exposeString("reason", {
      nullable: true,
      description: "Why the container waits or terminated: CrashLoopBackOff, ImagePullBackOff, ContainerCreating, OOMKilled, Completed...",
    }),
    message: t.exposeString("message", {
      nullable: true,
      description: "The kubelet's message with reason, for a person (for example why an image cannot be pulled); null when there is none.",
    }),
    exitCode: t.exposeInt("exitCode", {
      nullable: true,
      description: "The exit code when state is TERMINATED (0 is success; 137 is killed, often OOMKilled); null otherwise.",
    }),
    startedAt: t.expose("startedAt", {
      type: DateTime,
      nullable: true,
      description:
        "When the container started running (RUNNING), or started the run that ended (TERMINATED); null while it is WAITING or UNKNOWN.",
    }),
  }),
});

const podId = nodeIdentity<PodModel>(
  "Pod",
  (pod) => objectLocalId(pod.namespace, pod.name),
  (id, ctx) => ctx.pods.find(parseObjectLocalId(id), ctx.access),
);

export const Pod = builder.objectRef<PodModel>("Pod").implement({
  description: "A Kubernetes pod, with what a UI shows about it.",
  interfaces: [builder.nodeInterfaceRef()],
  fields: (t) => ({
    id: t.id({ description: idDescription("pod", "its namespace and name"), resolve: podId }),
    name: t.exposeString("name", { description: "The pod's name, unique in its namespace." }),
    namespace: t.exposeString("namespace", { description: "The project." }),
    uid: t.exposeString("uid", {
      description: "The pod's Kubernetes uid: a pod deleted and made again under the same name has a new one.",
    }),
    labels: t.expose("labels", { type: [Label], description: "All its labels." }),
    user: t.exposeString("user", { nullable: true, description: "The value of kubesub's user label on this pod." }),
    phase: t.expose("phase", { type: PodPhase, description: "status.phase; status says more." }),
    status: t.exposeString("status", {
      description: "What kubectl get pods shows as STATUS: Running, Pending, ContainerCreating, CrashLoopBackOff, Terminating...",
    }),
    ready: t.exposeBoolean("ready", { description: "The pod's Ready condition is True." }),
    containers: t.expose("containers", { type: [ContainerStatus], description: "Init containers first, then the others." }),
    restarts: t.exposeInt("restarts", { description: "Restarts of all containers together." }),
    nodeName: t.exposeString("nodeName", { nullable: true, description: "The node it is scheduled on; null until it is scheduled." }),
    podIP: t.exposeString("podIP", { nullable: true, description: "Its IP address in the cluster; null until it has one." }),
    startTime: t.expose("startTime", {
      type: DateTime,
      nullable: true,
      description: "When the kubelet accepted the pod on its node, before images were pulled; null until then.",
    }),
    creationTimestamp: t.expose("creationTimestamp", {
      type: DateTime,
      nullable: true,
      description: "When the pod was created in the apiserver; null only if the apiserver did not say.",
    }),
    deletionTimestamp: t.expose("deletionTimestamp", { type: DateTime, nullable: true, description: "Set once deletion has begun." }),
    owner: t.expose("owner", { type: Owner, nullable: true, description: "What made the pod; null for a bare pod." }),
    resourceVersion: t.exposeString("resourceVersion", {
      description: "The apiserver's resourceVersion of this pod. Opaque: compare for equality only.",
    }),
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
