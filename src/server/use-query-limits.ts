import { costLimitPlugin } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
}

/**
 * graphql-armor's limits on depth, aliases, tokens and cost. A refused operation gets one error
 * with extensions.code QUERY_TOO_COMPLEX that says which limit it passed.
 */
export function useQueryLimits(limits: QueryLimits): Plugin[] {
  const reject = (limit: string) => ({
    exposeLimits: true,
    propagateOnRejection: true,
    onReject: [
      (_context: unknown, error: GraphQLError) => {
        throw new GraphQLError(error.message, { extensions: { code: "QUERY_TOO_COMPLEX", limit } });
      },
    ],
  });
  return [
    maxTokensPlugin({ n: limits.maxTokens, ...reject("tokens") }) as Plugin,
    // Fragments are measured where they are spread, not as levels of their own, so a client that
    // factors its selections into fragments (as graphql-codegen users do) is not penalised.
    maxDepthPlugin({ n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...reject("depth") }) as Plugin,
    maxAliasesPlugin({ n: limits.maxAliases, ...reject("aliases") }) as Plugin,
    costLimitPlugin({ maxCost: limits.maxCost, ignoreIntrospection: true, flattenFragments: true, ...reject("cost") }) as Plugin,
  ];
}
