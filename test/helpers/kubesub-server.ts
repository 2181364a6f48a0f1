import { type Logger, pino } from "pino";
import { createKubesub, type Kubesub, type KubesubOptions } from "../../src/app.ts";
import type { SourceFactory } from "../../src/kube/informer-registry.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";

export const userLabel = "kubesub.io/user";

export interface RunningKubesub {
  app: Kubesub;
  /** http://127.0.0.1:PORT */
  origin: string;
  close(): Promise<void>;
}

/**
 * Starts the real kubesub server on a loopback port (ephemeral unless given: a restart on the same
 * port is what clients see of a rolling upgrade) over the given sources.
 */
export async function startKubesub(sources: SourceFactory, overrides: Partial<KubesubOptions> = {}, port = 0): Promise<RunningKubesub> {
  const logger: Logger = overrides.logger ?? pino({ level: process.env.KUBESUB_TEST_LOG_LEVEL ?? "silent" });
  const app = createKubesub({
    sources,
    probeApiServer: async () => {},
    logger,
    userLabel,
    ideConventions: ["KUBESUB_LABELS", "KUBEFLOW_NOTEBOOK", "JUPYTERHUB"],
    queueSize: 1000,
    syncTimeoutMs: 5_000,
    informerLingerMs: 60_000,
    watchInactivityTimeoutMs: 90_000,
    retryMaxMs: 1_000,
    auth: { mode: "none" },
    security: {
      recheckIntervalMs: 0,
      maxSubscriptions: 20_000,
      maxSubscriptionsPerIdentity: 1_000,
      maxBodyBytes: 65_536,
      limits: { maxDepth: 10, maxAliases: 15, maxTokens: 2_000, maxCost: 5_000 },
      graphiql: true,
      introspection: true,
      corsOrigins: [],
    },
    shutdownTimeoutMs: 2_000,
    ...overrides,
  });
  const address = await app.listen(port, "127.0.0.1");
  return { app, origin: `http://127.0.0.1:${address.port}`, close: () => app.shutdown() };
}

/** kubesub over a fresh in-memory cluster, for integration tests of the server itself. */
export async function startOnMemoryCluster(overrides: Partial<KubesubOptions> = {}): Promise<RunningKubesub & { cluster: MemoryCluster }> {
  const cluster = new MemoryCluster();
  const running = await startKubesub((type, namespace) => cluster.source(type, namespace), overrides);
  return { ...running, cluster };
}
