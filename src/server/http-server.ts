import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { requestContext } from "../request-context.ts";
import type { StreamAccess } from "../streams/access.ts";
import type { ReadinessReport } from "./readiness.ts";
import type { KubesubYoga } from "./yoga.ts";

/**
 * Resolves the caller's access, or undefined when its credentials are missing or not valid.
 * requestId is for the lines the caller's streams will log, long after the request itself.
 */
export type RequestAuthenticator = (request: IncomingMessage, requestId: string) => Promise<StreamAccess | undefined>;

export interface HttpServerOptions {
  yoga: KubesubYoga;
  readiness: () => Promise<ReadinessReport>;
  authenticate: RequestAuthenticator;
  /** Larger request bodies are refused with 413. */
  maxBodyBytes: number;
  /** Served at /metrics, without credentials (scrape it from inside the cluster only). */
  metrics: Registry;
  logger: Logger;
}

/**
 * node:http in front of yoga: /healthz (the process is alive) and /readyz need no credentials;
 * everything GraphQL does, and a caller without valid ones gets 401 before any stream opens.
 * GraphiQL's page itself is static and served to anyone; the operations it sends are not.
 */
export function createHttpServer({ yoga, readiness, authenticate, maxBodyBytes, metrics, logger }: HttpServerOptions): Server {
  return createServer((req, res) => {
    const offered = req.headers["x-request-id"];
    const requestId = typeof offered === "string" && /^[\w.:-]{1,128}$/.test(offered) ? offered : randomUUID();
    res.setHeader("x-request-id", requestId);
    requestContext.run({ requestId }, () => serve(req, res, requestId));
  });

  function serve(req: IncomingMessage, res: ServerResponse, requestId: string): void {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    if (path === "/readyz") {
      readiness().then(
        (report) => res.writeHead(report.ready ? 200 : 503, { "content-type": "application/json" }).end(`${JSON.stringify(report)}\n`),
        (error: unknown) => res.writeHead(503, { "content-type": "text/plain" }).end(`${String(error)}\n`),
      );
      return;
    }
    if (path === "/metrics") {
      metrics.metrics().then(
        (text) => res.writeHead(200, { "content-type": metrics.contentType }).end(text),
        (error: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
      );
      return;
    }
    if (Number(req.headers["content-length"] ?? 0) > maxBodyBytes) {
      refuse(res, 413, "PAYLOAD_TOO_LARGE", `request bodies are limited to ${maxBodyBytes} bytes`);
      return;
    }
    if (isGraphiqlPage(req) || req.method === "OPTIONS") {
      void yoga(req, res, { access: noAccess });
      return;
    }
    authenticate(req, requestId).then(
      (access) => {
        if (!access) {
          refuse(res, 401, "UNAUTHENTICATED", "a valid bearer token is required (Authorization: Bearer <token>)", {
            "www-authenticate": 'Bearer realm="kubesub"',
          });
          return;
        }
        void yoga(req, res, { access });
      },
      (error: unknown) => {
        logger.warn({ err: error }, "cannot validate credentials");
        refuse(res, 503, "UNAVAILABLE", "kubesub cannot validate credentials right now; retry shortly");
      },
    );
  }
}

function isGraphiqlPage(req: IncomingMessage): boolean {
  return req.method === "GET" && (req.headers.accept ?? "").includes("text/html") && !(req.url ?? "").includes("query=");
}

function refuse(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  res
    .writeHead(status, { "content-type": "application/json", ...headers })
    .end(`${JSON.stringify({ errors: [{ message, extensions: { code } }] })}\n`);
}

/** For GraphiQL's static page and CORS preflights, which run no operation. */
const noAccess: StreamAccess = {
  subject: "",
  authorize: () => Promise.reject(new Error("no operation may run without credentials")),
  recheck: () => Promise.resolve({ code: "UNAUTHENTICATED", message: "no credentials" }),
};
