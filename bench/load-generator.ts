// Holds N Server-Sent Events subscriptions over real HTTP (node:http, one TCP connection each) and
// measures, for every frame that carries a stamped change, the time from the stamp to its arrival.
// Forked by run.ts; runs in its own process so that it never shares a CPU budget with the server.
import { Agent, get, type IncomingMessage } from "node:http";
import { DeliveryRecorder } from "./delivery-recorder.ts";
import { benchSubscription, type LoadCommand, type LoadMessage } from "./protocol.ts";

const stampPattern = /stamp","value":"(\d+)"/;
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const responses: IncomingMessage[] = [];
const recorder = new DeliveryRecorder();

const send = (message: LoadMessage) => process.send?.(message);

function subscribe(url: string): Promise<boolean> {
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

process.on("message", async (command: LoadCommand) => {
  switch (command.type) {
    case "connect": {
      const started = Date.now();
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
    case "measure":
      recorder.measure();
      return;
    case "report":
      send({ type: "report", ...recorder.report() });
      return;
    case "exit":
      for (const response of responses) response.destroy();
      process.exit(0);
  }
});
