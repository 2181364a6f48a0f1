// urql's transport for ResumableSubscription (./resumable.ts): each (re)subscription is a urql
// subscription operation with the variables of that attempt (a new `after`, so a new operation key),
// through the client's subscriptionExchange (over graphql-sse: build that graphql-sse client with
// retryAttempts: 0, so that every retry goes through the loop, with the last cursor).
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import type { AnyVariables, Client, CombinedError } from "@urql/core";
import { onEnd, pipe, subscribe } from "wonka";
import { isRetryableNetworkError, isRetryableResult, type ResumableVariables, type Transport } from "./resumable.ts";

export function urqlTransport<TData, TVariables extends ResumableVariables & AnyVariables>(
  client: Client,
  document: TypedDocumentNode<TData, TVariables>,
): Transport<TData, TVariables> {
  return (variables, sink) => {
    // urql ends a subscription's source when the server completes it; onEnd also runs when this
    // side unsubscribes, which is not the server's doing.
    let unsubscribed = false;
    const { unsubscribe } = pipe(
      client.subscription<TData, TVariables>(document, variables),
      onEnd(() => {
        if (!unsubscribed) sink.complete();
      }),
      subscribe((result) => {
        if (result.error) sink.error(result.error, retryable(result.error));
        else if (result.data) sink.next(result.data);
      }),
    );
    return () => {
      unsubscribed = true;
      unsubscribe();
    };
  };
}

function retryable(error: CombinedError): boolean {
  return error.networkError ? isRetryableNetworkError(error.networkError) : isRetryableResult(error.graphQLErrors);
}
