// One address in front of several kubesub replicas, balancing each HTTP request (not each TCP
// connection, as tcp-proxy.ts does): a request that carries single connection mode's stream token
// (the x-graphql-event-stream-token header, or ?token=) goes where `tokenRoute` says, by default by
// a hash of the token, as deploy/'s routing rule does; every other request (distinct mode, the PUT
// that reserves a stream) goes to the next replica in turn. It records where each request went.
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface Routed {
  method: string;
  path: string;
  /** Index of the replica that served it. */
  replica: number;
  token: string | undefined;
}

export interface BalancerOptions {
  /**
   * The replica (an index) for a request carrying `token`; reservedBy is the replica whose PUT
   * answered that token, when the balancer saw it. Default: a hash of the token.
   */
  tokenRoute?: (token: string, reservedBy: number | undefined, replicas: number) => number;
}

export const byTokenHash = (token: string, _reservedBy: number | undefined, replicas: number) =>
  createHash("sha256").update(token).digest().readUInt32BE(0) % replicas;

/** The worst case for a stateless reservation: every request of a stream goes to a replica other than the one that reserved it. */
export const awayFromReserver = (token: string, reservedBy: number | undefined, replicas: number) =>
  reservedBy === undefined ? byTokenHash(token, reservedBy, replicas) : (reservedBy + 1) % replicas;

export class HttpBalancer {
  readonly routed: Routed[] = [];
  /** The replica whose PUT answered each token. */
  readonly reservedBy = new Map<string, number>();
  private next = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly ports: number[];
  private readonly tokenRoute: NonNullable<BalancerOptions["tokenRoute"]>;

  /** replicas: each kubesub's http://127.0.0.1:PORT. */
  constructor(replicas: string[], options: BalancerOptions = {}) {
    this.ports = replicas.map((origin) => Number(new URL(origin).port));
    this.tokenRoute = options.tokenRoute ?? byTokenHash;
    this.server = createServer((req, res) => this.forward(req, res));
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  /** Listens on a loopback port; resolves with http://127.0.0.1:PORT. */
  async listen(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    const address = this.server.address();
    if (!address || typeof address === "string") throw new Error("the balancer is not listening on a TCP port");
    return `http://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://balancer");
    const header = req.headers["x-graphql-event-stream-token"];
    const token = (Array.isArray(header) ? header.join("") : header) || url.searchParams.get("token") || undefined;
    let replica: number;
    if (token !== undefined) replica = this.tokenRoute(token, this.reservedBy.get(token), this.ports.length);
    else {
      replica = this.next;
      this.next = (this.next + 1) % this.ports.length;
    }
    this.routed.push({ method: req.method ?? "GET", path: url.pathname, replica, token });
    const upstream = request({
      host: "127.0.0.1",
      port: this.ports[replica],
      method: req.method,
      path: req.url,
      headers: req.headers,
    });
    upstream.on("response", (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (req.method === "PUT" && answer.statusCode === 201) {
        let body = "";
        answer.setEncoding("utf8");
        answer.on("data", (chunk: string) => {
          body += chunk;
          res.write(chunk);
        });
        answer.on("end", () => {
          this.reservedBy.set(body, replica);
          res.end();
        });
      } else answer.pipe(res);
      res.on("close", () => answer.destroy());
    });
    upstream.on("error", () => res.destroy());
    req.on("aborted", () => upstream.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  }
}
