import type { StreamServices } from "../stream-services.ts";
import type { ResumePoint } from "../views/cursor.ts";
import type { StreamAccess } from "./access.ts";
import { accessCheck, type Selection } from "./selection.ts";
import type { StreamEvent } from "./stream-event.ts";
import { type SelectedView, subscriberStream } from "./subscriber-stream.ts";

/**
 * Opens a subscriber's stream: authorizes the caller for every resource it reads, takes a slot
 * under the subscription limits, leases the shared views, and re-checks access for as long as the
 * stream lives. Nothing is watched for a caller who may not read it.
 */
export async function openStream(
  services: StreamServices,
  access: StreamAccess,
  /** The GraphQL field served, for metrics and logs. */
  field: string,
  namespace: string,
  selections: Selection<unknown>[],
  /** Where the client left off, if it did: see subscriberStream. */
  after?: ResumePoint,
): Promise<AsyncIterableIterator<StreamEvent<unknown>>> {
  const check = accessCheck(selections, namespace);
  await access.authorize(check);
  const release = services.limits.acquire(access.subject);
  const selected: SelectedView<unknown>[] = [];
  try {
    for (const selection of selections) selected.push({ selection, lease: services.views.acquire(selection.definition, namespace) });
  } catch (error) {
    // Nothing is held by a stream that could not open.
    for (const { lease } of selected) lease.release();
    release();
    throw error;
  }
  return subscriberStream(selected, {
    ...services,
    field,
    after,
    callerLogger: loggerOf(access),
    onClose: release,
    expiresAt: access.expiresAt,
    guard: services.recheckIntervalMs > 0 ? { intervalMs: services.recheckIntervalMs, check: () => access.recheck(check) } : undefined,
  });
}

/** The caller's logger, read when a stream has something to say: a closure that holds the access alone. */
function loggerOf(access: StreamAccess): () => StreamAccess["logger"] {
  return () => access.logger;
}
