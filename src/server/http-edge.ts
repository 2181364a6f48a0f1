import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from "node:http";
import { sendNodeResponse } from "@whatwg-node/server";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { ErrorCode } from "../errors.ts";
import { requestContext } from "../request-context.ts";
import type { StreamAccess } from "../streams/subscribers/access.ts";
import { isRejection, type Rejection } from "./auth/identity.ts";
import { codeForStatus, errorBody, errorContentType, messageForStatus } from "./http-errors.ts";
import type { ReadinessReport } from "./readiness.ts";
import { hasBody, readBody } from "./request-body.ts";
import { directStreamOf } from "./use-shared-sse.ts";
import type { KubesubYoga } from "./yoga.ts";

/**
 * Resolves the caller's access, or undefined when its credentials are missing or not valid (or a
 * Rejection that tells the caller why). requestId is for the lines the caller's streams will log,
 * long after the request itself.
 */
export type RequestAuthenticator = (request: IncomingMessage, requestId: string) => Promise<StreamAccess | Rejection | undefined>;

export interface HttpEdgeOptions {
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
 * kubesub's HTTP edge: node:http in front of yoga, and everything that happens before GraphQL does.
 * - /healthz (the process is alive), /readyz (JSON report) and /metrics need no credentials;
 * - request ids (X-Request-Id, and a requestId on every log line the request causes);
 * - the body limit, applied to bodies however they are framed (request-body.ts);
 * - authentication: a caller without valid credentials gets 401 before any stream opens; GraphiQL's
 *   page itself is static and served to anyone, the operations it sends are not;
 * - what Node's HTTP parser refuses (oversized headers, malformed HTTP, a bad Host or Expect).
 * Every refusal here has the one error shape of http-errors.ts, with a code of src/errors.ts.
 */
export function createHttpEdge({ yoga, readiness, authenticate, maxBodyBytes, metrics, logger }: HttpEdgeOptions): Server {
  // Node's own answer to an HTTP/1.1 request without Host is an empty 400: targetProblem refuses it instead.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    const offered = req.headers["x-request-id"];
    const requestId = typeof offered === "string" && /^[\w.:-]{1,128}$/.test(offered) ? offered : randomUUID();
    requestContext.run({ requestId }, () => serve(req, res, requestId));
  });
  // Requests Node's HTTP parser refuses (headers or URL over 16 KiB, malformed HTTP) get the same
  // error shape as every other refusal instead of an empty answer.
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || error.code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    const body = errorBody([{ message: messageForStatus(status), extensions: { code: codeForStatus(status) } }]);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${errorContentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  // Node's own answer to an Expect other than 100-continue is an empty 417.
  server.on("checkExpectation", (_req, res: ServerResponse) => {
    refuse(res, 417, "EXPECTATION_FAILED", "the only expectation kubesub meets is Expect: 100-continue");
  });
  return server;

  function serve(req: IncomingMessage, res: ServerResponse, requestId: string): void {
    const path = (req.url ?? "/").split("?")[0];
    // Every answer carries the request id. A GraphQL request's is set when it is answered: a
    // direct-path stream writes its headers in one go, so that its response keeps no header map.
    if (path === "/healthz" || path === "/readyz" || path === "/metrics") identify(res, requestId);
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
    const tooLarge = () => {
      // The rest of the body is not read: the connection closes after this answer.
      res.setHeader("connection", "close");
      identify(res, requestId);
      refuse(res, 413, "PAYLOAD_TOO_LARGE", `request bodies are limited to ${maxBodyBytes} bytes`);
    };
    if (Number(req.headers["content-length"] ?? 0) > maxBodyBytes) {
      tooLarge();
      return;
    }
    if (!hasBody(req)) {
      serveGraphql(req, res, requestId);
      return;
    }
    void readBody(req, maxBodyBytes).then((read) => {
      if (read.kind === "too-large") tooLarge();
      else if (read.kind === "aborted") res.destroy();
      else {
        // whatwg-node takes a body that was already read from the request's `body`.
        (req as IncomingMessage & { body?: Buffer }).body = read.body;
        serveGraphql(req, res, requestId);
      }
    });
  }

  function serveGraphql(req: IncomingMessage, res: ServerResponse, requestId: string): void {
    const badTarget = targetProblem(req);
    if (badTarget) {
      identify(res, requestId);
      refuse(res, 400, "BAD_REQUEST", badTarget);
      return;
    }
    if (isGraphiqlPage(req) || req.method === "OPTIONS") {
      identify(res, requestId);
      void yoga(req, res, { access: noAccess });
      return;
    }
    authenticate(req, requestId).then(
      (access) => {
        if (!access || isRejection(access)) {
          identify(res, requestId);
          const message = access ? access.rejected : "a valid bearer token is required (Authorization: Bearer <token>)";
          refuse(res, 401, "UNAUTHENTICATED", message, { "www-authenticate": 'Bearer realm="kubesub"' });
          return;
        }
        respond(req, res, access, requestId);
      },
      (error: unknown) => {
        logger.warn({ err: error }, "cannot validate credentials");
        identify(res, requestId);
        refuse(res, 503, "UNAVAILABLE", "kubesub cannot validate credentials right now; retry shortly");
      },
    );
  }

  /**
   * yoga's answer, written as yoga's server adapter writes it, except for a direct-path event
   * stream (use-shared-sse.ts): its frames are written to the Node response by the stream itself,
   * and the WHATWG Request and Response that yoga made for it are let go, so that an open
   * subscription holds its socket, its Node request and response, and its own small state only.
   */
  function respond(req: IncomingMessage, res: ServerResponse, access: StreamAccess, requestId: string): void {
    // The server adapter listens to the response to abort its Request's signal: those listeners
    // (and the Request they hold) are removed once a direct stream watches the response itself.
    const before = new Set(adapterEvents.flatMap((event) => res.rawListeners(event)));
    Promise.resolve(yoga.handleNodeRequestAndResponse(req, res, { req, res, access }))
      .then((response) => {
        const stream = directStreamOf(response);
        if (!stream) {
          identify(res, requestId);
          return sendNodeResponse(response, res, req, true);
        }
        for (const event of adapterEvents) {
          for (const listener of res.rawListeners(event)) {
            if (!before.has(listener)) res.removeListener(event, listener as (...args: unknown[]) => void);
          }
        }
        // Status and headers in one writeHead, with no setHeader before: the response then keeps
        // only the header block it sent, as a plain node:http SSE server's does.
        const headers: string[] = [];
        for (const [name, value] of response.headers) headers.push(name, value);
        headers.push("x-request-id", requestId);
        res.writeHead(response.status, headers);
        stream.writeTo(req, res);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, "cannot answer a GraphQL request");
        if (!res.headersSent) {
          identify(res, requestId);
          refuse(res, 500, "INTERNAL_SERVER_ERROR", "kubesub could not answer this request");
        } else res.destroy();
      });
  }
}

