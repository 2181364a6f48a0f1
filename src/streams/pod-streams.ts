import type { Logger } from "pino";
import { changedFields } from "../domain/changed-fields.ts";
import { compileSelector, type LabelSelector, matchesSelector } from "../domain/label-selector.ts";
import { type KubePod, type Pod, toPod } from "../domain/pod.ts";
import { validateLabelValue, validateProject } from "../domain/validation.ts";
import { BadUserInputError, SourceUnavailableError } from "../errors.ts";
import type { InformerRegistry } from "../kube/informer-registry.ts";
import { podResource } from "../kube/resources.ts";
import { objectEvents } from "./object-events.ts";
import type { StreamEvent } from "./stream-event.ts";

export interface PodQuery {
  project: string;
  user?: string | null;
  selector?: LabelSelector | null;
}

export interface StreamSettings {
  registry: InformerRegistry;
  /** Pod label that names the owning user. */
  userLabel: string;
  queueCapacity: number;
  syncTimeoutMs: number;
  shutdown: AbortSignal;
  logger?: Logger;
}

/** Pods of one project, filtered per subscriber, from the shared pod informer of that namespace. */
export class PodStreams {
  private readonly settings: StreamSettings;

  constructor(settings: StreamSettings) {
    this.settings = settings;
  }

  /** Throws BadUserInputError, synchronously, before anything is watched. */
  events(query: PodQuery): AsyncIterableIterator<StreamEvent<Pod>> {
    const { namespace, matches } = this.compile(query);
    const { userLabel } = this.settings;
    return objectEvents<KubePod, Pod>({
      ...this.settings,
      resource: podResource,
      namespace,
      matches,
      project: (pod) => toPod(pod, userLabel),
      diff: (previous, next) => changedFields(previous, next, ["resourceVersion"]),
    });
  }

  /** The matching pods in the informer's cache (started and synced on demand). */
  async list(query: PodQuery): Promise<Pod[]> {
    const { namespace, matches } = this.compile(query);
    const lease = this.settings.registry.acquire<KubePod>(podResource, namespace);
    try {
      await lease.informer.waitForSync(AbortSignal.timeout(this.settings.syncTimeoutMs)).catch((error: unknown) => {
        const cause = lease.informer.status.lastError ?? error;
        const reason = cause instanceof Error ? cause.message : "not synced in time";
        throw new SourceUnavailableError(`cannot read ${lease.informer.description}: ${reason}`);
      });
      return lease.informer
        .list()
        .filter(matches)
        .map((pod) => toPod(pod, this.settings.userLabel));
    } finally {
      lease.release();
    }
  }

  private compile(query: PodQuery): { namespace: string; matches: (pod: KubePod) => boolean } {
    const namespace = validateProject(query.project);
    const requirements = compileSelector(query.selector);
    if (query.user != null) {
      if (query.user === "") throw new BadUserInputError("user must not be empty; omit it to see every user's pods", "user");
      validateLabelValue(query.user, "user");
      requirements.push({ key: this.settings.userLabel, operator: "IN", values: [query.user] });
    }
    return { namespace, matches: (pod) => matchesSelector(pod.metadata?.labels, requirements) };
  }
}
