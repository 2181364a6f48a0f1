import { changedFields } from "../domain/changed-fields.ts";
import { compileSelector, type LabelSelector, matchesSelector } from "../domain/label-selector.ts";
import { type KubePod, labelsOf, type Pod, toPod } from "../domain/pod.ts";
import { validateProject, validateUser } from "../domain/validation.ts";
import { podResource } from "../kube/resources.ts";
import { objectKey } from "../kube/types.ts";
import type { StreamAccess } from "./access.ts";
import { listView } from "./list-view.ts";
import { openStream, type StreamPart } from "./open-stream.ts";
import type { StreamEvent } from "./stream-event.ts";
import type { StreamSettings } from "./stream-settings.ts";
import type { ViewDefinition } from "./view-registry.ts";

export interface PodQuery {
  project: string;
  user?: string | null;
  selector?: LabelSelector | null;
}

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

/** Pods of one project, filtered per subscriber, from the shared pod view of that namespace. */
export class PodStreams {
  private readonly settings: StreamSettings;
  private readonly definition: ViewDefinition<Pod>;

  constructor(settings: StreamSettings) {
    this.settings = settings;
    this.definition = podView(settings.userLabel);
  }

  /** Rejects with BAD_USER_INPUT before anything is checked or watched, then FORBIDDEN if so. */
  async events(query: PodQuery, access: StreamAccess): Promise<AsyncIterableIterator<StreamEvent<Pod>>> {
    const { namespace, part } = this.compile(query);
    return (await openStream(this.settings, access, "podEvents", namespace, [part as StreamPart<unknown>])) as AsyncIterableIterator<
      StreamEvent<Pod>
    >;
  }

  /** The matching pods, from the shared view (started and synced on demand). */
  list(query: PodQuery, access: StreamAccess): Promise<Pod[]> {
    const { namespace, part } = this.compile(query);
    return listView(this.settings, access, namespace, part);
  }

  private compile(query: PodQuery): { namespace: string; part: StreamPart<Pod> } {
    const namespace = validateProject(query.project);
    const requirements = compileSelector(query.selector);
    const user = validateUser(query.user);
    return {
      namespace,
      part: {
        definition: this.definition,
        kind: "Pod",
        matches: (pod) => (user === undefined || pod.user === user) && matchesSelector(labelsOf(pod), requirements),
        filterKey: JSON.stringify([user, requirements]),
        resourceVersion: (pod) => pod.resourceVersion,
      },
    };
  }
}
