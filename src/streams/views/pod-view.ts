import { changedFields } from "../../domain/changed-fields.ts";
import { type KubePod, type Pod, toPod } from "../../domain/pod.ts";
import { podResource } from "../../kube/resources.ts";
import { objectKey } from "../../kube/types.ts";
import type { ViewDefinition } from "./view-registry.ts";

/** The pods of a namespace, projected once per pod version for every subscriber. */
export function podView(userLabel: string): ViewDefinition<Pod> {
  return {
    name: "pods",
    resources: () => [podResource],
    build: ([pods]) => ({
      affectedKeys: (_index, delta) => [objectKey(delta.object)],
      compute: (key) => {
        const pod = pods?.informer.get(key) as KubePod | undefined;
        return pod && toPod(pod, userLabel);
      },
      diff: (old, next) => changedFields(old, next, ["resourceVersion"]),
    }),
  };
}
