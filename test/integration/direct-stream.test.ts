// The direct path over real HTTP: once a subscription's stream is set up, kubesub writes its frames
// to the Node response itself (server/http-edge.ts, server/use-shared-sse.ts). What a client sees
// of it: the headers yoga's plugins decided, heartbeats, every event, backpressure ending a stalled
// client's stream with OVERFLOW past --max-buffered-bytes, and a slot released as soon as the client leaves.
import { type IncomingMessage, request } from "node:http";
import { connect } from "node:net";
import { afterEach, expect, it } from "vitest";
import { type Clock, systemClock } from "../../src/clock.ts";
import type { KubePod } from "../../src/domain/pod.ts";
import { podResource } from "../../src/kube/resources.ts";
import type { KubesubOverrides } from "../../src/options.ts";
import { startOnMemoryCluster } from "../helpers/kubesub-server.ts";
import { podFixture } from "../helpers/pods.ts";

const running: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});

async function start(overrides: KubesubOverrides = {}) {
  const kubesub = await startOnMemoryCluster(overrides);
  running.push(kubesub);
  return kubesub;
}

const podEvents = `subscription { podEvents(project: "team-a") { __typename ... on PodUpdated { pod { name labels { key value } } } ... on StreamError { code } } }`;

/** A subscription over node:http, its body as text as it arrives; until() waits (bounded) for a text. */
function subscribe(origin: string, headers: Record<string, string> = {}) {
  let text = "";
  let ended = false;
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const waiter of waiters) waiter();
  };
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(
      `${origin}/graphql?query=${encodeURIComponent(podEvents)}`,
      { headers: { accept: "text/event-stream", ...headers } },
      (res) => {
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
          changed();
        });
        res.on("close", () => {
          ended = true;
          changed();
        });
        resolve(res);
      },
    );
    req.on("error", reject);
    req.end();
  });
  return {
    response,
    get text() {
      return text;
    },
    /** Resolves once the body received so far satisfies the predicate; rejects after timeoutMs. */
    until(predicate: (text: string) => boolean, what: string, timeoutMs = 5_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(text)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          } else if (ended) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`the stream ended before ${what}: ${text.slice(-300)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${what} within ${timeoutMs} ms: ${text.slice(-300)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: async () => (await response).destroy(),
  };
}

const count = (text: string, part: string) => text.split(part).length - 1;

it("a direct-path stream carries the headers yoga's plugins decided, the request id, and every event", async () => {
  const kubesub = await start({ security: { corsOrigins: ["https://ui.example.org"] } });
  kubesub.cluster.create(podResource, podFixture("team-a", "a-1", { user: "alice" }));
  const stream = subscribe(kubesub.origin, { "x-request-id": "ui-7", origin: "https://ui.example.org" });
  const response = await stream.response;
  expect(response.statusCode).toBe(200);
  expect(response.headers["content-type"]).toContain("text/event-stream");
  expect(response.headers["x-request-id"]).toBe("ui-7");
  expect(response.headers["x-accel-buffering"]).toBe("no");
  expect(response.headers["access-control-allow-origin"]).toBe("https://ui.example.org");
  await stream.until((t) => t.includes("InitialStateComplete"), "InitialStateComplete");
  for (let i = 1; i <= 3; i += 1) {
    kubesub.cluster.update<KubePod>(podResource, "team-a", "a-1", (pod) => {
      pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, seq: String(i) } };
    });
  }
  await stream.until((t) => t.includes('"seq","value":"3"'), "the third update");
  expect(count(stream.text, "PodUpdated")).toBe(3);
  await stream.close();
  await kubesub.app.streamsDrained();
});

it("every open direct-path stream gets a heartbeat each ping interval, from one timer", async () => {
  // The 12 s ping timer is fired by the test; every other timer runs on the system clock.
  const pings: (() => void)[] = [];
  const clock: Clock = {
    ...systemClock,
    interval: (fn, ms) => {
      if (ms !== 12_000) return systemClock.interval(fn, ms);
      pings.push(fn);
      const timer = { cancel: () => pings.splice(pings.indexOf(fn), 1), unref: () => timer };
      return timer;
    },
  };
  const kubesub = await start({ clock });
  const streams = [subscribe(kubesub.origin), subscribe(kubesub.origin), subscribe(kubesub.origin)];
  await Promise.all(streams.map((s) => s.until((t) => t.includes("InitialStateComplete"), "InitialStateComplete")));
  // The first comment line opens each stream; then one timer serves all three.
  expect(streams.map((s) => count(s.text, ":\n\n"))).toEqual([1, 1, 1]);
  expect(pings).toHaveLength(1);
  pings[0]?.();
  await Promise.all(streams.map((s) => s.until((t) => count(t, ":\n\n") === 2, "a heartbeat")));
  pings[0]?.();
  await Promise.all(streams.map((s) => s.until((t) => count(t, ":\n\n") === 3, "a second heartbeat")));
  for (const stream of streams) await stream.close();
  await kubesub.app.streamsDrained();
  // No stream open, no timer.
  expect(pings).toHaveLength(0);
});

it("a client that leaves releases its slot and its view lease; the others go on", async () => {
  const kubesub = await start();
  kubesub.cluster.create(podResource, podFixture("team-a", "a-1", { user: "alice" }));
  const leaving = subscribe(kubesub.origin);
  const staying = subscribe(kubesub.origin);
  await Promise.all([leaving, staying].map((s) => s.until((t) => t.includes("InitialStateComplete"), "InitialStateComplete")));
  expect(kubesub.app.openStreams).toBe(2);
  await leaving.close();
  await expect.poll(() => kubesub.app.openStreams, { timeout: 5_000, interval: 5 }).toBe(1);
  expect(kubesub.app.views.snapshot()).toEqual([{ key: "pods/team-a", references: 1 }]);
  kubesub.cluster.update<KubePod>(podResource, "team-a", "a-1", (pod) => {
    pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, seq: "after" } };
  });
  await staying.until((t) => t.includes('"seq","value":"after"'), "the change after the other client left");
  await staying.close();
  await kubesub.app.streamsDrained();
  expect(kubesub.app.views.snapshot()).toEqual([]);
});

it("a client that stops reading is held back by the socket, then, past --max-buffered-bytes unread, ends with OVERFLOW, which it reads when it reads again", async () => {
  // A bound of one byte: the first frame that waits for the socket passes it.
  const kubesub = await start({ queueSize: 10, maxBufferedBytes: 1 });
  const labels = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`label-${i}`, "v".repeat(60)]));
  kubesub.cluster.create(podResource, podFixture("team-a", "big", { user: "alice", labels }));
  const { port } = new URL(kubesub.origin);
  const socket = connect(Number(port), "127.0.0.1");
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    text += chunk;
  });
  socket.pause();
  socket.write(`GET /graphql?query=${encodeURIComponent(podEvents)} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
  await expect.poll(() => kubesub.app.views.snapshot(), { timeout: 5_000, interval: 5 }).toEqual([{ key: "pods/team-a", references: 1 }]);
  let changes = 0;
  while (kubesub.app.openStreams > 0 && changes < 50_000) {
    for (let i = 0; i < 500; i += 1) {
      changes += 1;
      kubesub.cluster.update<KubePod>(podResource, "team-a", "big", (pod) => {
        pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, seq: String(changes) } };
      });
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  // The stream ended while its client was not reading: its slot and view are released already.
  expect(kubesub.app.openStreams).toBe(0);
  expect(kubesub.app.views.snapshot()).toEqual([]);
  // Reading again, the client receives what was written before, then the OVERFLOW error and the end.
  const done = new Promise<void>((resolve) => {
    const check = () => {
      if (text.includes("event: complete")) resolve();
    };
    socket.on("data", check);
  });
  socket.resume();
  await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error("no complete event within 10 s")), 10_000))]);
  const last = text.slice(text.lastIndexOf("event: next"));
  expect(last).toContain('"code":"OVERFLOW"');
  expect(last).toContain("event: complete");
  expect(count(text, "PodUpdated")).toBeLessThan(changes);
  socket.destroy();
}, 60_000);
