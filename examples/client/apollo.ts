// Apollo Client's transport for ResumableSubscription (./resumable.ts): each (re)subscription is
// client.subscribe() with the variables of that attempt, fetchPolicy "no-cache" (each event is a
// change, not an entity to normalise). Over a graphql-sse link, build that graphql-sse client with
// retryAttempts: 0, so that every retry goes through the loop, with the last cursor.
import { type ApolloClient, CombinedGraphQLErrors, type OperationVariables } from "@apollo/client";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { isRetryableNetworkError, isRetryableResult, type ResumableVariables, type Transport } from "./resumable.ts";

export function apolloTransport<TData, TVariables extends ResumableVariables & OperationVariables>(
  client: ApolloClient,
  document: TypedDocumentNode<TData, TVariables>,
): Transport<TData, TVariables> {
  return (variables, sink) => {
    const subscription = client.subscribe<TData, TVariables>({ query: document, variables, fetchPolicy: "no-cache" }).subscribe({
      // Apollo turns a link's error into a last result with error set, then completes.
      next: (result) => {
        if (result.error) sink.error(result.error, retryable(result.error));
        else if (result.data) sink.next(result.data as TData);
      },
      error: (error: unknown) => sink.error(error, retryable(error)),
      complete: () => sink.complete(),
    });
    return () => subscription.unsubscribe();
  };
}

function retryable(error: unknown): boolean {
  return CombinedGraphQLErrors.is(error) ? isRetryableResult(error.errors) : isRetryableNetworkError(error);
}
