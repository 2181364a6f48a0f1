// Stock clients come back by themselves: graphql-sse's client with its default options (both SSE
// modes), and urql and Apollo Client over it, subscribed through one address (a switchable TCP
// proxy, as a Service) to replica A. A shuts down while B takes over the address: the client reads
// StreamError SHUTTING_DOWN (why), then sees its connection close without `complete`, and
// graphql-sse's own retry subscribes again, on B, without application code. Without `after`, the
// stream starts again with a snapshot, and live changes follow.
import { print } from "graphql";
import { createClient } from "graphql-sse";
import { afterEach, expect, it } from "vitest";
import { PodEventsDocument, type PodEventsSubscription } from "../../examples/generated/graphql.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import type { TypedClient } from "../helpers/clients.ts";
import { apolloClient } from "../helpers/clients-apollo.ts";
import { urqlClient } from "../helpers/clients-urql.ts";
import { type RunningKubesub, startKubesub } from "../helpers/kubesub-server.ts";
import { podFixture } from "../helpers/pods.ts";
import { SwitchableProxy } from "../helpers/tcp-proxy.ts";

const project = "team-a";
const key = "the replicas' shared stream token key, 32+ chars";
type PodEvent = PodEventsSubscription["podEvents"];

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A plain graphql-sse client as TypedClient: default options but the URL and the mode. */
function graphqlSse(origin: string, singleConnection: boolean): TypedClient {
  const client = createClient({ url: `${origin}${singleConnection ? "/graphql/stream" : "/graphql"}`, singleConnection });
  return {
    name: "graphql-sse",
    query: () => Promise.reject(new Error("not used")),
    subscription: (document, variables) => (sink) =>
      client.subscribe(
        { query: print(document), variables: variables as Record<string, unknown> },
        {
          next: (result) => (result.data ? sink.next(result.data as never) : sink.error(result.errors)),
          error: (error) => sink.error(error),
          complete: () => sink.complete(),
        },
      ),
    dispose: () => client.dispose(),
  };
}

const kinds: { kind: string; connect: (origin: string) => TypedClient }[] = [
  { kind: "graphql-sse, default options, distinct connections", connect: (origin) => graphqlSse(origin, false) },
  { kind: "graphql-sse, default options, single connection", connect: (origin) => graphqlSse(origin, true) },
  { kind: "urql over graphql-sse with default options", connect: (origin) => urqlClient(origin, { url: `${origin}/graphql` }) },
  {
    kind: "Apollo Client over graphql-sse with default options, single connection",
    connect: (origin) => apolloClient(origin, { url: `${origin}/graphql/stream`, singleConnection: true }),
  },
];

async function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const { kind, connect } of kinds) {
  it(`${kind}: streams again by itself after the replica serving it shuts down`, async () => {
    const cluster = new MemoryCluster();
    cluster.create(podResource, podFixture(project, "alice-1", { user: "alice" }));
    const start = () =>
      startKubesub((type, namespace) => cluster.source(type, namespace), { security: { streamTokenKey: key }, shutdownTimeoutMs: 2_000 });
    const a: RunningKubesub = await start();
    const b: RunningKubesub = await start();
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    const proxy = new SwitchableProxy();
    const origin = await proxy.listen();
    cleanups.push(() => proxy.close());
    proxy.route(a.origin);

    const client = connect(origin);
    cleanups.push(() => client.dispose());
    const lines: string[] = [];
    let ended: string | undefined;
    const unsubscribe = client.subscription(PodEventsDocument, { project })({
      next: (data) => {
        const event = (data as PodEventsSubscription).podEvents as PodEvent;
        lines.push(
          event.__typename === "StreamError"
            ? `StreamError ${event.code}`
            : event.__typename === "PodAdded"
              ? `PodAdded ${event.pod.name} ${event.cause}`
              : event.__typename,
        );
      },
      error: (error) => {
        ended = `error ${String(error)}`;
      },
      complete: () => {
        ended = "complete";
      },
    });
    cleanups.push(() => unsubscribe());
    await until(() => lines.includes("InitialStateComplete"), "the first initial state", 5_000);
    expect(a.app.openStreams).toBe(1);

    proxy.route(b.origin);
    await a.close();
    // graphql-sse's default backoff waits 1.3 to 4 s before its first retry.
    await until(() => lines.filter((l) => l === "InitialStateComplete").length === 2, "the initial state from B", 12_000);
    expect(ended).toBeUndefined();
    expect(b.app.openStreams).toBe(1);
    const first = lines.indexOf("InitialStateComplete");
    expect(lines.slice(first + 1)).toEqual(["StreamError SHUTTING_DOWN", "PodAdded alice-1 INITIAL_STATE", "InitialStateComplete"]);

    cluster.create(podResource, podFixture(project, "alice-2", { user: "alice" }));
    await until(() => lines.at(-1) === "PodAdded alice-2 CLUSTER_CHANGE", "a live change from B", 5_000);
  });
}
