import { SourceUnavailableError } from "../errors.ts";
import type { StreamSettings } from "./pod-streams.ts";
import type { UnavailableSource } from "./view.ts";
import type { ViewDefinition } from "./view-registry.ts";

/**
 * Answers a query from a shared view: waits (up to the sync timeout) for its sources, then filters
 * the current models. A missing source that the answer needs is a SOURCE_UNAVAILABLE error naming it;
 * one it can do without (isRequired false) only narrows the answer.
 */
export async function listView<M>(
  settings: StreamSettings,
  definition: ViewDefinition<M>,
  namespace: string,
  matches: (model: M) => boolean,
  isRequired: (source: UnavailableSource) => boolean = () => true,
): Promise<M[]> {
  const lease = settings.views.acquire(definition, namespace);
  try {
    await lease.view.settle(AbortSignal.timeout(settings.syncTimeoutMs));
    const missing = lease.view.unavailable().find(isRequired);
    if (missing) throw new SourceUnavailableError(missing.message);
    return lease.view.list().filter(matches);
  } finally {
    lease.release();
  }
}
