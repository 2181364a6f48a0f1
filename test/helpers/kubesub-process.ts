// kubesub as an operator runs it: its own process (`node src/main.ts`), so that what the process
// holds (its TCP connections to the apiserver) can be counted from /proc, apart from the test's own.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { KubeConfig } from "@kubernetes/client-node";

const main = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

export interface KubesubProcess {
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  readonly pid: number;
  /** ESTABLISHED TCP connections this process holds to the given port (the apiserver's). */
  connectionsTo(port: number): number;
  /** SIGTERM, then resolves once the process has exited. */
  stop(): Promise<void>;
}

/** Starts `node src/main.ts --kubeconfig <kubeConfig> --port 0 ...args` and waits until it serves. */
export async function startKubesubProcess(kubeConfig: KubeConfig, args: string[], timeoutMs = 30_000): Promise<KubesubProcess> {
  const dir = mkdtempSync(join(tmpdir(), "kubesub-process-"));
  const kubeconfigPath = join(dir, "kubeconfig");
  writeFileSync(kubeconfigPath, kubeConfig.exportConfig());
  const child = spawn(process.execPath, [main, "--kubeconfig", kubeconfigPath, "--port", "0", "--host", "127.0.0.1", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubesub did not serve within ${timeoutMs} ms`)), timeoutMs);
    child.once("exit", (code) => reject(new Error(`kubesub exited with ${code} before serving`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const graphiql = (JSON.parse(line) as { graphiql?: string }).graphiql;
      if (graphiql) {
        clearTimeout(timer);
        resolve(new URL(graphiql).origin);
      }
    });
  });
  return {
    origin,
    pid: child.pid as number,
    connectionsTo: (port) => establishedConnections(child, port),
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Counts, from /proc, the process's sockets that are ESTABLISHED TCP connections to a remote port. */
function establishedConnections(child: ChildProcess, port: number): number {
  const pid = child.pid as number;
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // The descriptor closed while being read.
    }
  }
  const remotePort = port.toString(16).toUpperCase().padStart(4, "0");
  let count = 0;
  for (const table of ["tcp", "tcp6"]) {
    const lines = readFileSync(`/proc/${pid}/net/${table}`, "utf8").trim().split("\n").slice(1);
    for (const line of lines) {
      const [, , remote, state, , , , , , inode] = line.trim().split(/\s+/);
      if (state === "01" && remote?.endsWith(`:${remotePort}`) && inode && inodes.has(inode)) count += 1;
    }
  }
  return count;
}