/** The events whatwg-node's server adapter listens to on a Node response (normalizeNodeRequest). */
const adapterEvents = ["close", "error", "finish"] as const;

/**
 * Why yoga could not serve this request's target, if it could not: yoga's request URL is
 * `http://${Host}${target}`, and a Host that is not a host name (or a target that is not a path,
 * such as `*`) would make it throw, answered with a 500 and a stack trace.
 */
function targetProblem(req: IncomingMessage): string | undefined {
  const host = req.headers.host;
  if (!host && req.httpVersion === "1.1") return "HTTP/1.1 requests need a Host header";
  if (!(req.url ?? "").startsWith("/")) return "the request's target must be a path, such as /graphql";
  if (host && !URL.canParse(`http://${host}${req.url}`)) return "the Host header is not a valid host";
  return undefined;
}

function isGraphiqlPage(req: IncomingMessage): boolean {
  return req.method === "GET" && (req.headers.accept ?? "").includes("text/html") && !(req.url ?? "").includes("query=");
}

function identify(res: ServerResponse, requestId: string): void {
  res.setHeader("x-request-id", requestId);
}

function refuse(res: ServerResponse, status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": errorContentType, ...headers }).end(errorBody([{ message, extensions: { code } }]));
}

/** For GraphiQL's static page and CORS preflights, which run no operation. */
const noAccess: StreamAccess = {
  subject: "",
  authorize: () => Promise.reject(new Error("no operation may run without credentials")),
  recheck: () => Promise.resolve({ code: "UNAUTHENTICATED", message: "no credentials" }),
};
