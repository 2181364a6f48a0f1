import type { ResourceType } from "../../kube/types.ts";
import type { ViewDefinition } from "../views/view-registry.ts";
import type { AccessCheck } from "./access.ts";

/**
 * What a subscriber (or a query) asked for from one kind of view: which view, how its events are
 * tagged, and which of its models: the validated filter, as a predicate and as a key. Made by
 * PodStreams, IdeStreams and DaskStreams from a query's arguments; read by openStream, listView,
 * the subscriber's stream and the shared feeds.
 */
export interface Selection<M> {
  definition: ViewDefinition<M>;
  /** Tags every event of this view: the union member it resolves to ("Pod", "DaskJob"...). */
  kind: string;
  /** Whether a model belongs in the answer. Must be pure. */
  matches: (model: M) => boolean;
  /** Equal for selections whose matches() are equal (the validated filter, serialised): they then share one feed. */
  filterKey: string;
  resourceVersion: (model: M) => string;
}

/** Everything the selections read in the namespace, once each: what the caller must be allowed to list and watch. */
export function accessCheck(selections: readonly Selection<unknown>[], namespace: string): AccessCheck {
  const byName = new Map<string, ResourceType>();
  for (const selection of selections) {
    for (const type of selection.definition.resources(namespace)) byName.set(`${type.plural}.${type.group}`, type);
  }
  return { resources: [...byName.values()], namespace };
}
