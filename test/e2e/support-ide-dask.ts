// The IDE and Dask scenarios' documents and writes through the Kubernetes API: the test plays the
// Dask operator and its autoscaler, the Kubeflow notebook-controller, JupyterHub's KubeSpawner and
// the kubelet. Objects are shaped so that the upstream CRDs' schemas accept them (the fixtures
// accept anything).
import { ApiException, ApiextensionsV1Api, type CoreV1Api, type CustomObjectsApi, type V1Pod } from "@kubernetes/client-node";
import { vi } from "vitest";
import { daskLabels } from "../../src/domain/dask.ts";
import { daskAutoscalerResource, daskClusterResource, daskJobResource, notebookResource } from "../../src/kube/resources.ts";
import type { KubeObject, ResourceType } from "../../src/kube/types.ts";
import type { ControlPlane } from "../helpers/control-plane.ts";
import { crdFiles, installCrds } from "../helpers/control-plane-crds.ts";
import { kubeRequest } from "../helpers/control-plane-kube.ts";
import { userLabel } from "../helpers/settings.ts";

export const daskEventsDocument = /* GraphQL */ `
  subscription Dask($project: String!, $target: String, $resources: [DaskResource!]) {
    daskEvents(project: $project, target: $target, resources: $resources) {
      __typename
      ... on DaskClusterAdded { cause resourceVersion cluster { name user phase desiredWorkers workers readyWorkers schedulerReady scheduler { name ready } } }
      ... on DaskClusterUpdated { changedFields resourceVersion cluster { name phase desiredWorkers workers readyWorkers schedulerReady scheduler { name ready } } }
      ... on DaskClusterDeleted { cause resourceVersion cluster { name } }
      ... on DaskWorkerGroupAdded { cause workerGroup { name } }
      ... on DaskAutoscalerAdded { cause resourceVersion autoscaler { name cluster minimum maximum } }
      ... on DaskAutoscalerUpdated { changedFields resourceVersion autoscaler { name cluster minimum maximum } previous { maximum } }
      ... on DaskAutoscalerDeleted { cause autoscaler { name } }
      ... on DaskJobAdded { cause resourceVersion job { name status user } }
      ... on DaskJobUpdated { changedFields job { name status } }
      ... on DaskJobDeleted { cause job { name } }
      ... on InitialStateComplete { count }
      ... on ResourceUnavailable { resource namespace reason message }
      ... on StreamError { code message retryable }
    }
  }
`;

export const ideEventsDocument = /* GraphQL */ `
  subscription Ides($project: String!, $user: String, $kind: IDEKind) {
    ideEvents(project: $project, user: $user, kind: $kind) {
      __typename
      ... on IDEAdded { cause resourceVersion ide { name kind user status ready convention pods { name ready } } }
      ... on IDEUpdated { changedFields resourceVersion ide { name kind user status ready convention pods { name ready } } previous { status ready } }
      ... on IDEDeleted { cause ide { name } }
      ... on InitialStateComplete { count }
      ... on ResourceUnavailable { resource namespace reason message }
      ... on StreamError { code message retryable }
    }
  }
`;

export const rv = (object: KubeObject | V1Pod) => object.metadata?.resourceVersion ?? "";

const container = { name: "main", image: "example.org/main:1" };
/** The smallest DaskCluster spec the upstream schema accepts. */
const daskClusterSpec = (replicas: number) => ({
  scheduler: { spec: { containers: [container] }, service: { ports: [{ name: "tcp-comm", port: 8786 }] } },
  worker: { replicas, spec: { containers: [container] } },
});

const pointer = (key: string) => key.replaceAll("~", "~0").replaceAll("/", "~1");

/** Custom objects of the Dask operator and Kubeflow, written as admin through one apiserver. */
export class CustomWriter {
  private readonly custom: CustomObjectsApi;
  private readonly namespace: string;
  private statusSubresource: boolean | undefined;
  private readonly cp: ControlPlane;

  constructor(cp: ControlPlane, namespace: string) {
    this.cp = cp;
    this.custom = cp.custom();
    this.namespace = namespace;
  }

  create(
    type: ResourceType,
    name: string,
    fields: { labels?: Record<string, string>; annotations?: Record<string, string>; spec: unknown },
  ) {
    return this.custom.createNamespacedCustomObject({
      ...this.target(type),
      body: {
        apiVersion: `${type.group}/${type.version}`,
        kind: type.kind,
        metadata: { name, labels: fields.labels, annotations: fields.annotations },
        spec: fields.spec,
      },
    }) as Promise<KubeObject>;
  }

  /** JSON patch "add" operations (which replace): path -> value. */
  patch(type: ResourceType, name: string, values: Record<string, unknown>) {
    const body = Object.entries(values).map(([path, value]) => ({ op: "add", path, value }));
    return this.custom.patchNamespacedCustomObject({ ...this.target(type), name, body }) as Promise<KubeObject>;
  }

  delete(type: ResourceType, name: string) {
    return this.custom.deleteNamespacedCustomObject({ ...this.target(type), name }) as Promise<KubeObject>;
  }

