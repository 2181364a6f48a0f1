import { deadline } from "../../clock.ts";
import { SourceUnavailableError } from "../../errors.ts";
import type { StreamServices } from "../stream-services.ts";
import type { UnavailableSource } from "../views/view.ts";
import type { StreamAccess } from "./access.ts";
import { accessCheck, type Selection } from "./selection.ts";

/**
 * Answers a query from a shared view: authorizes the caller, waits (up to the sync timeout) for
 * the view's sources, then filters the current models. A missing source that the answer needs is a
 * SOURCE_UNAVAILABLE error naming it; one it can do without (isRequired false) only narrows it.
 */
export async function listView<M>(
  services: StreamServices,
  access: StreamAccess,
  namespace: string,
  selection: Selection<M>,
  isRequired: (source: UnavailableSource) => boolean = () => true,
): Promise<M[]> {
  await access.authorize(accessCheck([selection as Selection<unknown>], namespace));
  const lease = services.views.acquire(selection.definition, namespace);
  const waiting = deadline(services.clock, services.syncTimeoutMs);
  try {
    await lease.view.settle(waiting.signal);
    const missing = lease.view.unavailable().find(isRequired);
    if (missing) throw new SourceUnavailableError(missing.message);
    return lease.view.list().filter(selection.matches);
  } finally {
    waiting.cancel();
    lease.release();
  }
}
