import { GraphQLError } from "graphql";
import type { Logger } from "pino";

/** The message a client sees for anything that is not one of kubesub's coded GraphQL errors. */
export const maskedMessage = "Unexpected error.";

export interface ErrorMasker {
  (error: unknown, message?: string): Error;
  /** Whether this error was already logged by the masker (yoga logs what it masks once more). */
  logged(error: unknown): boolean;
}

/**
 * Errors are normalised once, here: a GraphQLError reaches the client as it is, with a code
 * (BAD_USER_INPUT for one graphql-js raises about the request itself, such as a variable of the
 * wrong type; every error of kubesub's has its own); anything else is logged once, with its cause,
 * and replaced by "Unexpected error." with code INTERNAL_SERVER_ERROR, so no stack trace or
 * internal detail leaks.
 */
export function errorMasker(logger: Logger): ErrorMasker {
  const logged = new WeakSet<object>();
  const isLogged = (error: unknown) => typeof error === "object" && error !== null && logged.has(error);
  const remember = (error: unknown) => {
    if (typeof error === "object" && error !== null) logged.add(error);
  };
  const mask = (error: unknown, message = maskedMessage): Error => {
    const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
    if (original instanceof GraphQLError) return withCode(original);
    if (!isLogged(original)) logger.error({ err: original }, "unexpected error in a resolver");
    remember(original);
    remember(error);
    return internalError(message);
  };
  return Object.assign(mask, { logged: isLogged });
}

function internalError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "INTERNAL_SERVER_ERROR" } });
}

/**
 * A GraphQLError without a code is one graphql-js raised: about the request (no path: a variable
 * that is missing or of the wrong type) it is the caller's mistake.
 */
function withCode(error: GraphQLError): GraphQLError {
  if (typeof error.extensions.code === "string") return error;
  const code = error.path === undefined ? "BAD_USER_INPUT" : "INTERNAL_SERVER_ERROR";
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}
