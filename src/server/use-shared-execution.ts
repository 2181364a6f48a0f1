import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionResult,
  executeSubscriptionEvent,
  GraphQLError,
  mapSourceToResponseEvent,
  type ValidatedSubscriptionArgs,
  validateSubscriptionArgs,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import { SubscriberQueue } from "../streams/subscriber-queue.ts";

type Result = ExecutionResult | Promise<ExecutionResult>;

/**
 * A subscription whose events the SSE transport may take straight from kubesub's queue, executing
 * each with execute(), instead of pulling them one promise at a time through graphql-js's and
 * envelop's iterators. Keyed by the request that opened it.
 */
export interface DirectChannel {
  source: SubscriberQueue<unknown>;
  execute(event: unknown): Result;
}

const channels = new WeakMap<Request, DirectChannel>();

/** The direct channel of a subscription request, handed out once. */
export function takeDirectChannel(request: Request): DirectChannel | undefined {
  const channel = channels.get(request);
  channels.delete(request);
  return channel;
}

/**
 * Executes each subscription event once per distinct operation, however many subscribers run it.
 *
 * Subscribers with the same filter receive the same event objects (streams/shared-feed.ts). For an
 * event object, the same document and variables give the same result, so the result is computed
 * once, kept in a WeakMap on the event (collected with it), and handed to every subscriber; the
 * SSE transport then serialises it once too (sse-result-processor.ts). Apollo Router's subscription
 * deduplication and graphql-ruby's broadcast subscriptions do the same.
 *
 * Contract that makes this correct: resolvers below a subscription field read only the event
 * (their parent), never the context. Authorization happens before a stream opens and on its
 * re-checks, per subscriber, not in field resolvers.
 */
export function useSharedExecution(): Plugin {
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 0;
  const results = new WeakMap<object, Map<string, Result>>();

  const documentId = (document: DocumentNode) => {
    let id = documentIds.get(document);
    if (id === undefined) {
      nextDocumentId += 1;
      id = nextDocumentId;
      documentIds.set(document, id);
    }
    return id;
  };

  const executeShared = (validated: ValidatedSubscriptionArgs, operation: string, event: unknown): Result => {
    const perEvent = { ...validated, rootValue: event };
    if (typeof event !== "object" || event === null) return executeSubscriptionEvent(perEvent);
    let byOperation = results.get(event);
    if (!byOperation) {
      byOperation = new Map();
      results.set(event, byOperation);
    }
    let result = byOperation.get(operation);
    if (!result) {
      result = executeSubscriptionEvent(perEvent);
      byOperation.set(operation, result);
    }
    return result;
  };

  return {
    onSubscribe({ args, setSubscribeFn }) {
      const request = (args.contextValue as { request?: Request }).request;
      setSubscribeFn(async (subscribeArgs) => {
        const validated = validateSubscriptionArgs(subscribeArgs);
        if (!("schema" in validated)) {
          // Variables that do not fit their types: the caller's mistake, as for any other argument. No
          // HTTP status of its own: over SSE the errors must arrive in a `next` event of an
          // accepted stream (graphql-sse's PROTOCOL.md), which a 400 would prevent.
          const errors = validated.map(
            (error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: "BAD_USER_INPUT", ...error.extensions } }),
          );
          return { errors };
        }
        const source = await createSourceEventStream(validated);
        if (!(Symbol.asyncIterator in source)) return source;
        // The subscription lives no longer than its request: a client that leaves before its
        // response is written (or whose response is never written) releases it all the same.
        if (request) endWithRequest(source, request.signal);
        const operation = `${documentId(subscribeArgs.document)}\u0000${subscribeArgs.operationName ?? ""}\u0000${JSON.stringify(subscribeArgs.variableValues ?? {})}`;
        // Events execute without the request's context: their results are shared between callers
        // (see the contract above), and an open stream then holds none of its request's objects.
        const eventArgs = { ...validated, contextValue: undefined };
        const execute = (event: unknown) => executeShared(eventArgs, operation, event);
        if (request && source instanceof SubscriberQueue) channels.set(request, { source, execute });
        return mapSourceToResponseEvent(validated, source, (perEvent) => execute(perEvent.rootValue));
      });
    },
  };
}

function endWithRequest(source: AsyncIterable<unknown> & Partial<AsyncIterator<unknown>>, signal: AbortSignal): void {
  if (signal.aborted) {
    void source.return?.();
    return;
  }
  signal.addEventListener("abort", () => void source.return?.(), { once: true });
}
