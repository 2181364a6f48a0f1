// The practical limit: a node:http server that writes one pre-serialised SSE frame to every open
// connection, no GraphQL, no per-subscriber work beyond the write. Forked by run.ts.
import { createServer, type ServerResponse } from "node:http";
import { stampLabel } from "./protocol.ts";
import { send, serveCommands } from "./server-process.ts";
import { Ticker } from "./ticker.ts";

const clients = new Set<ServerResponse>();
const server = createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  res.write(":\n\n");
  clients.add(res);
  req.on("close", () => clients.delete(res));
});
server.keepAliveTimeout = 0;
server.maxConnections = 100_000;

let serial = 0;
const ticker = new Ticker(() => {
  serial += 1;
  const event = {
    data: {
      podEvents: {
        __typename: "PodUpdated",
        pod: {
          name: `bench-${serial % 20}`,
          labels: [
            { key: "app", value: "bench" },
            { key: stampLabel, value: String(Date.now()) },
          ],
        },
      },
    },
  };
  const frame = Buffer.from(`event: next\ndata: ${JSON.stringify(event)}\n\n`);
  for (const client of clients) client.write(frame);
});

serveCommands({
  start: (rate) => ticker.start(rate),
  stop: () => ticker.stop(),
  close: () =>
    new Promise<void>((resolve) => {
      for (const client of clients) client.end();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  send({ type: "ready", port: typeof address === "object" && address ? address.port : 0 });
});
