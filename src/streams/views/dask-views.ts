import {
  type DaskAutoscaler,
  type DaskCluster,
  type DaskJob,
  type DaskWorkerGroup,
  daskChangedFields,
  daskClusterName,
  daskLabels,
  runnerPodName,
  toDaskAutoscaler,
  toDaskCluster,
  toDaskJob,
  toDaskWorkerGroup,
  userOf,
} from "../../domain/dask.ts";
import { GroupIndex } from "../../domain/group-index.ts";
import { type JoinedPod, type KubePod, toPod } from "../../domain/pod.ts";
import {
  daskAutoscalerResource,
  daskClusterResource,
  daskJobResource,
  daskWorkerGroupResource,
  podResource,
} from "../../kube/resources.ts";
import type { Delta } from "../../kube/store.ts";
import type { KubeObject, ResourceType } from "../../kube/types.ts";
import type { ViewSource } from "./derived-view.ts";
import { PodJoin } from "./pod-join.ts";
import type { ViewDefinition } from "./view-registry.ts";

export type DaskResource = "CLUSTERS" | "WORKER_GROUPS" | "AUTOSCALERS" | "JOBS";
export type DaskModel = DaskCluster | DaskWorkerGroup | DaskAutoscaler | DaskJob;

const nameKey = (object: KubeObject) => object.metadata?.name ?? "";

/**
 * Worker groups, autoscalers and jobs belong to the user of their cluster unless they carry a user
 * label of their own. Indexes them by the cluster they name, so that a cluster that appears, goes
 * or is relabelled recomputes exactly its objects, whichever of them Kubernetes delivered first.
 */
class ClusterOwners {
  private readonly index = new GroupIndex();
  private readonly clusters: ViewSource;
  private readonly namespace: string;
  private readonly userLabel: string;

  constructor(clusters: ViewSource, namespace: string, userLabel: string) {
    this.clusters = clusters;
    this.namespace = namespace;
    this.userLabel = userLabel;
  }

  /** For every delta of the objects owned: follows the cluster each names. Returns the object's key. */
  track(delta: Delta<KubeObject>): string {
    const key = nameKey(delta.object);
    const before = delta.type === "added" ? undefined : daskClusterName(delta.type === "updated" ? delta.old : delta.object);
    const after = delta.type === "deleted" ? undefined : daskClusterName(delta.object);
    if (before !== undefined && before !== after) this.index.remove(before, key);
    if (after !== undefined) this.index.add(after, key);
    return key;
  }

  /** For every delta of the clusters: the objects whose owner it may change (a cluster's arrival, departure or new user label). */
  affected(delta: Delta<KubeObject>): string[] {
    if (delta.type === "updated" && userOf(delta.old, this.userLabel) === userOf(delta.object, this.userLabel)) return [];
    return this.index.members(nameKey(delta.object));
  }

  /** The cluster an object names, as the informer holds it now; undefined while there is none. */
  clusterOf(raw: KubeObject): KubeObject | undefined {
    const name = daskClusterName(raw);
    return name === undefined ? undefined : this.clusters.informer.get(`${this.namespace}/${name}`);
  }
}

/**
 * An object of `resource` joined with the pods that carry its name in `podLabel` (Dask clusters
 * with their scheduler and workers, worker groups with their workers) and, when `owned`, with the
 * DaskCluster it names, whose user it takes.
 */
function labelJoinView<M extends object>(
  name: string,
  resource: ResourceType,
  podLabel: string,
  build: (raw: KubeObject, pods: JoinedPod[], cluster: KubeObject | undefined) => M,
  userLabel: string,
  owned: boolean,
): ViewDefinition<M> {
  return {
    name,
    family: "dask",
    resources: () => (owned ? [resource, podResource, daskClusterResource] : [resource, podResource]),
    build: ([objects, pods, clusters], namespace) => {
      if (!objects || !pods || (owned && !clusters)) throw new Error(`the ${name} view is missing an informer`);
      const join = new PodJoin(pods, (pod) => pod.metadata?.labels?.[podLabel], userLabel);
      const owners = clusters && new ClusterOwners(clusters, namespace, userLabel);
      return {
        affectedKeys: (source, delta) => {
          if (source === 1) return join.track(delta);
          if (source === 2) return owners?.affected(delta) ?? [];
          return [owners ? owners.track(delta) : nameKey(delta.object)];
        },
        compute: (key) => {
          const raw = objects.informer.get(`${namespace}/${key}`);
          return raw && build(raw, join.members(key), owners?.clusterOf(raw));
        },
        diff: daskChangedFields,
      };
    },
  };
}

