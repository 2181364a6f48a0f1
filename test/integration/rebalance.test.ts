// Load rebalances: every stream ends with StreamError MAX_LIFETIME after a random time between half
// --max-stream-lifetime and all of it, with no `complete`, so that clients come back by themselves
// (a client that passes its cursor resumes, with no snapshot) and, through a proxy, spread over the
// replicas again, as the apiserver bounds its watches with randomised timeouts.
import { createServer } from "node:net";
import { print } from "graphql";
import { createClient } from "graphql-sse";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { graphqlSseTransport, ResumableSubscription } from "../../examples/client/resumable.ts";
import { PodEventsDocument, type PodEventsSubscription, type PodEventsSubscriptionVariables } from "../../examples/generated/graphql.ts";
import type { KubePod } from "../../src/domain/pod.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import { HttpBalancer } from "../helpers/http-balancer.ts";
import { podObject, setPodState } from "../helpers/ide-dask-fixtures.ts";
import { type RunningKubesub, startKubesub } from "../helpers/kubesub-server.ts";
import { Inbox } from "../helpers/streams.ts";

const project = "data-science";
const query = print(PodEventsDocument);

let cluster: MemoryCluster;
const replicas: RunningKubesub[] = [];
const cleanups: (() => void | Promise<void>)[] = [];

beforeEach(() => {
  restarts = 0;
  cluster = new MemoryCluster();
  cluster.create(podResource, podObject({ name: "etl-1", namespace: project, user: "alice", state: "ready" }));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await Promise.all(replicas.splice(0).map((replica) => replica.close()));
});

async function replica(maxStreamLifetimeMs: number, port = 0): Promise<RunningKubesub> {
  const started = await startKubesub((type, namespace) => cluster.source(type, namespace), { maxStreamLifetimeMs }, port);
  replicas.push(started);
  return started;
}

let restarts = 0;
const restart = () => {
  restarts += 1;
  cluster.update<KubePod>(podResource, project, "etl-1", (pod) => setPodState(pod, { stuck: "CrashLoopBackOff" }, restarts));
};

type Line = string;
const line = (event: { __typename: string; code?: string; resumed?: boolean; pod?: { restarts?: number } }): Line =>
  event.__typename === "StreamError"
    ? `StreamError ${event.code}`
    : event.__typename === "InitialStateComplete"
      ? `InitialStateComplete resumed=${event.resumed}`
      : `${event.__typename} restarts=${event.pod?.restarts}`;

