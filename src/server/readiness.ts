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
 * /readyz: the apiserver answers, and every informer that somebody uses has synced. The namespaces
 * informer counts as synced when kubesub may not list namespaces (per-namespace Roles): streams
 * then go on without being told of their namespace's deletion.
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
      synced: entry.informer.hasSynced || (entry.type.clusterScoped === true && isPermanent(entry.informer.status.lastError)),
      subscribers: entry.references,
    }));
  return { ready: apiserver === "ok" && informers.every((i) => i.synced), apiserver, informers };
}
