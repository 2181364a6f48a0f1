// The orchestrators' side of the IPC with the processes they fork (run.ts, tenants.ts).
import type { ChildProcess } from "node:child_process";
import type { ServerCommand, ServerStats } from "./protocol.ts";

/** Sends a message (none when empty) and resolves with the child's first reply of that type. */
export function request<M extends { type: string }>(child: ChildProcess, message: object, reply: M["type"]): Promise<M> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: M) => {
      if (m.type !== reply) return;
      child.off("message", onMessage);
      resolve(m);
    };
    child.on("message", onMessage);
    child.once("exit", (code) => reject(new Error(`${child.spawnfile} exited (${code}) while waiting for ${reply}`)));
    if (Object.keys(message).length > 0) child.send(message);
  });
}

/** A server process's memory and CPU, after a garbage collection when gc is true. */
export const stats = (server: ChildProcess, gc: boolean) =>
  request<{ type: "stats" } & ServerStats>(server, { type: "stats", gc } satisfies ServerCommand, "stats");