describe.each([
  { mode: "distinct connections", path: "/graphql", singleConnection: false },
  { mode: "single connection", path: "/graphql/stream", singleConnection: true },
])("MAX_LIFETIME, $mode", ({ path, singleConnection }) => {
  it("a stock graphql-sse client (default options) comes back by itself and the stream goes on", async () => {
    const kubesub = await replica(400);
    const events = new Inbox<Line>();
    const client = createClient({ url: `${kubesub.origin}${path}`, singleConnection });
    cleanups.push(() => client.dispose());
    client.subscribe<PodEventsSubscription>(
      { query, variables: { project } },
      {
        next: ({ data }) => (data ? events.push(line(data.podEvents)) : undefined),
        error: (error) => events.end(error),
        complete: () => events.end(),
      },
    );
    expect(await events.take({ until: (e) => e.startsWith("InitialStateComplete") })).toEqual([
      "PodAdded restarts=0",
      "InitialStateComplete resumed=false",
    ]);
    await events.take({ until: (e) => e === "StreamError MAX_LIFETIME", timeoutMs: 5_000 });
    // graphql-sse retries after its own backoff (a second or more), with the request it started with.
    expect(await events.take({ until: (e) => e.startsWith("InitialStateComplete"), timeoutMs: 15_000 })).toEqual([
      "PodAdded restarts=0",
      "InitialStateComplete resumed=false",
    ]);
    restart();
    expect(await events.take({ count: 1 })).toEqual(["PodUpdated restarts=1"]);
    expect(events.ended).toBeUndefined();
  }, 30_000);

  it("a client that passes its cursor resumes after it: nothing re-sent, no change lost", async () => {
    const kubesub = await replica(300);
    const events = new Inbox<Line>();
    const client = createClient({ url: `${kubesub.origin}${path}`, singleConnection, retryAttempts: 0 });
    cleanups.push(() => client.dispose());
    let subscriptions = 0;
    const subscription = new ResumableSubscription<PodEventsSubscription, PodEventsSubscriptionVariables>({
      transport: graphqlSseTransport(client, PodEventsDocument),
      variables: { project },
      onSubscribe: () => {
        subscriptions += 1;
      },
      onEvent: (event) => events.push(line(event)),
      backoff: () => 20,
    }).start();
    cleanups.push(() => subscription.stop());
    await events.take({ until: (e) => e === "InitialStateComplete resumed=false" });
    // Changes across several lifetimes: each arrives once, in order, and every stream after the
    // first resumes with nothing to re-send.
    const seen: Line[] = [];
    for (let i = 0; i < 4; i++) {
      const before = subscriptions;
      // The stream ends (MAX_LIFETIME) and the helper subscribes again with its cursor.
      await events.take({ until: () => subscriptions > before, timeoutMs: 5_000 }).then((e) => seen.push(...e));
      restart();
      await events.take({ until: (e) => e === `PodUpdated restarts=${restarts}` }).then((e) => seen.push(...e));
    }
    const changes = seen.filter((e) => e.startsWith("Pod"));
    expect(changes).toEqual([1, 2, 3, 4].map((n) => `PodUpdated restarts=${n}`));
    expect(seen.filter((e) => e.startsWith("InitialStateComplete")).every((e) => e === "InitialStateComplete resumed=true")).toBe(true);
    expect(subscriptions).toBeGreaterThanOrEqual(5);
  }, 30_000);
});

describe("spreading", () => {
  it("streams that all started on one replica spread over two once the other is up", async () => {
    const port = await freePort();
    const a = await replica(1_500);
    const balancer = new HttpBalancer([a.origin, `http://127.0.0.1:${port}`]);
    const origin = await balancer.listen();
    cleanups.push(() => balancer.close());
    const clients = 16;
    const live = new Set<number>();
    const waiters = new Set<() => void>();
    for (let i = 0; i < clients; i++) {
      const client = createClient({ url: `${origin}/graphql`, retryAttempts: 0 });
      const subscription = new ResumableSubscription<PodEventsSubscription, PodEventsSubscriptionVariables>({
        transport: graphqlSseTransport(client, PodEventsDocument),
        variables: { project },
        onEvent: (event) => {
          if (event.__typename === "InitialStateComplete") live.add(i);
          for (const wake of waiters) wake();
        },
        backoff: () => 20,
      }).start();
      cleanups.push(() => {
        subscription.stop();
        client.dispose();
      });
    }
    const until = async (condition: () => boolean, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: A ${a.app.openStreams}, B ${b?.app.openStreams}`);
        await new Promise<void>((resolve) => {
          waiters.add(resolve);
          setTimeout(resolve, 50).unref();
        }).finally(() => waiters.clear());
      }
    };
    let b: RunningKubesub | undefined;
    // With B down, the balancer's turns to it fail, and the clients come back until they land on A.
    await until(() => live.size === clients && a.app.openStreams === clients, 10_000);
    const before = [a.app.openStreams, 0];
    b = await replica(1_500, port);
    const started = Date.now();
    await until(() => (b?.app.openStreams ?? 0) >= clients / 4 && a.app.openStreams + (b?.app.openStreams ?? 0) === clients, 10_000);
    const after = [a.app.openStreams, b.app.openStreams];
    console.log(`streams on A and B: before ${before.join("/")}, ${Date.now() - started} ms after B started ${after.join("/")}`);
    expect(before).toEqual([clients, 0]);
    expect(after[1]).toBeGreaterThanOrEqual(clients / 4);
  }, 30_000);
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}
