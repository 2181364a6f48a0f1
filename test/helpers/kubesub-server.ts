import { type Logger, pino } from "pino";
import { createKubesub, type Kubesub } from "../../src/app.ts";
import type { SourceFactory } from "../../src/kube/informer-registry.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { defaultOptions, type KubesubOverrides } from "../../src/options.ts";
import { testSettings } from "./settings.ts";

export interface RunningKubesub {
  app: Kubesub;
  /** http://127.0.0.1:PORT */
  origin: string;
  close(): Promise<void>;
}

/**
 * Starts the real kubesub server on a loopback port (ephemeral unless given: a restart on the same
 * port is what clients see of a rolling upgrade) over the given sources, without authentication,
 * with kubesub's defaults, the test settings (./settings.ts) and then the overrides (security field
 * by field).
 */
export async function startKubesub(sources: SourceFactory, overrides: KubesubOverrides = {}, port = 0): Promise<RunningKubesub> {
  const logger: Logger = overrides.logger ?? pino({ level: process.env.KUBESUB_TEST_LOG_LEVEL ?? "silent" });
  const app = createKubesub(
    defaultOptions({
      ...testSettings,
      ...overrides,
      sources,
      logger,
      auth: overrides.auth ?? { mode: "none" },
      security: { ...testSettings.security, ...overrides.security },
    }),
  );
  const address = await app.listen(port, "127.0.0.1");
  return { app, origin: `http://127.0.0.1:${address.port}`, close: () => app.shutdown() };
}

/** kubesub over a fresh in-memory cluster, for integration tests of the server itself. */
export async function startOnMemoryCluster(overrides: KubesubOverrides = {}): Promise<RunningKubesub & { cluster: MemoryCluster }> {
  const cluster = new MemoryCluster();
  const running = await startKubesub((type, namespace) => cluster.source(type, namespace), overrides);
  return { ...running, cluster };
}
