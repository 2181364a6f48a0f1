import type { Logger } from "pino";
import type { InformerRegistry } from "../kube/informer-registry.ts";
import type { Delta } from "../kube/store.ts";
import type { KubeObject, ResourceType } from "../kube/types.ts";
import type { StreamErrorCode, StreamEvent } from "./stream-event.ts";
import { SubscriberQueue } from "./subscriber-queue.ts";

export interface ObjectEventsOptions<K extends KubeObject, M> {
  registry: InformerRegistry;
  resource: ResourceType;
  namespace: string;
  /** Whether a Kubernetes object belongs in this subscriber's view. Must be pure. */
  matches: (object: K) => boolean;
  /** Projects a Kubernetes object onto the model the subscriber receives. */
  project: (object: K) => M;
  /** Fields of the model that differ; an update with none is not sent. */
  diff: (previous: M, next: M) => string[];
  /** Live events buffered for a slow subscriber before its stream ends with OVERFLOW. */
  queueCapacity: number;
  /** How long to wait for the informer's first sync before ending with SOURCE_UNAVAILABLE. */
  syncTimeoutMs: number;
  /** Aborted when kubesub shuts down: the stream ends with SHUTTING_DOWN. */
  shutdown: AbortSignal;
  logger?: Logger;
  /** Time source for observedAt. Default: new Date(). */
  now?: () => Date;
}

/**
 * A subscriber's stream of one resource in one namespace: the matching objects, the
 * initial-state-complete marker, then every change that concerns the subscriber, in order.
 *
 * An object whose change makes it match is sent as "added" (cause FILTER_CHANGE); one that stops
 * matching as "deleted" (cause FILTER_CHANGE). The stream holds a lease on the shared informer
 * and releases it when it ends, whichever way it ends.
 */
export function objectEvents<K extends KubeObject, M>(options: ObjectEventsOptions<K, M>): AsyncIterableIterator<StreamEvent<M>> {
  const { matches, project, diff } = options;
  const now = options.now ?? (() => new Date());
  const lease = options.registry.acquire<K>(options.resource, options.namespace);
  const informer = lease.informer;
  const stop = new AbortController();
  let detach: (() => void) | undefined;

  const queue = new SubscriberQueue<StreamEvent<M>>({
    capacity: options.queueCapacity,
    onClose: () => {
      stop.abort();
      detach?.();
      options.shutdown.removeEventListener("abort", onShutdown);
      lease.release();
    },
  });
  const errorEvent = (code: StreamErrorCode, message: string, retryable: boolean): StreamEvent<M> => ({
    type: "error",
    code,
    message,
    retryable,
    observedAt: now().toISOString(),
  });
  const onShutdown = () => queue.end(errorEvent("SHUTTING_DOWN", "kubesub is shutting down; reconnect", true));
  options.shutdown.addEventListener("abort", onShutdown, { once: true });
  if (options.shutdown.aborted) onShutdown();

  const toEvent = (delta: Delta<K>): StreamEvent<M> | undefined => {
    const observedAt = now().toISOString();
    const resourceVersion = delta.object.metadata?.resourceVersion ?? "";
    const cause = "CLUSTER_CHANGE" as const;
    switch (delta.type) {
      case "added":
        return matches(delta.object) ? { type: "added", object: project(delta.object), cause, resourceVersion, observedAt } : undefined;
      case "deleted":
        return matches(delta.object) ? { type: "deleted", object: project(delta.object), cause, resourceVersion, observedAt } : undefined;
      case "updated": {
        const was = matches(delta.old);
        const is = matches(delta.object);
        if (!was && !is) return undefined;
        const object = project(delta.object);
        if (!was) return { type: "added", object, cause: "FILTER_CHANGE", resourceVersion, observedAt };
        if (!is) return { type: "deleted", object, cause: "FILTER_CHANGE", resourceVersion, observedAt };
        const previous = project(delta.old);
        const changedFields = diff(previous, object);
        return changedFields.length > 0 ? { type: "updated", object, previous, changedFields, resourceVersion, observedAt } : undefined;
      }
    }
  };

  const start = async () => {
    const deadline = AbortSignal.timeout(options.syncTimeoutMs);
    try {
      await informer.waitForSync(AbortSignal.any([stop.signal, deadline]));
    } catch (error) {
      if (stop.signal.aborted) return;
      const cause = deadline.aborted ? informer.status.lastError : error;
      const reason = cause instanceof Error ? cause.message : "not synced in time";
      options.logger?.warn({ err: cause, informer: informer.description }, "stream could not start");
      queue.end(errorEvent("SOURCE_UNAVAILABLE", `cannot read ${informer.description}: ${reason}`, true));
      return;
    }
    if (queue.isClosed) return;
    // Snapshot and handler registration happen in one synchronous turn: no delta falls between.
    const observedAt = now().toISOString();
    const initial: StreamEvent<M>[] = [];
    for (const object of informer.list()) {
      if (!matches(object)) continue;
      const resourceVersion = object.metadata?.resourceVersion ?? "";
      initial.push({ type: "added", object: project(object), cause: "INITIAL_STATE", resourceVersion, observedAt });
    }
    const resourceVersion = informer.status.resourceVersion ?? "";
    initial.push({ type: "initial-state-complete", count: initial.length, resourceVersion, observedAt });
    queue.pushInitial(initial);
    detach = informer.addHandler((delta) => {
      const event = toEvent(delta);
      if (event && !queue.push(event)) {
        options.logger?.warn({ informer: informer.description, depth: queue.depth }, "subscriber queue overflowed; ending its stream");
        queue.fail(
          errorEvent(
            "OVERFLOW",
            `the subscriber fell more than ${options.queueCapacity} events behind; reconnect to receive a fresh initial state`,
            true,
          ),
        );
      }
    });
  };
  void start();
  return queue;
}
