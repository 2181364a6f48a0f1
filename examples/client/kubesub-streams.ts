// kubesub's three streams as LiveCollection (./live-collection.ts) definitions, typed with the
// documents graphql-codegen generates from examples/operations/*.graphql (`npm run codegen`): which
// collections each stream fills and what each change member of its union does to them. A client
// with its own selection writes its own definition the same way (one switch over __typename).
import type {
  DaskAutoscalerFieldsFragment,
  DaskClusterFieldsFragment,
  DaskEventsSubscription,
  DaskJobFieldsFragment,
  DaskWorkerGroupFieldsFragment,
  IdeEventsSubscription,
  IdeFieldsFragment,
  PodEventsSubscription,
  PodFieldsFragment,
} from "../generated/graphql.ts";
import type { StreamDefinition } from "./live-collection.ts";

/** Objects as the example operations select them: their fields, and their id (`pod { id ...PodFields }`). */
type Identified<F> = F & { id: string };
export type Pod = Identified<PodFieldsFragment>;
export type IDE = Identified<IdeFieldsFragment>;
export type DaskCluster = Identified<DaskClusterFieldsFragment>;
export type DaskWorkerGroup = Identified<DaskWorkerGroupFieldsFragment>;
export type DaskAutoscaler = Identified<DaskAutoscalerFieldsFragment>;
export type DaskJob = Identified<DaskJobFieldsFragment>;

export type PodEvent = PodEventsSubscription["podEvents"];
export type IDEEvent = IdeEventsSubscription["ideEvents"];
export type DaskEvent = DaskEventsSubscription["daskEvents"];

export interface PodCollections {
  pods: Pod;
}
export interface IDECollections {
  ides: IDE;
}
export interface DaskCollections {
  clusters: DaskCluster;
  workerGroups: DaskWorkerGroup;
  autoscalers: DaskAutoscaler;
  jobs: DaskJob;
}

/** podEvents (PodEventsDocument): the project's pods. */
export const podStream: StreamDefinition<PodEvent, PodCollections> = {
  collections: ["pods"],
  change(event) {
    switch (event.__typename) {
      case "PodAdded":
        return { collection: "pods", type: "upsert", object: event.pod, readable: "pods" };
      case "PodUpdated":
        return { collection: "pods", type: "upsert", object: event.pod, changedFields: event.changedFields };
      case "PodDeleted":
        return { collection: "pods", type: "remove", object: event.pod };
      default:
        return undefined;
    }
  },
};

/** ideEvents (IdeEventsDocument): the project's IDE sessions. */
export const ideStream: StreamDefinition<IDEEvent, IDECollections> = {
  collections: ["ides"],
  change(event) {
    switch (event.__typename) {
      case "IDEAdded": {
        const readable = event.ide.convention === "KUBEFLOW_NOTEBOOK" ? "notebooks.kubeflow.org" : "pods";
        return { collection: "ides", type: "upsert", object: event.ide, readable };
      }
      case "IDEUpdated":
        return { collection: "ides", type: "upsert", object: event.ide, changedFields: event.changedFields };
      case "IDEDeleted":
        return { collection: "ides", type: "remove", object: event.ide };
      default:
        return undefined;
    }
  },
};

const dask = "kubernetes.dask.org";

/** daskEvents (DaskEventsDocument): the project's Dask clusters, worker groups, autoscalers and jobs. */
export const daskStream: StreamDefinition<DaskEvent, DaskCollections> = {
  collections: ["clusters", "workerGroups", "autoscalers", "jobs"],
  change(event) {
    switch (event.__typename) {
      case "DaskClusterAdded":
        return { collection: "clusters", type: "upsert", object: event.cluster, readable: `daskclusters.${dask}` };
      case "DaskClusterUpdated":
        return { collection: "clusters", type: "upsert", object: event.cluster, changedFields: event.changedFields };
      case "DaskClusterDeleted":
        return { collection: "clusters", type: "remove", object: event.cluster };
      case "DaskWorkerGroupAdded":
        return { collection: "workerGroups", type: "upsert", object: event.workerGroup, readable: `daskworkergroups.${dask}` };
      case "DaskWorkerGroupUpdated":
        return { collection: "workerGroups", type: "upsert", object: event.workerGroup, changedFields: event.changedFields };
      case "DaskWorkerGroupDeleted":
        return { collection: "workerGroups", type: "remove", object: event.workerGroup };
      case "DaskAutoscalerAdded":
        return { collection: "autoscalers", type: "upsert", object: event.autoscaler, readable: `daskautoscalers.${dask}` };
      case "DaskAutoscalerUpdated":
        return { collection: "autoscalers", type: "upsert", object: event.autoscaler, changedFields: event.changedFields };
      case "DaskAutoscalerDeleted":
        return { collection: "autoscalers", type: "remove", object: event.autoscaler };
      case "DaskJobAdded":
        return { collection: "jobs", type: "upsert", object: event.job, readable: `daskjobs.${dask}` };
      case "DaskJobUpdated":
        return { collection: "jobs", type: "upsert", object: event.job, changedFields: event.changedFields };
      case "DaskJobDeleted":
        return { collection: "jobs", type: "remove", object: event.job };
      default:
        return undefined;
    }
  },
};
