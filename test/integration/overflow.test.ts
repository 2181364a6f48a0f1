// A client that stops reading, over real HTTP: its changes are coalesced (one event per pod, with
// how many changes each stands for) rather than its stream cut; only a connection holding more
// unread bytes than --max-buffered-bytes ends with OVERFLOW, and the client then resumes with its
// last cursor without losing anything.
import { type IncomingMessage, request } from "node:http";
import { afterEach, expect, it } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import type { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import type { KubesubOverrides } from "../../src/options.ts";
import { type RunningKubesub, startOnMemoryCluster } from "../helpers/kubesub-server.ts";
import { podFixture } from "../helpers/pods.ts";

const running: RunningKubesub[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});

async function start(overrides: KubesubOverrides) {
  const kubesub = await startOnMemoryCluster(overrides);
  running.push(kubesub);
  return kubesub;
}

const overflows = async (origin: string) => {
  const text = await (await fetch(`${origin}/metrics`)).text();
  return Number(/^kubesub_subscriber_overflows_total\{field="podEvents"\} (\d+)/m.exec(text)?.[1] ?? 0);
};

const fields = `pod { name labels { key value } } cursor coalesced`;
const podEvents = (after?: string) =>
  `subscription { podEvents(project: "team-a"${after ? `, after: "${after}"` : ""}) { __typename
    ... on PodAdded { ${fields} } ... on PodUpdated { ${fields} changedFields previous { name } } ... on PodDeleted { ${fields} }
    ... on InitialStateComplete { resumed cursor } ... on StreamError { code cursor } } }`;

interface Event {
  __typename: string;
  pod?: { name: string; labels: { key: string; value: string }[] };
  cursor: string;
  coalesced?: number;
  resumed?: boolean;
  code?: string;
}

/** A subscription over node:http whose client reads nothing until read() (TCP then holds kubesub back). */
function pausedSubscription(origin: string, query: string) {
  let text = "";
  const events: Event[] = [];
  const waiters = new Set<() => void>();
  let response: IncomingMessage | undefined;
  const connected = new Promise<void>((resolve, reject) => {
    const req = request(`${origin}/graphql?query=${encodeURIComponent(query)}`, { headers: { accept: "text/event-stream" } }, (res) => {
      response = res;
      res.pause();
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
        let end = text.indexOf("\n\n");
        while (end >= 0) {
          const data = text
            .slice(0, end)
            .split("\n")
            .find((line) => line.startsWith("data: "));
          if (data && data !== "data: ") events.push((JSON.parse(data.slice(6)) as { data: { podEvents: Event } }).data.podEvents);
          text = text.slice(end + 2);
          end = text.indexOf("\n\n");
        }
        for (const waiter of waiters) waiter();
      });
      res.on("close", () => {
        for (const waiter of waiters) waiter();
      });
      resolve();
    });
    req.on("error", reject);
    req.end();
  });
  return {
    connected,
    events,
    read: () => response?.resume(),
    close: () => response?.destroy(),
    /** Waits, at most 20 s, for an event that passes the test. */
    until(test: (event: Event) => boolean, what: string): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (events.some(test)) done(resolve);
          else if (response?.closed) done(() => reject(new Error(`the stream ended before ${what}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no ${what} within 20 s`))), 20_000);
        const done = (then: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          then();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

// Large pods (many labels), so that socket buffers fill after a few hundred events.
const labels = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`label-${i}`, "v".repeat(60)]));
const pods = 20;

