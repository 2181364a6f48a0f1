// The resuming helper (examples/client/resumable.ts) with each client, over real HTTP: graphql-sse,
// urql and Apollo Client subscribe through one address (a switchable TCP proxy, as a Service in
// front of replicas) to kubesub replica A. Then A shuts down (or the connection is cut) and the
// client is away while pods change; when it can connect again, the helper subscribes with its last
// cursor as `after`, and the client receives exactly the changes it missed, then
// InitialStateComplete { resumed: true }: no snapshot.
//
// What a restart means here: a new kubesub process resumes a cursor only as far back as its own
// view's history goes, and a view exists while someone subscribes to it. Replica B is that new
// process, started first over the same in-memory cluster (as a second replica watching the same
// cluster), and already serving the project to another client: the reference stream, which also
// gives what an uninterrupted client received.
import { print } from "graphql";
import { createClient } from "graphql-sse";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apolloTransport } from "../../examples/client/apollo.ts";
import { graphqlSseTransport, ResumableSubscription, type Transport } from "../../examples/client/resumable.ts";
import { urqlTransport } from "../../examples/client/urql.ts";
import { PodEventsDocument, type PodEventsSubscription, type PodEventsSubscriptionVariables } from "../../examples/generated/graphql.ts";
import type { KubePod } from "../../src/domain/pod.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import { decodeCursor } from "../../src/streams/views/cursor.ts";
import { apolloClient } from "../helpers/clients-apollo.ts";
import { urqlClient } from "../helpers/clients-urql.ts";
import { podObject, setPodState } from "../helpers/ide-dask-fixtures.ts";
import { type RunningKubesub, startKubesub } from "../helpers/kubesub-server.ts";
import { Inbox } from "../helpers/streams.ts";
import { SwitchableProxy } from "../helpers/tcp-proxy.ts";

const project = "team-a";
type PodEvent = PodEventsSubscription["podEvents"];

/** An event as the test compares them: what it is, and its cursor. */
function line(event: PodEvent): string {
  switch (event.__typename) {
    case "PodAdded":
    case "PodDeleted":
      return `${event.__typename} ${event.pod.name} ${event.cause} @${event.cursor}`;
    case "PodUpdated":
      return `PodUpdated ${event.pod.name} [${event.changedFields.join(",")}] @${event.cursor}`;
    case "InitialStateComplete":
      return `InitialStateComplete ${event.count} resumed=${event.resumed}`;
    case "ResourceUnavailable":
      return `ResourceUnavailable ${event.resource} ${event.reason}`;
    case "StreamError":
      return `StreamError ${event.code}`;
  }
}

const isComplete = (event: string) => event.startsWith("InitialStateComplete");

interface Disposable {
  dispose(): void;
}
type PodTransport = Transport<PodEventsSubscription, PodEventsSubscriptionVariables>;

/**
 * Each client over the proxy's address. urql and Apollo run over graphql-sse with retryAttempts 0,
 * as ./urql.ts and ./apollo.ts ask; plain graphql-sse keeps its own retries (the helper stops those
 * that would resend a stale `after`).
 */
const clientKinds: { kind: string; connect: (origin: string) => { transport: PodTransport; client: Disposable } }[] = [
  {
    kind: "graphql-sse, distinct connections (/graphql), with its own retries",
    connect: (origin) => {
      const client = createClient({ url: `${origin}/graphql`, retryAttempts: 5, retry: () => new Promise((r) => setTimeout(r, 50)) });
      return { transport: graphqlSseTransport(client, PodEventsDocument), client };
    },
  },
  {
    kind: "urql, single connection (/graphql/stream)",
    connect: (origin) => {
      const client = urqlClient(origin, { url: `${origin}/graphql/stream`, singleConnection: true, retryAttempts: 0 });
      return { transport: urqlTransport(client.urql, PodEventsDocument), client };
    },
  },
  {
    kind: "Apollo Client, distinct connections (/graphql)",
    connect: (origin) => {
      const client = apolloClient(origin, { url: `${origin}/graphql`, retryAttempts: 0 });
      return { transport: apolloTransport(client.apollo, PodEventsDocument), client };
    },
  },
];

let cluster: MemoryCluster;
let proxy: SwitchableProxy;
let address: string;
const replicas: RunningKubesub[] = [];
const cleanups: (() => void)[] = [];

const start = async () => {
  const replica = await startKubesub((type, namespace) => cluster.source(type, namespace));
  replicas.push(replica);
  return replica;
};
const setState = (name: string, state: Parameters<typeof setPodState>[1]) =>
  cluster.update<KubePod>(podResource, project, name, (pod) => setPodState(pod, state));

