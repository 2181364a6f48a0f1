// Normalised client caches with no configuration, as a UI uses them: Apollo Client with a plain
// new InMemoryCache() (no typePolicies) and urql with Graphcache's cacheExchange() (no keys, no
// updates, no schema), over real HTTP against the real server on an in-memory cluster. A pods query
// puts each Pod in the cache under its __typename and id; a podEvents subscription's PodUpdated
// carries the same Pod (same id) in its new state, so the cached Pod, and the query watching it,
// show the new state without the UI doing anything. The documents are the generated ones
// (examples/operations), which select id on every object and none inside previous.
import { cacheExchange } from "@urql/exchange-graphcache";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { onEnd, pipe, subscribe } from "wonka";
import { PodEventsDocument, type PodEventsSubscription, PodsDocument, type PodsQuery } from "../../examples/generated/graphql.ts";
import type { KubePod } from "../../src/domain/pod.ts";
import { podResource } from "../../src/kube/resources.ts";
import { RestartableKubesub, sseOptions } from "../helpers/clients.ts";
import { apolloClient } from "../helpers/clients-apollo.ts";
import { urqlClient } from "../helpers/clients-urql.ts";
import { podObject, setPodState } from "../helpers/ide-dask-fixtures.ts";
import { Inbox } from "../helpers/streams.ts";

const project = "team-a";
const variables = { project, user: "alice" };

type Pods = PodsQuery["pods"];
type PodEvent = PodEventsSubscription["podEvents"];

/** How a pods answer reads in a failure: "name status ready". */
const line = (pods: Pods | undefined) => (pods ?? []).map((pod) => `${pod.name} ${pod.status} ${pod.ready}`).join(", ");
const statusOf = (pods: Pods | undefined, name: string) => pods?.find((pod) => pod.name === name)?.status;

/** What a test drives: a client watching the pods query, and the same client's podEvents subscription. */
interface CachedClient {
  /** Each answer the watched pods query delivers: from the network first, then every time the cache changes. */
  watched: Inbox<Pods>;
  /** The events of the podEvents subscription, once subscribed. */
  events: Inbox<PodEvent>;
  subscribe(): void;
  /** The pods query read from the cache alone, as a component rendering it would. */
  readCache(): Pods | undefined;
  dispose(): void;
}

const clientKinds: { kind: string; connect: (origin: string) => CachedClient }[] = [
  {
    kind: "Apollo Client, new InMemoryCache()",
    connect: (origin) => {
      const { apollo, dispose } = apolloClient(origin, sseOptions(origin, "distinct"));
      const watched = new Inbox<Pods>(line);
      const events = new Inbox<PodEvent>((event) => event.__typename);
      const query = apollo.watchQuery({ query: PodsDocument, variables }).subscribe({
        next: (result) => {
          if (result.data?.pods) watched.push(result.data.pods as Pods);
        },
        error: (error: unknown) => watched.end(error),
      });
      let subscription: { unsubscribe(): void } | undefined;
      return {
        watched,
        events,
        // The default fetch policy: results are written to the cache.
        subscribe: () => {
          subscription = apollo.subscribe({ query: PodEventsDocument, variables }).subscribe({
            next: (result) => (result.data ? events.push(result.data.podEvents) : events.end(result.error)),
            error: (error: unknown) => events.end(error),
          });
        },
        readCache: () => apollo.readQuery({ query: PodsDocument, variables })?.pods,
        dispose: () => {
          subscription?.unsubscribe();
          query.unsubscribe();
          dispose();
        },
      };
    },
  },
  {
    kind: "urql, Graphcache's cacheExchange()",
    connect: (origin) => {
      const { urql, dispose } = urqlClient(origin, sseOptions(origin, "single"), cacheExchange());
      const watched = new Inbox<Pods>(line);
      const events = new Inbox<PodEvent>((event) => event.__typename);
      const query = pipe(
        urql.query(PodsDocument, variables),
        subscribe((result) => (result.data ? watched.push(result.data.pods) : watched.end(result.error))),
      );
      let subscription: { unsubscribe(): void } | undefined;
      return {
        watched,
        events,
        subscribe: () => {
          subscription = pipe(
            urql.subscription(PodEventsDocument, variables),
            onEnd(() => events.end()),
            subscribe((result) => (result.data ? events.push(result.data.podEvents) : events.end(result.error))),
          );
        },
        readCache: () => urql.readQuery(PodsDocument, variables)?.data?.pods,
        dispose: () => {
          subscription?.unsubscribe();
          query.unsubscribe();
          dispose();
        },
      };
    },
  },
];

let kubesub: RestartableKubesub;
let client: CachedClient | undefined;

beforeEach(async () => {
  kubesub = new RestartableKubesub();
  await kubesub.start();
  kubesub.cluster.create(podResource, podObject({ name: "alice-lab", namespace: project, user: "alice", state: "creating" }));
  kubesub.cluster.create(podResource, podObject({ name: "alice-etl", namespace: project, user: "alice", state: "ready" }));
});

afterEach(async () => {
  client?.dispose();
  client = undefined;
  await kubesub.stop();
});

describe.each(clientKinds)("$kind", ({ connect }) => {
  it("a PodUpdated event updates the Pod that the pods query put in the cache", async () => {
    client = connect(kubesub.origin);
    const [first] = await client.watched.take({ count: 1 });
    expect(line(first)).toBe("alice-lab ContainerCreating false, alice-etl Running true");

    client.subscribe();
    await client.events.take({ until: (event) => event.__typename === "InitialStateComplete" });

    kubesub.cluster.update<KubePod>(podResource, project, "alice-lab", (pod) => setPodState(pod, "ready"));
    const [updated] = await client.events.take({ until: (event) => event.__typename === "PodUpdated" });
    expect(updated).toMatchObject({ pod: { name: "alice-lab", status: "Running" }, previous: { status: "ContainerCreating" } });

    // The query watching the pods shows the new state, and so does the cache read alone.
    const answers = await client.watched.take({ until: (pods) => statusOf(pods, "alice-lab") === "Running" });
    expect(line(answers.at(-1))).toBe("alice-lab Running true, alice-etl Running true");
    expect(line(client.readCache())).toBe("alice-lab Running true, alice-etl Running true");
  });
});
