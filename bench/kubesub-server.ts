// kubesub as the benchmark runs it: the real server (src/app.ts) over an in-memory cluster whose
// pods the orchestrator asks to change at a fixed rate, each change stamped with its time.
// Forked by run.ts; speaks the protocol in protocol.ts over IPC.
import { pino } from "pino";
import { createKubesub } from "../src/app.ts";
import type { KubePod } from "../src/domain/pod.ts";
import { MemoryCluster } from "../src/kube/memory-cluster.ts";
import { podResource } from "../src/kube/resources.ts";
import { benchProject, type ServerCommand, type ServerMessage, stampLabel } from "./protocol.ts";
import { Ticker } from "./ticker.ts";

const pods = 20;
const cluster = new MemoryCluster();
cluster.historyLimit = 1_000;
for (let i = 0; i < pods; i += 1) {
  cluster.create<KubePod>(podResource, {
    metadata: { name: `bench-${i}`, namespace: benchProject, labels: { app: "bench", [stampLabel]: "0" } },
    status: { phase: "Running" },
  });
}

const app = createKubesub({
  sources: (type, namespace) => cluster.source(type, namespace),
  probeApiServer: async () => {},
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

let serial = 0;
const ticker = new Ticker(() => {
  serial += 1;
  const name = `bench-${serial % pods}`;
  cluster.update<KubePod>(podResource, benchProject, name, (pod) => {
    pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, [stampLabel]: String(Date.now()) } };
  });
});

const send = (message: ServerMessage) => process.send?.(message);
process.on("message", (command: ServerCommand) => {
  switch (command.type) {
    case "start":
      ticker.start(command.rate);
      return;
    case "stop":
      send({ type: "stopped", emitted: ticker.stop() });
      return;
    case "stats":
      if (command.gc) globalThis.gc?.();
      send({ type: "stats", rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed, cpuSeconds: cpuSeconds() });
      return;
    case "exit":
      ticker.stop();
      void app.shutdown().finally(() => process.exit(0));
      return;
  }
});

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

const address = await app.listen(0, "127.0.0.1");
send({ type: "ready", port: address.port });
