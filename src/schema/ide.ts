import type { IDE as IDEModel } from "../domain/ide.ts";
import { builder } from "./builder.ts";
import { afterArgDescription, DateTime } from "./common.ts";
import { changeMembers, eventUnion } from "./events.ts";
import { Pod } from "./pod.ts";

export const IDEKind = builder.enumType("IDEKind", { values: ["JUPYTERLAB", "RSTUDIO", "VSCODE"] as const });

const IDEStatus = builder.enumType("IDEStatus", {
  description: "Derived from the IDE's pods, first match wins.",
  values: {
    STOPPED: {
      description: "Stopped on purpose (Kubeflow's kubeflow-resource-stopped annotation), or its pods completed (phase Succeeded).",
    },
    PENDING: { description: "No pod yet, or its pod waits to be scheduled." },
    TERMINATING: { description: "Every pod is being deleted." },
    READY: { description: "A pod's Ready condition is True." },
    FAILED: {
      description:
        "A pod failed, or a container is stuck: CrashLoopBackOff, ImagePullBackOff, ErrImagePull, InvalidImageName, CreateContainerConfigError, CreateContainerError, RunContainerError.",
    },
    STARTING: { description: "A pod is scheduled; its containers are being created or are not ready yet." },
  },
});

const IDEConvention = builder.enumType("IDEConvention", {
  description: "How kubesub recognised the IDE.",
  values: {
    KUBESUB_LABELS: { description: "A pod labelled kubesub.io/ide (jupyterlab, rstudio, vscode); kubesub.io/ide-name groups pods." },
    KUBEFLOW_NOTEBOOK: { description: "A Kubeflow Notebook (kubeflow.org/v1) and the pods labelled notebook-name." },
    JUPYTERHUB: { description: "A JupyterHub single-user server pod (component=singleuser-server)." },
  },
});

export const IDE = builder.objectRef<IDEModel>("IDE").implement({
  description: "An IDE session: JupyterLab, RStudio or VS Code.",
  fields: (t) => ({
    name: t.exposeString("name"),
    project: t.exposeString("project"),
    kind: t.expose("kind", { type: IDEKind }),
    user: t.exposeString("user", { nullable: true }),
    status: t.expose("status", { type: IDEStatus }),
    ready: t.exposeBoolean("ready", { description: "status is READY." }),
    restarts: t.exposeInt("restarts", { description: "Container restarts across its pods." }),
    startedAt: t.expose("startedAt", { type: DateTime, nullable: true, description: "When its oldest live pod started." }),
    pods: t.expose("pods", { type: [Pod] }),
    convention: t.expose("convention", { type: IDEConvention }),
    resourceVersion: t.exposeString("resourceVersion", { description: "The highest resourceVersion of its objects." }),
  }),
});

export const IDEEvent = eventUnion("IDEEvent", "One event of an ideEvents stream. Switch on __typename.", {
  IDE: changeMembers<IDEModel>("IDE", "ide", IDE, "An IDE"),
});

const ideArgs = builder.args((t) => ({
  project: t.string({ required: true, description: "The namespace." }),
  user: t.string({ description: "Only this user's IDEs." }),
  kind: t.field({ type: IDEKind, description: "Only IDEs of this kind." }),
  target: t.string({ description: "Only the IDE of this name." }),
}));

builder.queryField("ides", (t) =>
  t.field({
    type: [IDE],
    description: "The IDEs of a project, from kubesub's caches.",
    args: ideArgs,
    resolve: (_root, args, ctx) => ctx.ides.list(args, ctx.access),
  }),
);

builder.subscriptionField("ideEvents", (t) =>
  t.field({
    type: IDEEvent,
    description: "The IDEs of a project: each as IDEAdded, then InitialStateComplete, then every change.",
    args: { ...ideArgs, after: t.arg.string({ description: afterArgDescription }) },
    subscribe: (_root, args, ctx) => ctx.ides.events({ ...args, lastEventId: ctx.lastEventId }, ctx.access),
    resolve: (event) => event as never,
  }),
);