export function daskViews(userLabel: string): Record<DaskResource, ViewDefinition<DaskModel>> {
  const clusters = labelJoinView<DaskCluster>(
    "daskclusters",
    daskClusterResource,
    daskLabels.cluster,
    (raw, pods) => toDaskCluster(raw, pods, userLabel),
    userLabel,
    false,
  );
  const workerGroups = labelJoinView<DaskWorkerGroup>(
    "daskworkergroups",
    daskWorkerGroupResource,
    daskLabels.workerGroup,
    (raw, pods, cluster) =>
      toDaskWorkerGroup(
        raw,
        pods.map((p) => p.pod),
        cluster,
        userLabel,
      ),
    userLabel,
    true,
  );
  const autoscalers: ViewDefinition<DaskAutoscaler> = {
    name: "daskautoscalers",
    family: "dask",
    resources: () => [daskAutoscalerResource, daskClusterResource],
    build: ([objects, clusters], namespace) => {
      if (!objects || !clusters) throw new Error("the daskautoscalers view is missing an informer");
      const owners = new ClusterOwners(clusters, namespace, userLabel);
      return {
        affectedKeys: (source, delta) => (source === 1 ? owners.affected(delta) : [owners.track(delta)]),
        compute: (key) => {
          const raw = objects.informer.get(`${namespace}/${key}`);
          return raw && toDaskAutoscaler(raw, owners.clusterOf(raw), userLabel);
        },
        diff: daskChangedFields,
      };
    },
  };
  const jobs: ViewDefinition<DaskJob> = {
    name: "daskjobs",
    family: "dask",
    resources: () => [daskJobResource, podResource, daskClusterResource],
    build: ([objects, pods, clusters], namespace) => {
      if (!objects || !pods || !clusters) throw new Error("the daskjobs view is missing an informer");
      const owners = new ClusterOwners(clusters, namespace, userLabel);
      // The runner pod is named in the job's status; index jobs by it to route pod deltas.
      const jobByRunner = new Map<string, string>();
      return {
        affectedKeys: (source, delta) => {
          if (source === 1) {
            const job = jobByRunner.get(nameKey(delta.object));
            return job === undefined ? [] : [job];
          }
          if (source === 2) return owners.affected(delta);
          const job = owners.track(delta);
          const before = delta.type === "updated" ? runnerPodName(delta.old) : undefined;
          if (before !== undefined) jobByRunner.delete(before);
          const runner = runnerPodName(delta.object);
          if (runner !== undefined && delta.type !== "deleted") jobByRunner.set(runner, job);
          if (delta.type === "deleted" && runner !== undefined) jobByRunner.delete(runner);
          return [job];
        },
        compute: (key) => {
          const raw = objects.informer.get(`${namespace}/${key}`);
          if (!raw) return undefined;
          const runner = runnerPodName(raw);
          const pod = runner === undefined ? undefined : (pods.informer.get(`${namespace}/${runner}`) as KubePod | undefined);
          return toDaskJob(raw, pod && toPod(pod, userLabel), owners.clusterOf(raw), userLabel);
        },
        diff: daskChangedFields,
      };
    },
  };
  return {
    CLUSTERS: clusters as ViewDefinition<DaskModel>,
    WORKER_GROUPS: workerGroups as ViewDefinition<DaskModel>,
    AUTOSCALERS: autoscalers as ViewDefinition<DaskModel>,
    JOBS: jobs as ViewDefinition<DaskModel>,
  };
}
