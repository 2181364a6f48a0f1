// What each of the page's three streams shows: its subscription, its tables and how every change
// member of its union lands in them. InitialStateComplete, ResourceUnavailable and StreamError are
// the same for all three and are handled by the stream panel in main.ts.
import type { Client } from "graphql-sse";
import { graphqlSseTransport, type Transport } from "../../client/resumable.ts";
import { chip, dash, enumChip, podStatusTone, why, yesNo } from "./format.ts";
import {
  type DaskAutoscaler,
  type DaskCluster,
  type DaskEvent,
  DaskEventsDocument,
  type DaskJob,
  type DaskWorkerGroup,
  type IDE,
  type IDEEvent,
  IdeEventsDocument,
  type Pod,
  type PodEvent,
  PodEventsDocument,
} from "./operations.ts";
import { TableView } from "./table-view.ts";

type ChangeOf<E> = Exclude<E, { __typename: "InitialStateComplete" | "ResourceUnavailable" | "StreamError" }>;

/** The page's three streams; used in data-testid values (connection-pods, notices-dask...). */
export type PanelId = "pods" | "ides" | "dask";

/** What the page passes to every stream: the project, and the cursor to resume from. */
export interface PanelVariables {
  project: string;
  after?: string | null;
}

export interface PanelDefinition<E extends { __typename: string }> {
  id: PanelId;
  title: string;
  /** The subscription over graphql-sse, for a ResumableSubscription (examples/client/resumable.ts). */
  transport: (client: Client) => Transport<Record<string, E>, PanelVariables>;
  tables: Pick<TableView<unknown>, "element" | "beginSnapshot" | "commitSnapshot">[];
  /**
   * Applies one change event to the tables. Returns the resource (as ResourceUnavailable names it)
   * the event shows to be readable, if it shows that, so a notice about it can go.
   */
  apply(event: ChangeOf<E>): string | undefined;
}

const dask = "kubernetes.dask.org";

export function podPanel(): PanelDefinition<PodEvent> {
  const pods = new TableView<Pod>({
    testId: "table-pods",
    rowTestIdPrefix: "pod",
    key: (pod) => pod.name,
    empty: "No pods in this project.",
    columns: [
      { header: "Name", field: "name", cell: (pod) => pod.name },
      { header: "User", field: "user", cell: (pod) => dash(pod.user) },
      { header: "Status", field: "status", cell: (pod) => chip(pod.status, podStatusTone(pod.status, pod.ready)) },
      {
        header: "Ready",
        field: "ready",
        alsoChangedBy: ["containers"],
        // As kubectl's READY: ready app containers of all app containers (init containers left out).
        cell: (pod) => {
          const containers = pod.containers.filter((c) => !c.init);
          return `${containers.filter((c) => c.ready).length}/${containers.length}`;
        },
      },
      { header: "Restarts", field: "restarts", cell: (pod) => String(pod.restarts) },
      { header: "Node", field: "nodeName", cell: (pod) => dash(pod.nodeName) },
      { header: "Why not ready", field: "reason", alsoChangedBy: ["message"], cell: (pod) => why(pod.reason, pod.message) },
    ],
  });
  return {
    id: "pods",
    title: "Pods",
    transport: (client) => graphqlSseTransport(client, PodEventsDocument),
    tables: [pods],
    apply(event) {
      switch (event.__typename) {
        case "PodAdded":
          pods.upsert(event.pod);
          return "pods";
        case "PodUpdated":
          pods.upsert(event.pod, event.changedFields);
          return undefined;
        case "PodDeleted":
          pods.remove(event.pod.name);
          return undefined;
      }
    },
  };
}

const ideKinds: Record<IDE["kind"], string> = { JUPYTERLAB: "JupyterLab", RSTUDIO: "RStudio", VSCODE: "VS Code" };
const conventions: Record<IDE["convention"], string> = {
  KUBESUB_LABELS: "kubesub labels",
  KUBEFLOW_NOTEBOOK: "Kubeflow Notebook",
  JUPYTERHUB: "JupyterHub",
};

export function idePanel(): PanelDefinition<IDEEvent> {
  const ides = new TableView<IDE>({
    testId: "table-ides",
    rowTestIdPrefix: "ide",
    key: (ide) => ide.name,
    empty: "No IDE sessions in this project.",
    columns: [
      { header: "Name", field: "name", cell: (ide) => ide.name },
      { header: "Kind", field: "kind", cell: (ide) => ideKinds[ide.kind] },
      { header: "User", field: "user", cell: (ide) => dash(ide.user) },
      { header: "Status", field: "status", cell: (ide) => enumChip(ide.status) },
      { header: "Ready", field: "ready", cell: (ide) => yesNo(ide.ready) },
      { header: "Why not ready", field: "reason", alsoChangedBy: ["message"], cell: (ide) => why(ide.reason, ide.message) },
      { header: "Restarts", field: "restarts", cell: (ide) => String(ide.restarts) },
      { header: "Pods", field: "pods", cell: (ide) => dash(ide.pods.map((p) => `${p.name} (${p.status})`).join(", ")) },
      { header: "Recognised as", field: "convention", cell: (ide) => conventions[ide.convention] },
    ],
  });
  return {
    id: "ides",
    title: "IDE sessions",
    transport: (client) => graphqlSseTransport(client, IdeEventsDocument),
    tables: [ides],
    apply(event) {
      switch (event.__typename) {
        case "IDEAdded":
          ides.upsert(event.ide);
          return event.ide.convention === "KUBEFLOW_NOTEBOOK" ? "notebooks.kubeflow.org" : "pods";
        case "IDEUpdated":
          ides.upsert(event.ide, event.changedFields);
          return undefined;
        case "IDEDeleted":
          ides.remove(event.ide.name);
          return undefined;
      }
    },
  };
}

