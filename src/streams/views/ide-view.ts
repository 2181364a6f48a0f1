import { type IDE, type IDEConvention, ideChangedFields, ideKeyOfPod, notebookKey, toIde } from "../../domain/ide.ts";
import { notebookResource, podResource } from "../../kube/resources.ts";
import { PodJoin } from "./pod-join.ts";
import type { ViewDefinition } from "./view-registry.ts";

/** IDEs of a namespace: pods claimed by the enabled conventions, joined with Kubeflow Notebooks. */
export function ideView(userLabel: string, conventions: ReadonlySet<IDEConvention>): ViewDefinition<IDE> {
  const withNotebooks = conventions.has("KUBEFLOW_NOTEBOOK");
  return {
    name: `ides(${[...conventions].sort().join(",")})`,
    resources: () => (withNotebooks ? [podResource, notebookResource] : [podResource]),
    build: ([pods, notebooks], namespace) => {
      if (!pods) throw new Error("the IDE view needs the pod informer");
      const join = new PodJoin(pods, (pod) => ideKeyOfPod(pod, conventions), userLabel);
      return {
        affectedKeys: (source, delta) => (source === 0 ? join.track(delta) : [notebookKey(delta.object)]),
        compute: (key) => {
          const name = key.slice(key.indexOf("/") + 1);
          const notebook = key.startsWith("KUBEFLOW_NOTEBOOK/") ? notebooks?.informer.get(`${namespace}/${name}`) : undefined;
          return toIde(key, namespace, join.members(key), notebook, userLabel);
        },
        diff: ideChangedFields,
      };
    },
  };
}
