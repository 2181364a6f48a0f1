import { KubeApiError } from "../../kube/errors.ts";
import type { NamespaceState } from "../../kube/namespace-presence.ts";
import { type ResourceType, resourceName } from "../../kube/types.ts";
import type { UnavailableSource } from "./view.ts";

/** Names what is missing in words a platform engineer can act on. */
export function describeUnavailable(type: ResourceType, namespace: string, error: unknown, clusterWide = false): UnavailableSource {
  const resource = resourceName(type);
  const apiResource = `${type.group === "" ? "" : `${type.group}/`}${type.version} ${type.plural}`;
  const status = error instanceof KubeApiError ? error.statusCode : undefined;
  if (status === 404) {
    return {
      resource,
      namespace,
      reason: "NOT_INSTALLED",
      message: `${apiResource} is not installed in this cluster; kubesub keeps retrying and will deliver once it is`,
    };
  }
  if ((status === 401 || status === 403) && clusterWide) {
    return {
      resource,
      namespace,
      reason: "FORBIDDEN",
      message: `kubesub is not allowed to list and watch ${resource} in all namespaces (--watch-scope cluster); grant it cluster-wide list and watch, or run it with --watch-scope namespace`,
    };
  }
  if (status === 401 || status === 403) {
    return { resource, namespace, reason: "FORBIDDEN", message: `kubesub is not allowed to list and watch ${resource} in ${namespace}` };
  }
  const detail = error instanceof Error ? `: ${error.message}` : "";
  return {
    resource,
    namespace,
    reason: "UNREACHABLE",
    message: `cannot read ${resource} in ${namespace} yet${detail}; kubesub keeps retrying`,
  };
}

/** What a stream is told of its project's namespace when it is being deleted or does not exist. */
export function describeNamespace(namespace: string, state: Exclude<NamespaceState, "active" | "unknown">): UnavailableSource {
  if (state === "terminating") {
    return {
      resource: "namespaces",
      namespace,
      reason: "NAMESPACE_TERMINATING",
      message: `namespace ${namespace} is being deleted: its objects are being deleted, and no new ones can be made in it; kubesub will deliver its objects again if it is created again`,
    };
  }
  return {
    resource: "namespaces",
    namespace,
    reason: "NAMESPACE_NOT_FOUND",
    message: `namespace ${namespace} does not exist (never created, or deleted); kubesub will deliver its objects once it is created`,
  };
}
