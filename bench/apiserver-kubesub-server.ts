// kubesub as the apiserver section of the benchmark runs it: the real server (src/app.ts) on the real
// apiserver through kubeApiSources, as src/main.ts wires it, with the settings of
// bench/kubesub-server.ts. The pods change through apiserver-writer.ts, so "start" and "stop" have
// nothing to do here. Forked by apiserver-baseline.ts (argv: kubeconfig path); speaks the protocol
// in protocol.ts over IPC.
import { KubeConfig, VersionApi } from "@kubernetes/client-node";
import { pino } from "pino";
import { createKubesub } from "../src/app.ts";
import { kubeApiSources } from "../src/kube/kube-api-source.ts";
import type { ServerCommand, ServerMessage } from "./protocol.ts";

const kubeconfigPath = process.argv[2];
if (!kubeconfigPath) throw new Error("usage: apiserver-kubesub-server.ts KUBECONFIG");
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfigPath);
const versions = kubeConfig.makeApiClient(VersionApi);

const app = createKubesub({
  sources: kubeApiSources(kubeConfig),
  probeApiServer: async () => {
    await versions.getCode();
  },
  logger: pino({ level: "warn" }),
  userLabel: "kubesub.io/user",
  ideConventions: ["KUBESUB_LABELS"],
  queueSize: 10_000,
  syncTimeoutMs: 30_000,
  informerLingerMs: 30_000,
  watchInactivityTimeoutMs: 90_000,
  retryMaxMs: 30_000,
  shutdownTimeoutMs: 5_000,
  auth: { mode: "none" },
  security: {
    recheckIntervalMs: 0,
    maxSubscriptions: 100_000,
    maxSubscriptionsPerIdentity: 100_000,
    maxBodyBytes: 65_536,
    limits: { maxDepth: 10, maxAliases: 15, maxTokens: 2_000, maxCost: 5_000 },
    graphiql: false,
    introspection: true,
    corsOrigins: [],
  },
});

const send = (message: ServerMessage) => process.send?.(message);
process.on("message", (command: ServerCommand) => {
  switch (command.type) {
    case "start":
      return;
    case "stop":
      send({ type: "stopped", emitted: 0 });
      return;
    case "stats": {
      if (command.gc) globalThis.gc?.();
      const { user, system } = process.cpuUsage();
      send({
        type: "stats",
        rssBytes: process.memoryUsage.rss(),
        heapUsedBytes: process.memoryUsage().heapUsed,
        cpuSeconds: (user + system) / 1e6,
      });
      return;
    }
    case "exit":
      void app.shutdown().finally(() => process.exit(0));
      return;
  }
});
process.on("disconnect", () => process.exit(0));

const address = await app.listen(0, "127.0.0.1");
send({ type: "ready", port: address.port });
