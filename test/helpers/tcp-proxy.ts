// One address in front of kubesub replicas, as a Kubernetes Service or a load balancer is: each TCP
// connection is passed to the current target; with no target (a restart in progress, a laptop
// offline) connections are refused (accepted and reset at once). Changing the target leaves open
// connections where they are: kubesub ends its own streams when it shuts down.
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";

export class SwitchableProxy {
  /** Connections refused so far. */
  refused = 0;
  private target: number | undefined;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly refusalWaiters: (() => void)[] = [];

  constructor() {
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Listens on a loopback port; resolves with http://127.0.0.1:PORT. */
  async listen(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    const address = this.server.address();
    if (!address || typeof address === "string") throw new Error("the proxy is not listening on a TCP port");
    return `http://127.0.0.1:${address.port}`;
  }

  /** Where new connections go: the port of a kubesub on 127.0.0.1, or undefined to refuse them. */
  route(origin: string | undefined): void {
    this.target = origin === undefined ? undefined : Number(new URL(origin).port);
  }

  /** Resolves at the next refused connection; rejects when none comes within timeoutMs. */
  nextRefusal(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no connection refused within ${timeoutMs} ms`)), timeoutMs);
      this.refusalWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Cuts every open connection, as a network that drops does. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.track(socket);
    if (this.target === undefined) {
      this.refused += 1;
      socket.resetAndDestroy();
      for (const resolve of this.refusalWaiters.splice(0)) resolve();
      return;
    }
    const upstream = connect(this.target, "127.0.0.1");
    this.track(upstream);
    const destroyBoth = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on("error", destroyBoth).on("close", destroyBoth);
    upstream.on("error", destroyBoth).on("close", destroyBoth);
    socket.pipe(upstream);
    upstream.pipe(socket);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
  }
}
