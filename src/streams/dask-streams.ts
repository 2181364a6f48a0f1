import type { ObjectName } from "../domain/identity.ts";
import { validateObjectName, validateProject } from "../domain/validation.ts";
import { BadUserInputError } from "../errors.ts";
import type { StreamServices } from "./stream-services.ts";
import { type StreamAccess, selectedUser } from "./subscribers/access.ts";
import { findInView } from "./subscribers/find-in-view.ts";
import { listView } from "./subscribers/list-view.ts";
import { openStream } from "./subscribers/open-stream.ts";
import type { Selection } from "./subscribers/selection.ts";
import type { StreamEvent } from "./subscribers/stream-event.ts";
import { type ResumeQuery, resumePoint } from "./views/cursor.ts";
import { type DaskModel, type DaskResource, daskViews } from "./views/dask-views.ts";
import type { ViewDefinition } from "./views/view-registry.ts";

export type { DaskModel, DaskResource };

export interface DaskQuery {
  project: string;
  /** A cluster's name: that cluster and the worker groups, autoscalers and jobs of it. */
  target?: string | null;
  /** Which resources to stream; all four by default. */
  resources?: DaskResource[] | null;
  user?: string | null;
}

const kinds: Record<DaskResource, string> = {
  CLUSTERS: "DaskCluster",
  WORKER_GROUPS: "DaskWorkerGroup",
  AUTOSCALERS: "DaskAutoscaler",
  JOBS: "DaskJob",
};
const allResources: DaskResource[] = ["CLUSTERS", "WORKER_GROUPS", "AUTOSCALERS", "JOBS"];

/** Dask clusters, worker groups, autoscalers and jobs of a project, in one stream. */
export class DaskStreams {
  private readonly services: StreamServices;
  private readonly definitions: Record<DaskResource, ViewDefinition<DaskModel>>;

  constructor(services: StreamServices) {
    this.services = services;
    this.definitions = daskViews(services.userLabel);
  }

  async events(query: DaskQuery & ResumeQuery, access: StreamAccess): Promise<AsyncIterableIterator<StreamEvent<DaskModel>>> {
    const { namespace, resources, matches, filterKey } = compile(query, access);
    const after = resumePoint(query.after, query.lastEventId);
    const selections = resources.map((resource) => this.select(resource, matches, filterKey));
    return (await openStream(
      this.services,
      access,
      "daskEvents",
      namespace,
      selections as Selection<unknown>[],
      after,
    )) as AsyncIterableIterator<StreamEvent<DaskModel>>;
  }

  list<M extends DaskModel>(resource: DaskResource, query: Omit<DaskQuery, "resources">, access: StreamAccess): Promise<M[]> {
    const { namespace, matches, filterKey } = compile(query, access);
    return listView(this.services, access, namespace, this.select(resource, matches, filterKey)) as Promise<M[]>;
  }

  /** The object of this resource and name, or null: see findInView for what null hides. */
  find<M extends DaskModel>(resource: DaskResource, object: ObjectName, access: StreamAccess): Promise<M | null> {
    const { namespace, matches, filterKey } = compile({ project: object.namespace }, access);
    const is = (model: DaskModel) => model.name === object.name;
    return findInView(this.services, access, namespace, this.select(resource, matches, filterKey), is) as Promise<M | null>;
  }

  private select(resource: DaskResource, matches: (model: DaskModel) => boolean, filterKey: string): Selection<DaskModel> {
    return {
      definition: this.definitions[resource],
      kind: kinds[resource],
      matches,
      filterKey,
      resourceVersion: (model) => model.resourceVersion,
    };
  }
}

function compile(
  query: DaskQuery,
  access: StreamAccess,
): {
  namespace: string;
  resources: DaskResource[];
  matches: (model: DaskModel) => boolean;
  filterKey: string;
} {
  const namespace = validateProject(query.project);
  const target = query.target == null ? undefined : validateObjectName(query.target, "target");
  const user = selectedUser(query.user, access);
  const resources = [...new Set(query.resources ?? allResources)];
  if (resources.length === 0)
    throw new BadUserInputError("resources must name at least one Dask resource, or be omitted for all", "resources");
  const clusterOf = (model: DaskModel) => ("cluster" in model ? model.cluster : null);
  return {
    namespace,
    resources,
    filterKey: JSON.stringify([target, user]),
    matches: (model) =>
      (target === undefined || model.name === target || clusterOf(model) === target) &&
      // Every Dask model's user is its owner's: a worker group, autoscaler or job takes its cluster's.
      (user === undefined || model.user === user),
  };
}