/** A plain graphql-sse stream straight to a replica: its events as lines. */
function reference(origin: string): Inbox<string> {
  const inbox = new Inbox<string>();
  const client = createClient({ url: `${origin}/graphql`, retryAttempts: 0 });
  cleanups.push(() => client.dispose());
  client.subscribe<PodEventsSubscription, PodEventsSubscriptionVariables>(
    { query: graphqlSseQuery, variables: { project } },
    {
      next: (result) => (result.data ? inbox.push(line(result.data.podEvents)) : inbox.end(result.errors)),
      error: (e) => inbox.end(e),
      complete: () => inbox.end(),
    },
  );
  return inbox;
}
const graphqlSseQuery = print(PodEventsDocument);

beforeEach(async () => {
  cluster = new MemoryCluster();
  cluster.create(podResource, podObject({ name: "etl-1", namespace: project, user: "alice", state: "ready" }));
  cluster.create(podResource, podObject({ name: "etl-2", namespace: project, user: "alice", state: "creating" }));
  proxy = new SwitchableProxy();
  address = await proxy.listen();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await proxy.close();
  await Promise.all(replicas.splice(0).map((replica) => replica.close()));
});

describe.each(clientKinds)("$kind", ({ connect }) => {
  /** The helper over this client, through the proxy: its events as lines, and the `after` of each subscription. */
  function subscribe() {
    const { transport, client } = connect(address);
    const events = new Inbox<string>();
    const afters: (string | undefined)[] = [];
    const subscription = new ResumableSubscription({
      transport,
      variables: { project },
      onSubscribe: (after) => afters.push(after),
      onEvent: (event) => events.push(line(event)),
      onState: (state) => {
        if (state.phase === "error") events.end(state.message);
      },
      backoff: (attempt) => Math.min(400, 25 * 2 ** attempt),
    }).start();
    cleanups.push(() => {
      subscription.stop();
      client.dispose();
    });
    return { events, afters, subscription };
  }

  it("comes back after kubesub A shuts down, on replica B, with exactly the changes missed and resumed: true", async () => {
    const b = await start();
    const uninterrupted = reference(b.origin);
    await uninterrupted.take({ until: isComplete });
    const a = await start();
    proxy.route(a.origin);

    const { events, afters, subscription } = subscribe();
    const snapshot = await events.take({ until: isComplete });
    expect(snapshot.map((e) => e.replace(/ @.*/, ""))).toEqual([
      "PodAdded etl-1 INITIAL_STATE",
      "PodAdded etl-2 INITIAL_STATE",
      "InitialStateComplete 2 resumed=false",
    ]);
    setState("etl-2", "ready");
    const [live] = await events.take({ count: 1 });
    expect(live).toMatch(/^PodUpdated etl-2 \[.*status.*\] @/);
    expect(await uninterrupted.take({ count: 1 })).toEqual([live]);
    const cursorBefore = subscription.cursor;

    // A goes (its streams end with SHUTTING_DOWN); nothing answers at the address for a while.
    proxy.route(undefined);
    await a.close();
    await proxy.nextRefusal();
    cluster.update<KubePod>(podResource, project, "etl-1", (pod) => setPodState(pod, { stuck: "CrashLoopBackOff" }, 2));
    cluster.create(podResource, podObject({ name: "etl-3", namespace: project, user: "alice" }));
    cluster.delete(podResource, project, "etl-2");
    const missed = await uninterrupted.take({ count: 3 });

    proxy.route(b.origin);
    const resumed = await events.take({ until: isComplete, timeoutMs: 10_000 });
    expect(resumed).toEqual([...missed, "InitialStateComplete 3 resumed=true"]);
    expect(afters[0]).toBeUndefined();
    // From the last cursor received: SHUTTING_DOWN's, the views' position then, which is its last change's.
    expect(afters.at(-1)).not.toBe(cursorBefore);
    expect(decodeCursor(afters.at(-1) ?? "")?.views).toEqual(decodeCursor(cursorBefore ?? "")?.views);

    // Live again, on B.
    cluster.create(podResource, podObject({ name: "etl-4", namespace: project, user: "alice" }));
    const [next] = await events.take({ count: 1 });
    expect(next).toMatch(/^PodAdded etl-4 CLUSTER_CHANGE @/);
    expect(await uninterrupted.take({ count: 1 })).toEqual([next]);
    expect(events.untaken).toEqual([]);
  });

  it("comes back on the same kubesub after the connection is cut, with exactly the changes missed and resumed: true", async () => {
    const a = await start();
    const uninterrupted = reference(a.origin);
    await uninterrupted.take({ until: isComplete });
    proxy.route(a.origin);
    const { events } = subscribe();
    await events.take({ until: isComplete });

    proxy.route(undefined);
    proxy.cut();
    await proxy.nextRefusal();
    setState("etl-2", "ready");
    cluster.delete(podResource, project, "etl-1");
    const missed = await uninterrupted.take({ count: 2 });

    proxy.route(a.origin);
    expect(await events.take({ until: isComplete, timeoutMs: 10_000 })).toEqual([...missed, "InitialStateComplete 2 resumed=true"]);
    expect(events.untaken).toEqual([]);
  });
});
