import type { IDE as IDEModel } from "../domain/ide.ts";
import { ideLocalId, parseIdeLocalId } from "../domain/identity.ts";
import { builder } from "./builder.ts";
import { afterArgDescription, DateTime } from "./common.ts";
import { changeMembers, eventUnion } from "./events.ts";
import { idDescription, nodeIdentity } from "./node.ts";
import { Pod } from "./pod.ts";

export const IDEKind = builder.enumType("IDEKind", {
  description: "Which IDE the session runs.",
  values: {
    JUPYTERLAB: { description: "JupyterLab (or Jupyter Notebook)." },
    RSTUDIO: { description: "RStudio Server." },
    VSCODE: { description: "VS Code in the browser (code-server)." },
  },
});

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

const ideId = nodeIdentity<IDEModel>(
  "IDE",
  (ide) => ideLocalId(ide.project, ide.convention, ide.name),
  (id, ctx) => ctx.ides.find(parseIdeLocalId(id), ctx.access),
);
const ideNamedBy =
  "what names it: its project, the convention that recognised it and the name that convention gives it (the Notebook's, the kubesub.io/ide-name label's or the pod's)";

export const IDE = builder.objectRef<IDEModel>("IDE").implement({
  description: "An IDE session: JupyterLab, RStudio or VS Code.",
  interfaces: [builder.nodeInterfaceRef()],
  fields: (t) => ({
    id: t.id({ description: idDescription("IDE", ideNamedBy), resolve: ideId }),
    name: t.exposeString("name", {
      description: "The IDE's name, unique in its project: the Notebook's name, the kubesub.io/ide-name label, or the pod's name.",
    }),
    project: t.exposeString("project", { description: "The namespace it runs in." }),
    kind: t.expose("kind", { type: IDEKind, description: "Which IDE it is." }),
    user: t.exposeString("user", {
      nullable: true,
      description:
        "Whose IDE it is, as its convention says (user label, Kubeflow creator, JupyterHub username); null when it does not say.",
    }),
    status: t.expose("status", { type: IDEStatus, description: "Where it is in its life, derived from its pods." }),
    ready: t.exposeBoolean("ready", { description: "status is READY." }),
    restarts: t.exposeInt("restarts", { description: "Container restarts across its pods." }),
    startedAt: t.expose("startedAt", { type: DateTime, nullable: true, description: "When its oldest live pod started." }),
    pods: t.expose("pods", { type: [Pod], description: "Its live pods; empty while it has none (PENDING or STOPPED)." }),
    convention: t.expose("convention", { type: IDEConvention, description: "How kubesub recognised it." }),
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
