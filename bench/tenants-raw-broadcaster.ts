// The multi-tenant benchmark's practical limit: a node:http server that keeps its SSE connections
// by topic, one topic per (project, user), and writes each change, serialised once, only to the
// connections of the topic it is routed to (the same seeded changes and routing as kubesub's,
// tenants-layout.ts). No GraphQL, no authentication. Forked by tenants.ts. argv: projects users
import { createServer, type ServerResponse } from "node:http";
import { send, serveCommands } from "./server-process.ts";
import {
  ChangeLog,
  changeSequence,
  operationField,
  operationOf,
  projectName,
  SameMillisecondGuard,
  stampLabel,
  stampTime,
  type TenantsLayout,
} from "./tenants-layout.ts";
import { serveCounts } from "./tenants-protocol.ts";
import { Ticker } from "./ticker.ts";

const layout: TenantsLayout = { projects: Number(process.argv[2]), users: Number(process.argv[3]) };
const topics = new Map<string, Set<ServerResponse>>();
const server = createServer((req, res) => {
  const topic = new URL(req.url ?? "/", "http://localhost").searchParams.get("topic") ?? "";
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  res.write(":\n\n");
  let subscribers = topics.get(topic);
  if (!subscribers) {
    subscribers = new Set();
    topics.set(topic, subscribers);
  }
  subscribers.add(res);
  req.on("close", () => subscribers.delete(res));
});
server.keepAliveTimeout = 0;
server.maxConnections = 100_000;

const next = changeSequence(layout);
const log = new ChangeLog();
const guard = new SameMillisecondGuard();
const ticker = new Ticker(() => {
  const change = next();
  const stamp = Date.now();
  if (!guard.fresh(change, stamp)) return;
  log.record(stamp, change.routed);
  if (!change.routed) return;
  const subscribers = topics.get(`${change.p}/${change.u}`);
  if (!subscribers) return;
  const object =
    change.kind === "dask-job"
      ? { __typename: "DaskJobUpdated", job: { name: change.name, project: projectName(change.p), startTime: stampTime(stamp) } }
      : {
          __typename: operationOf(change.p, change.u) === "ides" ? "IDEUpdated" : "PodUpdated",
          pod: {
            name: change.name,
            namespace: projectName(change.p),
            startTime: stampTime(stamp),
            labels: [{ key: stampLabel, value: String(stamp) }],
          },
        };
  const frame = Buffer.from(
    `event: next\ndata: ${JSON.stringify({ data: { [operationField(operationOf(change.p, change.u))]: object } })}\n\n`,
  );
  for (const subscriber of subscribers) subscriber.write(frame);
});

serveCommands({
  start: (rate) => ticker.start(rate),
  stop: () => ticker.stop(),
  close: () =>
    new Promise<void>((resolve) => {
      for (const subscribers of topics.values()) for (const subscriber of subscribers) subscriber.end();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
});
serveCounts((from, to) => log.between(from, to));

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  send({ type: "ready", port: typeof address === "object" && address ? address.port : 0 });
});