export function daskPanel(): PanelDefinition<DaskEvent> {
  const clusters = new TableView<DaskCluster>({
    title: "Dask clusters",
    testId: "table-dask-clusters",
    rowTestIdPrefix: "dask-cluster",
    key: (cluster) => cluster.name,
    empty: "No Dask clusters in this project.",
    columns: [
      { header: "Name", field: "name", cell: (c) => c.name },
      { header: "User", field: "user", cell: (c) => dash(c.user) },
      { header: "Phase", field: "phase", cell: (c) => enumChip(c.phase) },
      { header: "Scheduler ready", field: "schedulerReady", cell: (c) => yesNo(c.schedulerReady) },
      { header: "Ready workers", field: "readyWorkers", cell: (c) => String(c.readyWorkers) },
      { header: "Workers", field: "workers", cell: (c) => String(c.workers) },
      { header: "Desired", field: "desiredWorkers", cell: (c) => String(c.desiredWorkers) },
      { header: "Why not ready", field: "reason", alsoChangedBy: ["message"], cell: (c) => why(c.reason, c.message) },
    ],
  });
  const workerGroups = new TableView<DaskWorkerGroup>({
    title: "Worker groups",
    testId: "table-dask-worker-groups",
    rowTestIdPrefix: "dask-worker-group",
    key: (group) => group.name,
    empty: "No additional worker groups.",
    columns: [
      { header: "Name", field: "name", cell: (g) => g.name },
      { header: "Cluster", field: "cluster", cell: (g) => dash(g.cluster) },
      { header: "Ready workers", field: "readyWorkers", cell: (g) => String(g.readyWorkers) },
      { header: "Workers", field: "workers", cell: (g) => String(g.workers) },
      { header: "Desired", field: "desiredWorkers", cell: (g) => String(g.desiredWorkers) },
    ],
  });
  const autoscalers = new TableView<DaskAutoscaler>({
    title: "Autoscalers",
    testId: "table-dask-autoscalers",
    rowTestIdPrefix: "dask-autoscaler",
    key: (autoscaler) => autoscaler.name,
    empty: "No autoscalers.",
    columns: [
      { header: "Name", field: "name", cell: (a) => a.name },
      { header: "Cluster", field: "cluster", cell: (a) => dash(a.cluster) },
      { header: "Minimum", field: "minimum", cell: (a) => String(a.minimum) },
      { header: "Maximum", field: "maximum", cell: (a) => String(a.maximum) },
    ],
  });
  const jobs = new TableView<DaskJob>({
    title: "Dask jobs",
    testId: "table-dask-jobs",
    rowTestIdPrefix: "dask-job",
    key: (job) => job.name,
    empty: "No Dask jobs.",
    columns: [
      { header: "Name", field: "name", cell: (j) => j.name },
      { header: "User", field: "user", cell: (j) => dash(j.user) },
      { header: "Status", field: "status", cell: (j) => enumChip(j.status) },
      { header: "Cluster", field: "cluster", cell: (j) => dash(j.cluster) },
      { header: "Runner pod", field: "runnerPod", cell: (j) => (j.runnerPod ? `${j.runnerPod.name} (${j.runnerPod.status})` : "—") },
    ],
  });
  return {
    id: "dask",
    title: "Dask",
    transport: (client) => graphqlSseTransport(client, DaskEventsDocument),
    tables: [clusters, workerGroups, autoscalers, jobs],
    apply(event) {
      switch (event.__typename) {
        case "DaskClusterAdded":
          clusters.upsert(event.cluster);
          return `daskclusters.${dask}`;
        case "DaskClusterUpdated":
          clusters.upsert(event.cluster, event.changedFields);
          return undefined;
        case "DaskClusterDeleted":
          clusters.remove(event.cluster.name);
          return undefined;
        case "DaskWorkerGroupAdded":
          workerGroups.upsert(event.workerGroup);
          return `daskworkergroups.${dask}`;
        case "DaskWorkerGroupUpdated":
          workerGroups.upsert(event.workerGroup, event.changedFields);
          return undefined;
        case "DaskWorkerGroupDeleted":
          workerGroups.remove(event.workerGroup.name);
          return undefined;
        case "DaskAutoscalerAdded":
          autoscalers.upsert(event.autoscaler);
          return `daskautoscalers.${dask}`;
        case "DaskAutoscalerUpdated":
          autoscalers.upsert(event.autoscaler, event.changedFields);
          return undefined;
        case "DaskAutoscalerDeleted":
          autoscalers.remove(event.autoscaler.name);
          return undefined;
        case "DaskJobAdded":
          jobs.upsert(event.job);
          return `daskjobs.${dask}`;
        case "DaskJobUpdated":
          jobs.upsert(event.job, event.changedFields);
          return undefined;
        case "DaskJobDeleted":
          jobs.remove(event.job.name);
          return undefined;
      }
    },
  };
}