  createDaskCluster(name: string, replicas: number, user: string) {
    return this.create(daskClusterResource, name, { labels: { [userLabel]: user }, spec: daskClusterSpec(replicas) });
  }

  /** spec.worker.replicas, as a user or the autoscaler scales the cluster. */
  scaleDaskCluster(name: string, replicas: number) {
    return this.patch(daskClusterResource, name, { "/spec/worker/replicas": replicas });
  }

  /**
   * status.phase as the operator writes it. The upstream DaskCluster CRD has no status subresource
   * (only scale), so the status is part of the main resource there; the fixture has one.
   */
  async setDaskClusterPhase(name: string, phase: string) {
    this.statusSubresource ??= await hasStatusSubresource(this.cp, daskClusterResource);
    const body = [{ op: "add", path: "/status", value: { phase } }];
    const target = { ...this.target(daskClusterResource), name, body };
    return (
      this.statusSubresource ? this.custom.patchNamespacedCustomObjectStatus(target) : this.custom.patchNamespacedCustomObject(target)
    ) as Promise<KubeObject>;
  }

  createDaskAutoscaler(name: string, cluster: string, minimum: number, maximum: number, annotations?: Record<string, string>) {
    return this.create(daskAutoscalerResource, name, { annotations, spec: { cluster, minimum, maximum } });
  }

  /** Sets an annotation; the object must have annotations already (a JSON patch cannot add both levels). */
  annotate(type: ResourceType, name: string, key: string, value: string) {
    return this.patch(type, name, { [`/metadata/annotations/${pointer(key)}`]: value });
  }

  createNotebook(name: string, user: string, annotations: Record<string, string>) {
    return this.create(notebookResource, name, {
      labels: { [userLabel]: user },
      annotations,
      spec: { template: { spec: { containers: [container] } } },
    });
  }

  createDaskJob(name: string, user: string) {
    return this.create(daskJobResource, name, {
      labels: { [userLabel]: user },
      spec: { cluster: { spec: daskClusterSpec(1) }, job: { spec: { containers: [container] } } },
    });
  }

  private target(type: ResourceType) {
    return { group: type.group, version: type.version, plural: type.plural, namespace: this.namespace };
  }
}

async function hasStatusSubresource(cp: ControlPlane, type: ResourceType): Promise<boolean> {
  const crd = await cp
    .kubeConfig()
    .makeApiClient(ApiextensionsV1Api)
    .readCustomResourceDefinition({ name: `${type.plural}.${type.group}` });
  return crd.spec.versions.find((v) => v.name === type.version)?.subresources?.status !== undefined;
}

/** A pod with these labels and annotations, Pending on no node until its status is written. */
export function createLabelledPod(
  core: CoreV1Api,
  namespace: string,
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string> = {},
): Promise<V1Pod> {
  return core.createNamespacedPod({
    namespace,
    body: { metadata: { name, labels, annotations }, spec: { containers: [container] } },
  });
}

/** A scheduler or worker pod of a Dask cluster, labelled as the operator labels them. */
export function createDaskPod(core: CoreV1Api, namespace: string, cluster: string, component: "scheduler" | "worker", name: string) {
  return createLabelledPod(core, namespace, name, { [daskLabels.cluster]: cluster, [daskLabels.component]: component });
}

// ---- CRDs ----------------------------------------------------------------------------------------

/** What the global setup installed from: "shared" (../shared/crds) or "fixtures". */
export function crdChoice(cp: ControlPlane): "shared" | "fixtures" {
  return crdFiles("fixtures").origin === cp.info.crds.origin ? "fixtures" : "shared";
}

/** Deletes a CRD and waits until the apiserver no longer has it, nor lists it in discovery. */
export async function deleteCrd(cp: ControlPlane, type: ResourceType): Promise<void> {
  const api = cp.kubeConfig().makeApiClient(ApiextensionsV1Api);
  const name = `${type.plural}.${type.group}`;
  await api.deleteCustomResourceDefinition({ name });
  await vi.waitFor(
    async () => {
      const gone = await api.readCustomResourceDefinition({ name }).then(
        () => false,
        (error: unknown) => error instanceof ApiException && error.code === 404,
      );
      if (!gone) throw new Error(`CRD ${name} still exists`);
      for (const apiServer of ["main", "writer"] as const) {
        const discovery = await kubeRequest(cp.kubeConfig("admin", apiServer), `/apis/${type.group}/${type.version}`);
        const listed =
          discovery.status === 200 &&
          (JSON.parse(discovery.body) as { resources?: { name: string }[] }).resources?.some((r) => r.name === type.plural);
        if (listed) throw new Error(`${name} still in ${apiServer}'s discovery`);
      }
    },
    { timeout: 30_000, interval: 100 },
  );
}

/**
 * Installs the CRDs the global setup installed (those present are left as they are), and waits
 * until both apiservers serve them.
 */
export async function restoreCrds(cp: ControlPlane): Promise<void> {
  for (const apiServer of ["main", "writer"] as const) await installCrds(cp.kubeConfig("admin", apiServer), crdChoice(cp), 30_000);
}
