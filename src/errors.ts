import { GraphQLError } from "graphql";

/**
 * Errors a client may see. Each carries extensions.code; anything else that escapes a resolver is
 * masked at the edge (server/yoga.ts) and logged once.
 */
export class BadUserInputError extends GraphQLError {
  constructor(message: string, argument?: string) {
    super(message, { extensions: { code: "BAD_USER_INPUT", ...(argument ? { argument } : {}) } });
    this.name = "BadUserInputError";
  }
}

/** The cluster could not be read: the apiserver is unreachable, or kubesub itself lacks access. */
export class SourceUnavailableError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: "SOURCE_UNAVAILABLE" } });
    this.name = "SourceUnavailableError";
  }
}

/** The caller may not read this. Names the resource and namespace; says nothing about what exists there. */
export class ForbiddenError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: "FORBIDDEN" } });
    this.name = "ForbiddenError";
  }
}