/** Many changes to few pods (some deleted and created again), with a yield every 500 so the stream goes on. */
async function storm(cluster: MemoryCluster, changes: number, marker = true): Promise<void> {
  for (let i = 1; i <= changes; i += 1) {
    // Every 97th change deletes a pod, and the next one creates it again.
    const name = `p${(i % 97 === 1 && i > 97 ? i - 1 : i) % pods}`;
    if (i % 97 === 0) cluster.delete(podResource, "team-a", name);
    else if (i % 97 === 1 && i > 97)
      cluster.create(podResource, podFixture("team-a", name, { user: "alice", labels: { ...labels, seq: String(i) } }));
    else
      cluster.update<KubePod>(podResource, "team-a", name, (pod) => {
        pod.metadata = { ...pod.metadata, labels: { ...labels, seq: String(i) } };
      });
    if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  if (marker) cluster.create(podResource, podFixture("team-a", "marker", { user: "alice" }));
}

/** The pods' seq labels after applying a stream's events, in order. */
function apply(events: Event[], state = new Map<string, string | undefined>()) {
  for (const event of events) {
    const name = event.pod?.name;
    if (!name || name === "marker") continue;
    if (event.__typename === "PodDeleted") state.delete(name);
    else if (event.__typename === "PodAdded" || event.__typename === "PodUpdated")
      state.set(name, event.pod?.labels.find((l) => l.key === "seq")?.value);
  }
  return state;
}

async function finalState(origin: string) {
  const response = await fetch(`${origin}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: `{ pods(project: "team-a") { name labels { key value } } }` }),
  });
  const body = (await response.json()) as { data: { pods: NonNullable<Event["pod"]>[] } };
  return new Map(body.data.pods.filter((p) => p.name !== "marker").map((p) => [p.name, p.labels.find((l) => l.key === "seq")?.value]));
}

/** The pods, small at first (so that the initial state fits the socket at once); changes make them large. */
function seed(cluster: MemoryCluster) {
  for (let i = 0; i < pods; i += 1) cluster.create(podResource, podFixture("team-a", `p${i}`, { user: "alice", labels: { seq: "0" } }));
}

it("a client that pauses while many changes happen gets them coalesced, one event per pod with counts, and its stream goes on", async () => {
  const kubesub = await start({ queueSize: 10 });
  seed(kubesub.cluster);
  const client = pausedSubscription(kubesub.origin, podEvents());
  await client.connected;
  await expect.poll(() => kubesub.app.views.snapshot(), { timeout: 5_000, interval: 5 }).toEqual([{ key: "pods/team-a", references: 1 }]);
  const changes = 20_000;
  await storm(kubesub.cluster, changes);
  // Not cut off: its stream is open, holding one event per pod at most, beside what the socket holds.
  expect(kubesub.app.openStreams).toBe(1);
  expect(await overflows(kubesub.origin)).toBe(0);

  client.read();
  await client.until((e) => e.pod?.name === "marker", "the marker pod");
  const { events } = client;
  expect(events.some((e) => e.__typename === "StreamError")).toBe(false);
  expect(apply(events)).toEqual(await finalState(kubesub.origin));
  const coalesced = events.filter((e) => (e.coalesced ?? 1) > 1);
  expect(coalesced.length).toBeGreaterThan(0);
  expect(events.filter((e) => e.pod).every((e) => (e.coalesced ?? 0) >= 1)).toBe(true);
  // Far fewer events than changes: the backlog was bounded by the pods, not the rate.
  expect(events.length).toBeLessThan(changes / 2);
  client.close();
}, 60_000);

it("a connection over --max-buffered-bytes ends with OVERFLOW, and resuming with the last cursor read loses nothing", async () => {
  const maxBufferedBytes = 256 * 1024;
  const kubesub = await start({ queueSize: 10, maxBufferedBytes, historySize: 100_000, historyLingerMs: 60_000 });
  seed(kubesub.cluster);
  const client = pausedSubscription(kubesub.origin, podEvents());
  await client.connected;
  await expect.poll(() => kubesub.app.views.snapshot(), { timeout: 5_000, interval: 5 }).toEqual([{ key: "pods/team-a", references: 1 }]);
  // The socket fills and the changes are coalesced: the stream goes on...
  await storm(kubesub.cluster, 5_000, false);
  expect(kubesub.app.openStreams).toBe(1);
  // ...until one event (a pod with thousands of labels) leaves more than maxBufferedBytes unread.
  const huge = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`huge-${i}`, "h".repeat(60)]));
  kubesub.cluster.update<KubePod>(podResource, "team-a", "p0", (pod) => {
    pod.metadata = { ...pod.metadata, labels: { ...huge, seq: "huge" } };
  });
  await expect.poll(() => overflows(kubesub.origin), { timeout: 5_000, interval: 5 }).toBe(1);
  await expect.poll(() => kubesub.app.openStreams, { timeout: 5_000, interval: 5 }).toBe(0);
  // More changes while the client is away.
  await storm(kubesub.cluster, 2_000);

  client.read();
  await client.until((e) => e.__typename === "StreamError", "OVERFLOW");
  const first = client.events;
  const error = first.at(-1) as Event;
  expect(error).toMatchObject({ code: "OVERFLOW" });
  const lastRead = first.at(-2) as Event;
  expect(error.cursor).toBe(lastRead.cursor);

  const resumed = pausedSubscription(kubesub.origin, podEvents(lastRead.cursor));
  await resumed.connected;
  resumed.read();
  await resumed.until((e) => e.pod?.name === "marker", "the marker pod");
  expect(resumed.events.find((e) => e.__typename === "InitialStateComplete")).toMatchObject({ resumed: true });
  expect(apply(resumed.events, apply(first))).toEqual(await finalState(kubesub.origin));
  resumed.close();
}, 60_000);
