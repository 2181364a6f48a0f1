import type { ResourceType } from "./types.ts";

/** The resources kubesub watches. */
export const podResource: ResourceType = { group: "", version: "v1", plural: "pods", kind: "Pod" };

/**
 * Namespaces (cluster-scoped): which projects exist, and which are being deleted. One cluster-wide
 * list and watch, whatever --watch-scope says (namespace-presence.ts).
 */
export const namespaceResource: ResourceType = { group: "", version: "v1", plural: "namespaces", kind: "Namespace", clusterScoped: true };

/** Kubeflow Notebooks (notebook-controller). */
export const notebookResource: ResourceType = { group: "kubeflow.org", version: "v1", plural: "notebooks", kind: "Notebook" };

/** The Dask Kubernetes operator's resources. */
export const daskClusterResource: ResourceType = {
  group: "kubernetes.dask.org",
  version: "v1",
  plural: "daskclusters",
  kind: "DaskCluster",
};
export const daskWorkerGroupResource: ResourceType = {
  group: "kubernetes.dask.org",
  version: "v1",
  plural: "daskworkergroups",
  kind: "DaskWorkerGroup",
};
export const daskAutoscalerResource: ResourceType = {
  group: "kubernetes.dask.org",
  version: "v1",
  plural: "daskautoscalers",
  kind: "DaskAutoscaler",
};
export const daskJobResource: ResourceType = { group: "kubernetes.dask.org", version: "v1", plural: "daskjobs", kind: "DaskJob" };

/** Every resource kubesub reads: what a replica watches from its start in cluster scope. */
export const watchedResources: readonly ResourceType[] = [
  podResource,
  namespaceResource,
  notebookResource,
  daskClusterResource,
  daskWorkerGroupResource,
  daskAutoscalerResource,
  daskJobResource,
];
