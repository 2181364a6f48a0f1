import { deadline } from "../clock.ts";
import { SourceUnavailableError } from "../errors.ts";
import type { StreamAccess } from "./access.ts";
import { accessCheck, type StreamPart } from "./open-stream.ts";
import type { StreamSettings } from "./stream-settings.ts";
import type { UnavailableSource } from "./view.ts";

/**
 * Answers a query from a shared view: authorizes the caller, waits (up to the sync timeout) for
 * the view's sources, then filters the current models. A missing source that the answer needs is a
 * SOURCE_UNAVAILABLE error naming it; one it can do without (isRequired false) only narrows it.
 */
export async function listView<M>(
  settings: StreamSettings,
  access: StreamAccess,
  namespace: string,
  part: StreamPart<M>,
  isRequired: (source: UnavailableSource) => boolean = () => true,
): Promise<M[]> {
  await access.authorize(accessCheck([part as StreamPart<unknown>], namespace));
  const lease = settings.views.acquire(part.definition, namespace);
  const waiting = deadline(settings.clock, settings.syncTimeoutMs);
  try {
    await lease.view.settle(waiting.signal);
    const missing = lease.view.unavailable().find(isRequired);
    if (missing) throw new SourceUnavailableError(missing.message);
    return lease.view.list().filter(part.matches);
  } finally {
    waiting.cancel();
    lease.release();
  }
}
