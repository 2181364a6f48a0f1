// What every server the benchmark forks shares: kubesub's benchmark settings, and the answers to
// the orchestrator's commands (protocol.ts) over IPC.
import { pino } from "pino";
import { defaultOptions, type KubesubOptions } from "../src/options.ts";
import type { ServerCommand, ServerMessage } from "./protocol.ts";

/** kubesub as the benchmark runs it: no auth, no limits in the way, quiet logs; otherwise its defaults. */
export function benchKubesubOptions(
  sources: KubesubOptions["sources"],
  probeApiServer: () => Promise<void> = async () => {},
): KubesubOptions {
  return defaultOptions({
    sources,
    probeApiServer,
    logger: pino({ level: "warn" }),
    auth: { mode: "none" },
    ideConventions: ["KUBESUB_LABELS"],
    queueSize: 10_000,
    shutdownTimeoutMs: 5_000,
    security: { recheckIntervalMs: 0, maxSubscriptions: 100_000, maxSubscriptionsPerIdentity: 100_000, graphiql: false },
  });
}

export const send = (message: ServerMessage) => process.send?.(message);

/**
 * Answers the orchestrator: start and stop the changes (start returns nothing; stop returns how
 * many changes were made), stats of this process, and exit after close().
 */
export function serveCommands(handlers: { start(rate: number): void; stop(): number; close(): Promise<void> }): void {
  process.on("message", (command: ServerCommand) => {
    switch (command.type) {
      case "start":
        handlers.start(command.rate);
        return;
      case "stop":
        send({ type: "stopped", emitted: handlers.stop() });
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
        handlers.stop();
        void handlers.close().finally(() => process.exit(0));
        return;
    }
  });
  process.on("disconnect", () => process.exit(0));
}
