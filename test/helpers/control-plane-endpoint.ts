// A tiny HTTP endpoint through which test files (in vitest's worker processes) ask the global setup
// (vitest's main process, which owns the control-plane processes) to restart, stop, start, pause or
// resume an apiserver. Loopback only, with a random bearer token.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApiServerName, ControlEndpointInfo } from "./control-plane.ts";
import type { LocalControlPlane } from "./control-plane-processes.ts";

export type ApiServerAction = "restart" | "stop" | "kill" | "start" | "pause" | "resume";

export interface ControlEndpoint {
  readonly info: ControlEndpointInfo;
  close(): Promise<void>;
}

/**
 * Serves POST /apiservers/{main|writer}/{restart|stop|kill|start|pause|resume} and POST /reset.
 * Requests run one at a time, in arrival order; each answers once its action is complete (an
 * apiserver that starts answers when its /readyz is 200): 200 {"pid": ...}, or 500 {"error": ...}.
 */
export async function serveControlPlane(plane: LocalControlPlane): Promise<ControlEndpoint> {
  const token = randomBytes(24).toString("hex");
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(action: () => Promise<T>): Promise<T> => {
    const result = queue.then(action);
    queue = result.catch(() => {});
    return result;
  };

  const actions: Record<ApiServerAction, (name: ApiServerName) => Promise<void>> = {
    restart: (name) => plane.restartApiServer(name),
    stop: (name) => plane.stopApiServer(name),
    kill: (name) => plane.killApiServer(name),
    start: (name) => plane.startApiServer(name),
    pause: async (name) => plane.apiServer(name).pause(),
    resume: async (name) => plane.apiServer(name).resume(),
  };

  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return reply(401, { error: "unauthorized" });
    req.resume();
    const match = /^\/apiservers\/(main|writer)\/(restart|stop|kill|start|pause|resume)$/.exec(req.url ?? "");
    let run: (() => Promise<unknown>) | undefined;
    if (req.method === "POST" && match) {
      const name = match[1] as ApiServerName;
      const action = match[2] as ApiServerAction;
      run = async () => {
        await actions[action](name);
        return { pid: plane.apiServer(name).pid ?? null };
      };
    } else if (req.method === "POST" && req.url === "/reset") {
      run = async () => {
        await plane.reset();
        return {};
      };
    }
    if (!run) return reply(404, { error: `no route ${req.method} ${req.url}` });
    serialized(run).then(
      (body) => reply(200, body),
      (error: unknown) => reply(500, { error: error instanceof Error ? error.message : String(error) }),
    );
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    info: { url: `http://127.0.0.1:${port}`, token },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Client side of serveControlPlane; rejects with the endpoint's error message. */
export async function callControlPlane(endpoint: ControlEndpointInfo, path: string, timeoutMs = 90_000): Promise<{ pid?: number | null }> {
  const response = await fetch(`${endpoint.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${endpoint.token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as { pid?: number | null; error?: string };
  if (!response.ok) throw new Error(`control plane ${path}: ${body.error ?? response.status}`);
  return body;
}
