import type { ObjectName } from "../domain/identity.ts";
import { compileSelector, type LabelSelector, matchesSelector } from "../domain/label-selector.ts";
import { labelsOf, type Pod } from "../domain/pod.ts";
import { validateProject } from "../domain/validation.ts";
import type { StreamServices } from "./stream-services.ts";
import { type StreamAccess, selectedUser } from "./subscribers/access.ts";
import { findInView } from "./subscribers/find-in-view.ts";
import { listView } from "./subscribers/list-view.ts";
import { openStream } from "./subscribers/open-stream.ts";
import type { Selection } from "./subscribers/selection.ts";
import type { StreamEvent } from "./subscribers/stream-event.ts";
import { type ResumeQuery, resumePoint } from "./views/cursor.ts";
import { podView } from "./views/pod-view.ts";
import type { ViewDefinition } from "./views/view-registry.ts";

export interface PodQuery {
  project: string;
  user?: string | null;
  selector?: LabelSelector | null;
}

/** Pods of one project, filtered per subscriber, from the shared pod view of that namespace. */
export class PodStreams {
  private readonly services: StreamServices;
  private readonly definition: ViewDefinition<Pod>;

  constructor(services: StreamServices) {
    this.services = services;
    this.definition = podView(services.userLabel);
  }

  /** Rejects with BAD_USER_INPUT before anything is checked or watched, then FORBIDDEN if so. */
  async events(query: PodQuery & ResumeQuery, access: StreamAccess): Promise<AsyncIterableIterator<StreamEvent<Pod>>> {
    const { namespace, selection } = this.compile(query, access);
    const after = resumePoint(query.after, query.lastEventId);
    return (await openStream(
      this.services,
      access,
      "podEvents",
      namespace,
      [selection as Selection<unknown>],
      after,
    )) as AsyncIterableIterator<StreamEvent<Pod>>;
  }

  /** The matching pods, from the shared view (started and synced on demand). */
  list(query: PodQuery, access: StreamAccess): Promise<Pod[]> {
    const { namespace, selection } = this.compile(query, access);
    return listView(this.services, access, namespace, selection);
  }

  /** The pod of this name, or null: see findInView for what null hides. */
  find(pod: ObjectName, access: StreamAccess): Promise<Pod | null> {
    const { namespace, selection } = this.compile({ project: pod.namespace }, access);
    return findInView(this.services, access, namespace, selection, (candidate) => candidate.name === pod.name);
  }

  private compile(query: PodQuery, access: StreamAccess): { namespace: string; selection: Selection<Pod> } {
    const namespace = validateProject(query.project);
    const requirements = compileSelector(query.selector);
    const user = selectedUser(query.user, access);
    return {
      namespace,
      selection: {
        definition: this.definition,
        kind: "Pod",
        // Without a selector, no pod's labels are turned into a map (labelsOf keeps one per pod).
        matches: (pod) =>
          (user === undefined || pod.user === user) && (requirements.length === 0 || matchesSelector(labelsOf(pod), requirements)),
        filterKey: JSON.stringify([user, requirements]),
        resourceVersion: (pod) => pod.resourceVersion,
      },
    };
  }
}
