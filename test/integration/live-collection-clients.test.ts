// The live collection helper (examples/client/live-collection.ts) with each client, over real HTTP
// against the real kubesub on the in-memory cluster: graphql-sse, urql and Apollo Client reach
// kubesub through one address (a switchable TCP proxy, as a Service in front of replicas). What a
// UI would show, the collection of pods, is compared with the cluster's pods (key and
// resourceVersion) after the snapshot, after live changes, after a reconnect that resumes and after
// one that gets a fresh snapshot; and the helper stops for good on FORBIDDEN and BAD_USER_INPUT.
import { createClient } from "graphql-sse";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apolloTransport } from "../../examples/client/apollo.ts";
import { type PodCollections, podStream } from "../../examples/client/kubesub-streams.ts";
import { LiveCollection, type LiveSnapshot } from "../../examples/client/live-collection.ts";
import { graphqlSseTransport, type Transport } from "../../examples/client/resumable.ts";
import { urqlTransport } from "../../examples/client/urql.ts";
import { PodEventsDocument, type PodEventsSubscription, type PodEventsSubscriptionVariables } from "../../examples/generated/graphql.ts";
import type { KubePod } from "../../src/domain/pod.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import type { KubesubOverrides } from "../../src/options.ts";
import type { Authorizer } from "../../src/server/auth/authorizer.ts";
import { apolloClient } from "../helpers/clients-apollo.ts";
import { urqlClient } from "../helpers/clients-urql.ts";
import { podObject, setPodState } from "../helpers/ide-dask-fixtures.ts";
import { type RunningKubesub, startKubesub } from "../helpers/kubesub-server.ts";
import { SwitchableProxy } from "../helpers/tcp-proxy.ts";

const project = "team-a";
type Pods = LiveSnapshot<PodEventsSubscription, PodCollections>;
type PodTransport = Transport<PodEventsSubscription, PodEventsSubscriptionVariables>;

/** Each client over an address, with the headers it sends (a bearer token, for the FORBIDDEN case). */
const clientKinds: {
  kind: string;
  connect: (origin: string, headers?: Record<string, string>) => { transport: PodTransport; dispose(): void };
}[] = [
  {
    kind: "graphql-sse, distinct connections (/graphql), with its own retries",
    connect: (origin, headers = {}) => {
      const client = createClient({
        url: `${origin}/graphql`,
        headers,
        retryAttempts: 5,
        retry: () => new Promise((r) => setTimeout(r, 50)),
      });
      return { transport: graphqlSseTransport(client, PodEventsDocument), dispose: () => client.dispose() };
    },
  },
  {
    kind: "urql, single connection (/graphql/stream)",
    connect: (origin, headers = {}) => {
      const client = urqlClient(origin, { url: `${origin}/graphql/stream`, headers, singleConnection: true, retryAttempts: 0 });
      return { transport: urqlTransport(client.urql, PodEventsDocument), dispose: () => client.dispose() };
    },
  },
  {
    kind: "Apollo Client, distinct connections (/graphql)",
    connect: (origin, headers = {}) => {
      const client = apolloClient(origin, { url: `${origin}/graphql`, headers, retryAttempts: 0 });
      return { transport: apolloTransport(client.apollo, PodEventsDocument), dispose: () => client.dispose() };
    },
  },
];

let cluster: MemoryCluster;
let proxy: SwitchableProxy;
let address: string;
const replicas: RunningKubesub[] = [];
const cleanups: (() => void)[] = [];

async function start(overrides: KubesubOverrides = {}): Promise<RunningKubesub> {
  const replica = await startKubesub((type, namespace) => cluster.source(type, namespace), overrides);
  replicas.push(replica);
  return replica;
}

const setState = (name: string, state: Parameters<typeof setPodState>[1], restarts?: number) =>
  cluster.update<KubePod>(podResource, project, name, (pod) => setPodState(pod, state, restarts));

/** The project's pods in the cluster, as "namespace/name resourceVersion", sorted. */
const clusterPods = () =>
  cluster
    .objectsOf<KubePod>(podResource, project)
    .map((pod) => `${pod.metadata?.namespace}/${pod.metadata?.name} ${pod.metadata?.resourceVersion}`)
    .sort();

