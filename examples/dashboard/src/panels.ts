// What each of the page's three streams shows: its subscription, the collections LiveCollection
// (examples/client/live-collection.ts) keeps from it (examples/client/kubesub-streams.ts) and the
// table that shows each collection. Connection state and ResourceUnavailable notices are the same
// for all three and are shown by the stream panel (stream-panel.ts).
import type { Client } from "graphql-sse";
import type { StreamDefinition } from "../../client/live-collection.ts";
import { type EventOf, graphqlSseTransport, type Transport } from "../../client/resumable.ts";
import { chip, dash, enumChip, podStatusTone, yesNo } from "./format.ts";
import {
  type DaskAutoscaler,
  type DaskCluster,
  type DaskCollections,
  DaskEventsDocument,
  type DaskEventsSubscription,
  type DaskJob,
  type DaskWorkerGroup,
  daskStream,
  type IDE,
  type IDECollections,
  IdeEventsDocument,
  type IdeEventsSubscription,
  ideStream,
  type Pod,
  type PodCollections,
  PodEventsDocument,
  type PodEventsSubscription,
  podStream,
} from "./operations.ts";
import { TableView } from "./table-view.ts";

/** The page's three streams; used in data-testid values (connection-pods, notices-dask...). */
export type PanelId = "pods" | "ides" | "dask";

/** What the page passes to every stream: the project, and the cursor to resume from. */
export interface PanelVariables {
  project: string;
  after?: string | null;
}

export interface PanelDefinition<TData, C> {
  id: PanelId;
  title: string;
  /** The subscription over graphql-sse, for a LiveCollection. */
  transport: (client: Client) => Transport<TData, PanelVariables>;
  /** The collections the stream fills (examples/client/kubesub-streams.ts). */
  stream: StreamDefinition<EventOf<TData>, C>;
  /** One table per collection, in the order shown. */
  tables: { [K in keyof C]: TableView<C[K]> };
}

export function podPanel(): PanelDefinition<PodEventsSubscription, PodCollections> {
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
    ],
  });
  return {
    id: "pods",
    title: "Pods",
    transport: (client) => graphqlSseTransport(client, PodEventsDocument),
    stream: podStream,
    tables: { pods },
  };
}

const ideKinds: Record<IDE["kind"], string> = { JUPYTERLAB: "JupyterLab", RSTUDIO: "RStudio", VSCODE: "VS Code" };
const conventions: Record<IDE["convention"], string> = {
  KUBESUB_LABELS: "kubesub labels",
  KUBEFLOW_NOTEBOOK: "Kubeflow Notebook",
  JUPYTERHUB: "JupyterHub",
};

export function idePanel(): PanelDefinition<IdeEventsSubscription, IDECollections> {
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
      { header: "Restarts", field: "restarts", cell: (ide) => String(ide.restarts) },
      { header: "Pods", field: "pods", cell: (ide) => dash(ide.pods.map((p) => `${p.name} (${p.status})`).join(", ")) },
      { header: "Recognised as", field: "convention", cell: (ide) => conventions[ide.convention] },
    ],
  });
  return {
    id: "ides",
    title: "IDE sessions",
    transport: (client) => graphqlSseTransport(client, IdeEventsDocument),
    stream: ideStream,
    tables: { ides },
  };
}

export function daskPanel(): PanelDefinition<DaskEventsSubscription, DaskCollections> {
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
    stream: daskStream,
    tables: { clusters, workerGroups, autoscalers, jobs },
  };
}
