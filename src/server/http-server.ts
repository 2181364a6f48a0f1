import { createServer, type Server } from "node:http";
import type { YogaServerInstance } from "graphql-yoga";
import type { Context } from "../schema/context.ts";
import type { ReadinessReport } from "./readiness.ts";

export interface HttpServerOptions {
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  readiness: () => Promise<ReadinessReport>;
}

/** node:http in front of yoga: /healthz (the process is alive), /readyz, then GraphQL. */
export function createHttpServer({ yoga, readiness }: HttpServerOptions): Server {
  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    if (path === "/readyz") {
      readiness().then(
        (report) => {
          res.writeHead(report.ready ? 200 : 503, { "content-type": "application/json" }).end(`${JSON.stringify(report)}\n`);
        },
        (error: unknown) => res.writeHead(503, { "content-type": "text/plain" }).end(`${String(error)}\n`),
      );
      return;
    }
    void yoga(req, res);
  });
}
