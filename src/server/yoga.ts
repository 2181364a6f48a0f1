import { useGraphQLSSE } from "@graphql-yoga/plugin-graphql-sse";
import { GraphQLError, type GraphQLSchema } from "graphql";
import { createYoga, type YogaServerInstance } from "graphql-yoga";
import type { Logger } from "pino";
import type { Context } from "../schema/context.ts";
import { useNoBuffering } from "./use-no-buffering.ts";

export interface YogaOptions {
  schema: GraphQLSchema;
  context: Context;
  logger: Logger;
}

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
 *
 * Errors: GraphQLErrors (each with extensions.code) reach the client as they are; anything else is
 * logged once here and replaced by "Unexpected error." with code INTERNAL_SERVER_ERROR.
 */
export function createKubesubYoga(options: YogaOptions): YogaServerInstance<Record<string, unknown>, Context> {
  const { logger } = options;
  return createYoga<Record<string, unknown>, Context>({
    schema: options.schema,
    context: () => options.context,
    graphqlEndpoint: "/graphql",
    landingPage: false,
    graphiql: { title: "kubesub", subscriptionsProtocol: "SSE", defaultQuery: exampleOperation },
    maskedErrors: {
      maskError(error, message) {
        const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
        if (original instanceof GraphQLError) return original;
        logger.error({ err: original }, "unexpected error in a resolver");
        return new GraphQLError(message, { extensions: { code: "INTERNAL_SERVER_ERROR" } });
      },
    },
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(" ")),
      info: (...args) => logger.info(args.map(String).join(" ")),
      warn: (...args) => logger.warn(args.map(String).join(" ")),
      error: (...args) => logger.error(args.map(String).join(" ")),
    },
    plugins: [useGraphQLSSE({ endpoint: "/graphql/stream" }), useNoBuffering()],
  });
}
