import { isPermanent } from "../kube/errors.ts";
import type { InformerRegistry } from "../kube/informer-registry.ts";

export interface ReadinessReport {
  ready: boolean;
  apiserver: "ok" | string;
  informers: { name: string; synced: boolean; subscribers: number }[];
}

export interface ReadinessOptions {
  registry: InformerRegistry;
  /** Resolves when the apiserver answers; rejects with the reason otherwise. */
  probeApiServer: () => Promise<void>;
}

/**
 * /readyz: the apiserver answers, and every informer that somebody uses (in cluster scope: every
 * informer, from the start) has synced, or failed for good: a resource not installed, or one kubesub
 * may not read (the namespaces informer under per-namespace Roles: streams then go on without being
 * told of their namespace's deletion).
 */
export async function checkReadiness({ registry, probeApiServer }: ReadinessOptions): Promise<ReadinessReport> {
  let apiserver = "ok";
  try {
    await probeApiServer();
  } catch (error) {
    apiserver = error instanceof Error ? error.message : String(error);
  }
  const informers = registry
    .snapshot()
    .filter((entry) => entry.references > 0)
    .map((entry) => ({
      name: entry.key,
      // A resource that is not installed, or that kubesub may not read, is told to each stream that
      // reads it (ResourceUnavailable); it does not keep the replica from serving the others.
      synced: entry.informer.hasSynced || isPermanent(entry.informer.status.lastError),
      subscribers: entry.references,
    }));
  return { ready: apiserver === "ok" && informers.every((i) => i.synced), apiserver, informers };
}
