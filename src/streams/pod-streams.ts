import type { Logger } from "pino";
import { changedFields } from "../domain/changed-fields.ts";
import { compileSelector, type LabelSelector, matchesSelector } from "../domain/label-selector.ts";
import { type KubePod, labelsOf, type Pod, toPod } from "../domain/pod.ts";
import { validateLabelValue, validateProject } from "../domain/validation.ts";
import { BadUserInputError } from "../errors.ts";
import { podResource } from "../kube/resources.ts";
import { objectKey } from "../kube/types.ts";
import { listView } from "./list-view.ts";
import type { StreamEvent } from "./stream-event.ts";
import { type Subscription, viewEvents } from "./view-events.ts";
import type { ViewDefinition, ViewRegistry } from "./view-registry.ts";

export interface PodQuery {
  project: string;
  user?: string | null;
  selector?: LabelSelector | null;
}

/** What every domain's streams need. */
export interface StreamSettings {
  views: ViewRegistry;
  /** Label (on pods and custom resources) that names the owning user. */
  userLabel: string;
  queueCapacity: number;
  syncTimeoutMs: number;
  shutdown: AbortSignal;
  logger?: Logger;
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

/** Validates a user argument: a non-empty label value. */
export function validateUser(user: string | null | undefined): string | undefined {
  if (user == null) return undefined;
  if (user === "") throw new BadUserInputError("user must not be empty; omit it to see every user's objects", "user");
  return validateLabelValue(user, "user");
}

/** Pods of one project, filtered per subscriber, from the shared pod view of that namespace. */
export class PodStreams {
  private readonly settings: StreamSettings;
  private readonly definition: ViewDefinition<Pod>;

  constructor(settings: StreamSettings) {
    this.settings = settings;
    this.definition = podView(settings.userLabel);
  }

  /** Throws BadUserInputError, synchronously, before anything is watched. */
  events(query: PodQuery): AsyncIterableIterator<StreamEvent<Pod>> {
    const { namespace, matches } = this.compile(query);
    const subscription: Subscription<Pod> = {
      lease: this.settings.views.acquire(this.definition, namespace),
      kind: "Pod",
      matches,
      resourceVersion: (pod) => pod.resourceVersion,
    };
    return viewEvents([subscription as Subscription<unknown>], this.settings) as AsyncIterableIterator<StreamEvent<Pod>>;
  }

  /** The matching pods, from the shared view (started and synced on demand). */
  list(query: PodQuery): Promise<Pod[]> {
    const { namespace, matches } = this.compile(query);
    return listView(this.settings, this.definition, namespace, matches);
  }

  private compile(query: PodQuery): { namespace: string; matches: (pod: Pod) => boolean } {
    const namespace = validateProject(query.project);
    const requirements = compileSelector(query.selector);
    const user = validateUser(query.user);
    return { namespace, matches: (pod) => (user === undefined || pod.user === user) && matchesSelector(labelsOf(pod), requirements) };
  }
}
