// urql (@urql/core 6) against kubesub: queries with fetchExchange, subscriptions with
// subscriptionExchange over graphql-sse's client (graphql-sse's recipe for urql).
import { type Exchange, fetchExchange, subscriptionExchange, Client as UrqlClient } from "@urql/core";
import { type ClientOptions, createClient } from "graphql-sse";
import { onEnd, pipe, subscribe } from "wonka";
import type { TypedClient } from "./clients.ts";

/**
 * A urql client for kubesub at origin: subscriptions over SSE with the given graphql-sse options,
 * queries over HTTP to /graphql; with a cache exchange (Graphcache's) in front when given, else
 * none.
 */
export function urqlClient(origin: string, sse: ClientOptions<boolean>, cache?: Exchange): TypedClient & { urql: UrqlClient } {
  const sseClient = createClient(sse);
  const client = new UrqlClient({
    url: `${origin}/graphql`,
    exchanges: [
      ...(cache ? [cache] : []),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: sseClient.subscribe({ ...request, query: request.query ?? "" }, sink) }),
        }),
      }),
    ],
  });
  return {
    name: "urql",
    urql: client,
    async query(document, variables) {
      const result = await client.query(document, variables, { requestPolicy: "network-only" }).toPromise();
      if (result.error || !result.data) throw result.error ?? new Error("no data");
      return result.data;
    },
    subscription(document, variables) {
      return (sink) => {
        // urql ends a subscription's source when the server completes it (subscriptionExchange
        // tears the operation down); onEnd also runs when this side unsubscribes.
        let unsubscribed = false;
        const { unsubscribe } = pipe(
          client.subscription(document, variables),
          onEnd(() => {
            if (!unsubscribed) sink.complete();
          }),
          subscribe((result) => {
            if (result.error || !result.data) sink.error(result.error ?? new Error("no data"));
            else sink.next(result.data);
          }),
        );
        return () => {
          unsubscribed = true;
          unsubscribe();
        };
      };
    },
    dispose() {
      sseClient.dispose();
    },
  };
}
