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

/** /readyz: the apiserver answers, and every informer that somebody uses has synced. */
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
    .map((entry) => ({ name: entry.key, synced: entry.informer.hasSynced, subscribers: entry.references }));
  return { ready: apiserver === "ok" && informers.every((i) => i.synced), apiserver, informers };
}
