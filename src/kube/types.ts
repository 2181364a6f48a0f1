/**
 * The smallest shape of a Kubernetes object that the kube layer relies on. Every object served by
 * the apiserver has it; the layer never looks further than metadata.
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: KubeObjectMeta;
}

export interface KubeObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: Date | string;
  managedFields?: unknown[];
  [field: string]: unknown;
}

/** Identifies a served resource, as discovery names it. */
export interface ResourceType {
  /** API group; "" for the core group. */
  group: string;
  version: string;
  /** Plural resource name, as in URLs and RBAC rules: "pods". */
  plural: string;
  kind: string;
  /** A resource whose objects belong to no namespace (namespaces themselves): always listed and watched cluster-wide. */
  clusterScoped?: true;
}

/** "pods" or "daskclusters.kubernetes.dask.org": the name RBAC and kubectl use. */
export function resourceName(type: ResourceType): string {
  return type.group === "" ? type.plural : `${type.plural}.${type.group}`;
}

/**
 * Store key of an object: namespace/name, as client-go's MetaNamespaceKeyFunc. Joined, not
 * concatenated: a flat string, where a concatenation would keep a two-part string object too, for
 * as long as the key stays in a cache (one per cached object).
 */
export function objectKey(object: KubeObject): string {
  const meta = object.metadata ?? {};
  return meta.namespace ? [meta.namespace, meta.name ?? ""].join("/") : (meta.name ?? "");
}

export function resourceVersionOf(object: KubeObject): string {
  return object.metadata?.resourceVersion ?? "";
}
