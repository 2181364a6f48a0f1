import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { GraphQLError, type GraphQLSchema, validate } from "graphql";
import { createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import type { Logger } from "pino";
import type { Clock } from "../clock.ts";
import type { Context } from "../schema/context.ts";
import type { StreamAccess } from "../streams/subscribers/access.ts";
import { errorMasker, maskedMessage } from "./mask-error.ts";
import { useErrorResponses } from "./use-error-responses.ts";
import { useNoBuffering } from "./use-no-buffering.ts";
import { type QueryLimits, useQueryLimits } from "./use-query-limits.ts";
import { useSharedSse } from "./use-shared-sse.ts";
import { useSingleConnectionSse } from "./use-single-connection-sse.ts";

/** What the HTTP layer hands to yoga for each request. */
export interface ServerContext extends Record<string, unknown> {
  access: StreamAccess;
}

export interface YogaOptions {
  schema: GraphQLSchema;
  services: Omit<Context, "access">;
  logger: Logger;
  graphiql: boolean;
  introspection: boolean;
  /** Origins allowed by CORS; empty: no cross-origin access. */
  corsOrigins: string[];
  limits: QueryLimits;
  /** See useSingleConnectionSse. */
  reservationTimeoutMs?: number;
  /** See useSingleConnectionSse. */
  streamTokenKey?: string;
  /** Aborted when kubesub shuts down: streams then end in a way graphql-sse's client retries (see useSharedSse). */
  shutdown?: AbortSignal;
  /** Bytes a stream's connection may hold unread before the stream ends with OVERFLOW (both SSE modes). */
  maxBufferedBytes: number;
  /** Runs the transports' timers (pings, reservations). Default systemClock. */
  clock?: Clock;
}

export type KubesubYoga = YogaServerInstance<ServerContext, Context>;

const exampleOperation = `# Every change to alice's pods in team-a, live.
subscription AlicePods {
  podEvents(project: "team-a", user: "alice") {
    __typename
    ... on PodAdded { cause pod { name status ready restarts } }
    ... on PodUpdated { changedFields pod { name status ready restarts } }
    ... on PodDeleted { cause pod { name } }
    ... on InitialStateComplete { count resourceVersion }
    ... on StreamError { code message retryable }
  }
}
`;

/**
 * graphql-yoga with kubesub's transports: GraphQL over SSE in distinct connections mode on
 * /graphql (what GraphiQL uses here) and graphql-sse's single connection mode on /graphql/stream.
 * Errors are masked by mask-error.ts.
 */
export function createKubesubYoga(options: YogaOptions): KubesubYoga {
  const { logger } = options;
  const maskError = errorMasker(logger);
  // Without introspection, "Did you mean …?" in error messages would reveal the schema all the same.
  const hideSuggestions = !options.introspection;
  const plugins: Plugin[] = [
    useSingleConnectionSse({
      endpoint: "/graphql/stream",
      maskError,
      reservationTimeoutMs: options.reservationTimeoutMs,
      streamTokenKey: options.streamTokenKey,
      shutdown: options.shutdown,
      maxBufferedBytes: options.maxBufferedBytes,
      clock: options.clock,
    }),
    useSharedSse({ maskError, clock: options.clock, maxBufferedBytes: options.maxBufferedBytes, shutdown: options.shutdown }),
    useErrorResponses(),
    useNoBuffering(),
    ...useQueryLimits(options.limits),
  ];
  if (hideSuggestions) plugins.push(useDisableIntrospection(), useHiddenSuggestions());
  return createYoga<ServerContext, Context>({
    schema: options.schema,
    context: ({ access, request }) => ({ ...options.services, access, lastEventId: lastEventIdOf(request) }),
    graphqlEndpoint: "/graphql",
    landingPage: false,
    graphiql: options.graphiql ? { title: "kubesub", subscriptionsProtocol: "SSE", defaultQuery: exampleOperation } : false,
    // GraphiQL's scripts and styles served by kubesub itself, not fetched from a CDN: it works
    // offline and in clusters without internet access.
    renderGraphiQL,
    cors:
      options.corsOrigins.length > 0
        ? {
            origin: options.corsOrigins,
            credentials: true,
            // graphql-sse's single connection mode reserves a stream with PUT, ends an operation
            // with DELETE and names the stream in x-graphql-event-stream-token.
            allowedHeaders: ["authorization", "content-type", "accept", "x-graphql-event-stream-token", "x-request-id", "last-event-id"],
            methods: ["GET", "POST", "PUT", "DELETE"],
            exposedHeaders: ["x-request-id"],
          }
        : false,
    maskedErrors: { maskError, errorMessage: maskedMessage },
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(" ")),
      info: (...args) => logger.info(args.map(String).join(" ")),
      warn: (...args) => logger.warn(args.map(String).join(" ")),
      // An error in a resolver has been logged once, with its cause, by maskError above.
      error: (...args) => {
        if (!args.some((arg) => arg instanceof GraphQLError || maskError.logged(arg))) logger.error(args.map(String).join(" "));
      },
    },
    plugins,
  });
}

/**
 * The Last-Event-ID header of a request in distinct connections mode, where one stream is one
 * subscription: an EventSource reconnecting sends the id of the last frame it received, the
 * cursor its subscription resumes after. Not in single connection mode, whose one stream carries
 * many operations.
 */
function lastEventIdOf(request: Request | undefined): string | undefined {
  const header = request?.headers.get("last-event-id");
  if (!header || !request) return undefined;
  return new URL(request.url, "http://localhost").pathname === "/graphql" ? header : undefined;
}

/** Errors that do not suggest names of the schema ("Did you mean …?"), in validation and in variables. */
function useHiddenSuggestions(): Plugin {
  return {
    onValidate({ setValidationFn }) {
      setValidationFn((schema, document, rules) => validate(schema, document, rules, { hideSuggestions: true }));
    },
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn((args) => executeFn({ ...args, hideSuggestions: true } as typeof args));
    },
    onSubscribe({ subscribeFn, setSubscribeFn }) {
      setSubscribeFn((args) => subscribeFn({ ...args, hideSuggestions: true } as typeof args));
    },
  };
}
