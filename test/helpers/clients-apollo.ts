// Apollo Client 4 against kubesub: queries over HttpLink, subscriptions over a small ApolloLink
// around graphql-sse's client (graphql-sse's recipe for Apollo).
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { isSubscriptionOperation } from "@apollo/client/utilities";
import { print } from "graphql";
import { type Client, type ClientOptions, createClient } from "graphql-sse";
import { Observable } from "rxjs";
import type { TypedClient } from "./clients.ts";

/** Sends each operation it gets over GraphQL over SSE: one graphql-sse subscription per operation. */
export class SseLink extends ApolloLink {
  private readonly client: Client<boolean>;

  constructor(options: ClientOptions<boolean>) {
    super();
    this.client = createClient(options);
  }

  override request(operation: ApolloLink.Operation): Observable<ApolloLink.Result> {
    return new Observable((observer) =>
      this.client.subscribe<Record<string, unknown>, Record<string, unknown>>(
        {
          query: print(operation.query),
          variables: operation.variables,
          ...(operation.operationName ? { operationName: operation.operationName } : {}),
          extensions: operation.extensions,
        },
        {
          next: (result) => observer.next(result),
          error: (error) => observer.error(error),
          complete: () => observer.complete(),
        },
      ),
    );
  }

  /** Ends every subscription and connection of the link. */
  dispose(): void {
    this.client.dispose();
  }
}

/**
 * An Apollo Client for kubesub at origin: subscriptions over SSE with the given graphql-sse
 * options, queries and mutations over HTTP POST to /graphql.
 *
 * Subscriptions use fetchPolicy "no-cache": each event describes a change, not an entity to
 * normalise, and a UI keeps its own list from them.
 */
export function apolloClient(origin: string, sse: ClientOptions<boolean>): TypedClient & { apollo: ApolloClient } {
  const sseLink = new SseLink(sse);
  const client = new ApolloClient({
    link: ApolloLink.split(({ query }) => isSubscriptionOperation(query), sseLink, new HttpLink({ uri: `${origin}/graphql` })),
    cache: new InMemoryCache(),
  });
  return {
    name: "Apollo Client",
    apollo: client,
    async query(document, variables) {
      const result = await client.query({ query: document, variables, fetchPolicy: "network-only" });
      if (result.error || !result.data) throw result.error ?? new Error("no data");
      return result.data;
    },
    subscription(document, variables) {
      return (sink) => {
        const subscription = client.subscribe({ query: document, variables, fetchPolicy: "no-cache" }).subscribe({
          // Apollo turns a link's error into a last result with error set, then completes.
          next: (result) => (result.error || !result.data ? sink.error(result.error ?? new Error("no data")) : sink.next(result.data)),
          error: (error: unknown) => sink.error(error),
          complete: () => sink.complete(),
        });
        return () => subscription.unsubscribe();
      };
    },
    dispose() {
      client.stop();
      sseLink.dispose();
    },
  };
}