/** The pods a UI would show, in the same form. */
const shown = (snapshot: Pods) => [...snapshot.collections.pods].map(([key, pod]) => `${key} ${pod.resourceVersion}`).sort();

type Collection = LiveCollection<PodEventsSubscription, PodEventsSubscriptionVariables, PodCollections>;

/**
 * Resolves with the first snapshot (the current one, or one told to listeners) that accepts;
 * rejects after timeoutMs with the last one seen.
 */
function until(collection: Collection, accepts: (snapshot: Pods) => boolean, timeoutMs = 10_000): Promise<Pods> {
  return new Promise((resolve, reject) => {
    const done = (snapshot: Pods) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(snapshot);
    };
    const timer = setTimeout(() => {
      unsubscribe();
      const last = collection.getSnapshot();
      reject(
        new Error(
          `timed out after ${timeoutMs} ms: ${JSON.stringify({ ...last, collections: shown(last), unavailable: [...last.unavailable.keys()] })}`,
        ),
      );
    }, timeoutMs);
    const unsubscribe = collection.subscribe((_update, snapshot) => {
      if (accepts(snapshot)) done(snapshot);
    });
    if (accepts(collection.getSnapshot())) done(collection.getSnapshot());
  });
}

/** Live (after an InitialStateComplete), showing exactly the cluster's pods. */
const liveWithClusterPods = (snapshot: Pods) =>
  snapshot.connection.phase === "live" && JSON.stringify(shown(snapshot)) === JSON.stringify(clusterPods());

beforeEach(async () => {
  cluster = new MemoryCluster();
  cluster.create(podResource, podObject({ name: "etl-1", namespace: project, user: "alice", state: "ready" }));
  cluster.create(podResource, podObject({ name: "etl-2", namespace: project, user: "alice", state: "creating" }));
  cluster.create(podResource, podObject({ name: "etl-3", namespace: project, user: "alice", state: "ready" }));
  proxy = new SwitchableProxy();
  address = await proxy.listen();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await proxy.close();
  await Promise.all(replicas.splice(0).map((replica) => replica.close()));
});

