// Holds N Server-Sent Events subscriptions over real HTTP (node:http, one TCP connection each) and
// measures, for every frame that carries a stamped change, the time from the stamp to its arrival.
// Forked by run.ts; runs in its own process so that it never shares a CPU budget with the server.
import { Agent, get, type IncomingMessage } from "node:http";
import { DeliveryRecorder } from "./delivery-recorder.ts";
import { benchSubscription, type LoadCommand, type LoadMessage } from "./protocol.ts";

const stampPattern = /stamp","value":"(\d+)"/;
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const responses: IncomingMessage[] = [];
/** Streams that received a stamped change while measured. */
let receiving = new WeakSet<IncomingMessage>();
const recorder = new DeliveryRecorder();

const send = (message: LoadMessage) => process.send?.(message);

function subscribe(url: string, into = responses): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get(
      `${url}?query=${encodeURIComponent(benchSubscription)}`,
      { agent, headers: { accept: "text/event-stream" } },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          resolve(false);
          return;
        }
        into.push(response);
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
              // kubesub: subscribed once the initial state is complete; the raw broadcaster: at its first ping.
              if (frame.startsWith(":") || frame.includes("InitialStateComplete")) {
                ready = true;
                resolve(true);
              }
              continue;
            }
            if (!recorder.measuring) continue;
            const stamp = stampPattern.exec(frame);
            if (stamp) {
              recorder.delivered(Number(stamp[1]));
              receiving.add(response);
            }
          }
        });
        response.on("close", () => {
          recorder.streamClosed();
          if (!ready) resolve(false);
        });
      },
    );
    request.on("error", () => resolve(false));
  });
}

/**
 * graphql-sse's single connection mode: reserves an event stream (PUT), connects it (GET), then
 * sends it `operations` subscriptions (POST, one request each over a keep-alive agent). Resolves
 * with how many reached their InitialStateComplete.
 */
async function subscribeOverOneStream(url: string, operations: number): Promise<number> {
  const streamUrl = `${url}/stream`;
  const reservation = await fetch(streamUrl, { method: "PUT" });
  const token = await reservation.text();
  let ready = 0;
  const waiting = new Map<string, () => void>();
  const settled = new Promise<IncomingMessage>((resolve, reject) => {
    const request = get(
      streamUrl,
      { agent, headers: { accept: "text/event-stream", "x-graphql-event-stream-token": token } },
      (response) => {
        responses.push(response);
        response.setEncoding("utf8");
        let buffer = "";
        response.on("data", (chunk: string) => {
          buffer += chunk;
          let end = buffer.indexOf("\n\n");
          while (end !== -1) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf("\n\n");
            if (frame.includes("InitialStateComplete")) {
              const id = operationIdPattern.exec(frame)?.[1];
              if (id) waiting.get(id)?.();
              continue;
            }
            if (!recorder.measuring) continue;
            const stamp = stampPattern.exec(frame);
            const id = operationIdPattern.exec(frame)?.[1];
            if (stamp) {
              recorder.delivered(Number(stamp[1]));
              if (id) receivingOperations.add(`${token}/${id}`);
            }
          }
        });
        response.on("close", () => recorder.streamClosed());
        resolve(response);
      },
    );
    request.on("error", reject);
  });
  await settled;
  const post = (id: string) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 600_000);
      waiting.set(id, () => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(true);
      });
      fetch(streamUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "x-graphql-event-stream-token": token },
        body: JSON.stringify({ query: benchSubscription, extensions: { operationId: id } }),
      }).then(
        (answer) => {
          if (answer.status !== 202) {
            console.error(`single connection mode: an operation was answered ${answer.status}`);
            resolve(false);
          }
          return answer.text();
        },
        (error: unknown) => {
          console.error(`single connection mode: an operation failed: ${String(error)}`);
          resolve(false);
        },
      );
    });
  // In small waves: every stream of every load generator sends at once, and each POST in flight
  // is a connection, a file descriptor of the server's.
  for (let sent = 0; sent < operations; sent += 10) {
    const wave = Math.min(10, operations - sent);
    const results = await Promise.all(Array.from({ length: wave }, (_, i) => post(`op-${sent + i}`)));
    ready += results.filter(Boolean).length;
  }
  return ready;
}

const operationIdPattern = /"id":"([^"]+)"/;
/** token/operation of single-connection subscriptions that received a stamped change while measured. */
let receivingOperations = new Set<string>();

process.on("message", async (command: LoadCommand) => {
  switch (command.type) {
    case "connect": {
      const started = Date.now();
      if (command.operationsPerStream) {
        const streams = Math.ceil(command.subscribers / command.operationsPerStream);
        const ready = await Promise.all(
          Array.from({ length: streams }, (_, i) =>
            subscribeOverOneStream(
              command.url,
              Math.min(command.operationsPerStream as number, command.subscribers - i * (command.operationsPerStream as number)),
            ),
          ),
        );
        const subscribers = ready.reduce((sum, n) => sum + n, 0);
        send({ type: "connected", subscribers, failed: command.subscribers - subscribers, ms: Date.now() - started });
        return;
      }
      let failed = 0;
      // Connect in waves, so that the listen backlog is never the bottleneck.
      for (let opened = 0; opened < command.subscribers; opened += 200) {
        const wave = Math.min(200, command.subscribers - opened);
        const results = await Promise.all(Array.from({ length: wave }, () => subscribe(command.url)));
        failed += results.filter((ok) => !ok).length;
      }
      send({ type: "connected", subscribers: command.subscribers - failed, failed, ms: Date.now() - started });
      return;
    }
    case "warm": {
      const warm: IncomingMessage[] = [];
      await Promise.all(Array.from({ length: command.subscribers }, () => subscribe(command.url, warm)));
      for (const response of warm) response.destroy();
      send({ type: "warmed" });
      return;
    }
    case "measure":
      recorder.measure();
      receiving = new WeakSet();
      receivingOperations = new Set();
      return;
    case "report": {
      const open = responses.filter((r) => !r.destroyed && receiving.has(r)).length;
      send({ type: "report", ...recorder.report(), receiving: open + receivingOperations.size });
      return;
    }
    case "exit":
      for (const response of responses) response.destroy();
      process.exit(0);
  }
});
