// Messages of the multi-tenant benchmark (tenants.ts) on top of protocol.ts's.
import type { TenantsLayout } from "./tenants-layout.ts";

/** Orchestrator -> tenants server: how many changes it stamped in (from, to], and how many of them were routed to a subscriber. */
export type TenantsServerCommand = { type: "counts"; from: number; to: number };
export type TenantsServerMessage = { type: "counts"; changes: number; routed: number };

/** Orchestrator -> tenants load generator. */
export type TenantsLoadCommand =
  | {
      type: "connect";
      url: string;
      layout: TenantsLayout;
      system: "kubesub" | "raw";
      /** A JSON file of each (p, u)'s bearer token under "p.u" (--apiserver: ServiceAccount tokens); default tokenOf's. */
      tokensFile?: string;
    }
  /** Count streams lost from now on. */
  | { type: "measure" }
  /** Deliveries whose stamp lies in (from, to], with their latency. */
  | { type: "report"; from: number; to: number }
  | { type: "exit" };

export type TenantsLoadMessage =
  | {
      type: "connected";
      subscribers: number;
      failed: number;
      /** From the first request to the last subscriber's InitialStateComplete (raw: first ping). */
      ms: number;
    }
  | {
      type: "report";
      deliveries: number;
      /** Frames carrying a change that arrived at a subscriber other than the one it was routed to: must be 0. */
      misrouted: number;
      p50: number;
      p95: number;
      p99: number;
      max: number;
      closed: number;
    };

/** Answers "counts" from a ChangeLog (alongside serveCommands, which ignores this type). */
export function serveCounts(between: (from: number, to: number) => { changes: number; routed: number }): void {
  process.on("message", (command: TenantsServerCommand) => {
    if (command.type !== "counts") return;
    process.send?.({ type: "counts", ...between(command.from, command.to) } satisfies TenantsServerMessage);
  });
}
