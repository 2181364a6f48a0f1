import type { ResourceType } from "../kube/types.ts";
import type { AccessCheck, StreamAccess } from "./access.ts";
import type { StreamEvent } from "./stream-event.ts";
import type { StreamSettings } from "./stream-settings.ts";
import { type Subscription, viewEvents } from "./view-events.ts";
import type { ViewDefinition } from "./view-registry.ts";

/** One view a stream reads, with the subscriber's filter. */
export interface StreamPart<M> {
  definition: ViewDefinition<M>;
  kind: string;
  matches: (model: M) => boolean;
  /** Equal for parts whose matches() are equal (the validated filter, serialised). */
  filterKey: string;
  resourceVersion: (model: M) => string;
}

/** Everything the parts read in the namespace, once each. */
export function accessCheck(parts: StreamPart<unknown>[], namespace: string): AccessCheck {
  const byName = new Map<string, ResourceType>();
  for (const part of parts) for (const type of part.definition.resources(namespace)) byName.set(`${type.plural}.${type.group}`, type);
  return { resources: [...byName.values()], namespace };
}

/**
 * Opens a subscriber's stream: authorizes the caller for every resource it reads, takes a slot
 * under the subscription limits, leases the shared views, and re-checks access for as long as the
 * stream lives. Nothing is watched for a caller who may not read it.
 */
export async function openStream(
  settings: StreamSettings,
  access: StreamAccess,
  /** The GraphQL field served, for metrics and logs. */
  field: string,
  namespace: string,
  parts: StreamPart<unknown>[],
): Promise<AsyncIterableIterator<StreamEvent<unknown>>> {
  const check = accessCheck(parts, namespace);
  await access.authorize(check);
  const release = settings.limits.acquire(access.subject);
  const subscriptions: Subscription<unknown>[] = [];
  try {
    for (const part of parts) {
      subscriptions.push({
        lease: settings.views.acquire(part.definition, namespace),
        kind: part.kind,
        matches: part.matches,
        filterKey: part.filterKey,
        resourceVersion: part.resourceVersion,
      });
    }
  } catch (error) {
    // Nothing is held by a stream that could not open.
    for (const subscription of subscriptions) subscription.lease.release();
    release();
    throw error;
  }
  return viewEvents(subscriptions, {
    ...settings,
    field,
    callerLogger: () => access.logger,
    onClose: release,
    guard: settings.recheckIntervalMs > 0 ? { intervalMs: settings.recheckIntervalMs, check: () => access.recheck(check) } : undefined,
  });
}