describe.each(clientKinds)("$kind", ({ connect }) => {
  function collect(origin: string, options: { project?: string; headers?: Record<string, string> } = {}): Collection {
    const client = connect(origin, options.headers);
    const collection = new LiveCollection({
      transport: client.transport,
      variables: { project: options.project ?? project },
      stream: podStream,
      backoff: (attempt) => Math.min(400, 25 * 2 ** attempt),
    }).start();
    cleanups.push(() => {
      collection.stop();
      client.dispose();
    });
    return collection;
  }

  it("equals the cluster after the snapshot, after live changes, and after a resumed reconnect with changes made while away", async () => {
    // A lone client that reconnects within the linger resumes on the same kubesub.
    const a = await start({ historyLingerMs: 30_000 });
    proxy.route(a.origin);
    const pods = collect(address);
    const first = await until(pods, liveWithClusterPods);
    expect(first.connection).toEqual({ phase: "live", resumed: false });
    expect(first.collections.pods.get(`${project}/etl-2`)).toMatchObject({
      name: "etl-2",
      namespace: project,
      status: "ContainerCreating",
    });

    setState("etl-2", "ready");
    cluster.create(podResource, podObject({ name: "etl-4", namespace: project, user: "bob" }));
    cluster.delete(podResource, project, "etl-3");
    const live = await until(pods, liveWithClusterPods);
    expect(live.collections.pods.get(`${project}/etl-2`)?.status).toBe("Running");

    // The connection drops; pods change while nothing answers.
    proxy.route(undefined);
    proxy.cut();
    await until(pods, (snapshot) => snapshot.connection.phase === "reconnecting");
    await proxy.nextRefusal();
    setState("etl-1", { stuck: "CrashLoopBackOff" }, 2);
    cluster.delete(podResource, project, "etl-2");
    cluster.create(podResource, podObject({ name: "etl-5", namespace: project, user: "bob" }));

    proxy.route(a.origin);
    const resumed = await until(pods, liveWithClusterPods);
    expect(resumed.connection).toEqual({ phase: "live", resumed: true });
    expect(resumed.collections.pods.has(`${project}/etl-2`)).toBe(false);
    expect(resumed.collections.pods.get(`${project}/etl-1`)).toMatchObject({ status: "CrashLoopBackOff", restarts: 2 });
    expect(resumed.resubscribes).toBeGreaterThan(0);

    cluster.create(podResource, podObject({ name: "etl-6", namespace: project, user: "bob" }));
    await until(pods, liveWithClusterPods);
  });

  it("after a reconnect that gets a fresh snapshot (resumed: false), shows the old pods until InitialStateComplete, then exactly the new ones", async () => {
    const a = await start();
    proxy.route(a.origin);
    const pods = collect(address);
    const before = await until(pods, liveWithClusterPods);
    const shownSince: string[][] = [];
    pods.subscribe((_update, snapshot) => shownSince.push(shown(snapshot)));

    // A shuts down (SHUTTING_DOWN, retryable); meanwhile a pod is deleted, one changes, one is created.
    proxy.route(undefined);
    await a.close();
    await until(pods, (snapshot) => snapshot.connection.phase === "reconnecting");
    expect(pods.getSnapshot().lastStreamError).toMatchObject({ code: "SHUTTING_DOWN", retryable: true });
    await proxy.nextRefusal();
    cluster.delete(podResource, project, "etl-1");
    setState("etl-2", "ready");
    cluster.create(podResource, podObject({ name: "etl-9", namespace: project, user: "bob" }));

    // B has no history of the project: it answers the cursor with a snapshot.
    const b = await start();
    proxy.route(b.origin);
    const after = await until(pods, liveWithClusterPods);
    expect(after.connection).toEqual({ phase: "live", resumed: false });
    expect(after.collections.pods.has(`${project}/etl-1`)).toBe(false);
    expect(after.resubscribes).toBeGreaterThan(0);
    // Every collection a UI was shown in between: the old one, or the whole new one.
    const allowed = new Set([JSON.stringify(shown(before)), JSON.stringify(shown(after))]);
    expect(shownSince.map((pods) => JSON.stringify(pods)).filter((pods) => !allowed.has(pods))).toEqual([]);
    expect(shownSince.at(-1)).toEqual(shown(after));
  });

  it("stops for good when kubesub revokes access (StreamError FORBIDDEN, not retryable), keeping the last pods shown", async () => {
    let allowed = true;
    const authorizer: Authorizer = {
      authorize: async () => (allowed ? { allowed: true, reason: "" } : { allowed: false, reason: "no RoleBinding" }),
    };
    const kubesub = await start({
      auth: {
        mode: "kubernetes",
        authenticator: { authenticate: async () => ({ username: "alice", uid: "", groups: [], extra: {} }) },
        authorizer,
      },
      security: { recheckIntervalMs: 100 },
    });
    const pods = collect(kubesub.origin, { headers: { authorization: "Bearer alice-token" } });
    const live = await until(pods, liveWithClusterPods);

    allowed = false;
    const stopped = await until(pods, (snapshot) => snapshot.connection.phase === "error");
    expect(stopped.connection).toMatchObject({
      phase: "error",
      code: "FORBIDDEN",
      message: expect.stringMatching(/^FORBIDDEN: access revoked/),
    });
    expect(stopped.lastStreamError).toMatchObject({ code: "FORBIDDEN", retryable: false });
    expect(stopped.resubscribes).toBe(0);
    expect(shown(stopped)).toEqual(shown(live));
  });

  it("stops at once, without retrying, when kubesub refuses the subscription (BAD_USER_INPUT)", async () => {
    const kubesub = await start();
    const pods = collect(kubesub.origin, { project: "Not_A_Namespace" });
    const refused = await until(pods, (snapshot) => snapshot.connection.phase === "error");
    expect(refused.connection).toMatchObject({
      phase: "error",
      code: "BAD_USER_INPUT",
      message: expect.stringContaining("not a valid namespace name"),
    });
    expect(refused).toMatchObject({ loaded: false, resubscribes: 0, lastStreamError: undefined });
  });
});
