import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import { useGraphQLSSE } from "@graphql-yoga/plugin-graphql-sse";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { GraphQLError, type GraphQLSchema } from "graphql";
import { createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import type { Logger } from "pino";
import type { Context } from "../schema/context.ts";
import type { StreamAccess } from "../streams/access.ts";
import { errorMasker, maskedMessage } from "./mask-error.ts";
import { useSharedSse } from "./sse-result-processor.ts";
import { useNoBuffering } from "./use-no-buffering.ts";
import { type QueryLimits, useQueryLimits } from "./use-query-limits.ts";
import { useSharedExecution } from "./use-shared-execution.ts";

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
  const plugins: Plugin[] = [
    useGraphQLSSE({ endpoint: "/graphql/stream" }),
    useSharedExecution(),
    useSharedSse({ maskError }),
    useNoBuffering(),
    ...useQueryLimits(options.limits),
  ];
  if (!options.introspection) plugins.push(useDisableIntrospection());
  return createYoga<ServerContext, Context>({
    schema: options.schema,
    context: ({ access }) => ({ ...options.services, access }),
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
            allowedHeaders: ["authorization", "content-type", "accept"],
            methods: ["GET", "POST"],
          }
        : false,
    maskedErrors: { maskError, errorMessage: maskedMessage },
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(" ")),
      info: (...args) => logger.info(args.map(String).join(" ")),
      warn: (...args) => logger.warn(args.map(String).join(" ")),
      // An error in a resolver has been logged once, with its cause, by maskError above.
      error: (...args) => {
        if (!args.some((arg) => arg instanceof GraphQLError)) logger.error(args.map(String).join(" "));
      },
    },
    plugins,
  });
}
