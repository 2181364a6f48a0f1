// The multi-tenant benchmark's subscribers: one Server-Sent Events stream per (project, user) of the
// layout over real HTTP (one TCP connection each), each with its own bearer token, its own
// operation (the example dashboard's pods, IDEs or Dask subscription) and its own variables. For
// every frame carrying a change it records the latency from the change's stamp, and checks that the
// change belongs to its subscriber's (project, user). Forked by tenants.ts.
import { readFileSync } from "node:fs";
import { Agent, get, type IncomingMessage } from "node:http";
import { LatencyHistogram } from "./latency-histogram.ts";
import {
  daskJobName,
  type Operation,
  operationDocument,
  operationOf,
  operationVariables,
  podNames,
  projectName,
  stampPattern,
  tokenOf,
} from "./tenants-layout.ts";
import type { TenantsLoadCommand, TenantsLoadMessage } from "./tenants-protocol.ts";

const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const responses: IncomingMessage[] = [];
/** Every stamped delivery: its stamp and its arrival (ms since the epoch); filtered by stamp at report. */
const stamps: number[] = [];
const arrivals: number[] = [];
const misroutedStamps: number[] = [];
let measuring = false;
let closed = 0;

const send = (message: TenantsLoadMessage) => process.send?.(message);
/** Tokens of the connect command's tokensFile, when it names one. */
let tokens: Record<string, string> | undefined;
const tokenFor = (p: number, u: number) => tokens?.[`${p}.${u}`] ?? tokenOf(p, u);
const documents = new Map<Operation, string>();

function url(base: string, system: "kubesub" | "raw", p: number, u: number): string {
  if (system === "raw") return `${base}?topic=${p}/${u}`;
  const operation = operationOf(p, u);
  let document = documents.get(operation);
  if (!document) {
    const { query, operationName } = operationDocument(operation);
    document = `query=${encodeURIComponent(query)}&operationName=${operationName}`;
    documents.set(operation, document);
  }
  return `${base}?${document}&variables=${encodeURIComponent(JSON.stringify(operationVariables(p, u)))}`;
}

function subscribe(target: string, system: "kubesub" | "raw", p: number, u: number): Promise<boolean> {
  const project = `"${projectName(p)}"`;
  const names = [...podNames(u), daskJobName(u)].map((name) => `"name":"${name}"`);
  return new Promise((resolve) => {
    const request = get(
      target,
      { agent, headers: { accept: "text/event-stream", authorization: `Bearer ${tokenFor(p, u)}` } },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          resolve(false);
          return;
        }
        responses.push(response);
        response.setEncoding("utf8");
        let buffer = "";
        let ready = false;
        response.on("data", (chunk: string) => {
          buffer += chunk;
          let end = buffer.indexOf("\n\n");
          while (end !== -1) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf("\n\n");
            if (!ready) {
              // kubesub: subscribed once the initial state is complete (it pings first); the raw broadcaster: at its first ping.
              if (system === "raw" ? frame.startsWith(":") : frame.includes("InitialStateComplete")) {
                ready = true;
                resolve(true);
              }
              continue;
            }
            const stamp = stampPattern.exec(frame);
            if (!stamp) continue;
            const at = Date.parse(stamp[1] ?? "");
            if (frame.includes(project) && names.some((name) => frame.includes(name))) {
              stamps.push(at);
              arrivals.push(Date.now());
            } else misroutedStamps.push(at);
          }
        });
        response.on("close", () => {
          if (measuring) closed += 1;
          if (!ready) resolve(false);
        });
      },
    );
    request.on("error", () => resolve(false));
  });
}

process.on("message", async (command: TenantsLoadCommand) => {
  switch (command.type) {
    case "connect": {
      const { projects, users } = command.layout;
      tokens = command.tokensFile ? (JSON.parse(readFileSync(command.tokensFile, "utf8")) as Record<string, string>) : undefined;
      const all = Array.from({ length: projects * users }, (_, i) => ({ p: Math.floor(i / users), u: i % users }));
      const started = Date.now();
      let failed = 0;
      // In waves of 200 concurrent subscriptions, so that the listen backlog is never the bottleneck.
      for (let opened = 0; opened < all.length; opened += 200) {
        const wave = all.slice(opened, opened + 200);
        const results = await Promise.all(wave.map(({ p, u }) => subscribe(url(command.url, command.system, p, u), command.system, p, u)));
        failed += results.filter((ok) => !ok).length;
      }
      send({ type: "connected", subscribers: all.length - failed, failed, ms: Date.now() - started });
      return;
    }
    case "measure":
      measuring = true;
      closed = 0;
      return;
    case "report": {
      measuring = false;
      const histogram = new LatencyHistogram();
      for (let i = 0; i < stamps.length; i += 1) {
        const stamp = stamps[i] ?? 0;
        if (stamp > command.from && stamp <= command.to) histogram.record((arrivals[i] ?? 0) - stamp);
      }
      send({
        type: "report",
        deliveries: histogram.size,
        misrouted: misroutedStamps.filter((stamp) => stamp > command.from && stamp <= command.to).length,
        p50: histogram.quantile(0.5),
        p95: histogram.quantile(0.95),
        p99: histogram.quantile(0.99),
        max: histogram.max,
        closed,
      });
      return;
    }
    case "exit":
      for (const response of responses) response.destroy();
      process.exit(0);
  }
});
