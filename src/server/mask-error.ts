import { GraphQLError } from "graphql";
import type { Logger } from "pino";

/** The message a client sees for anything that is not one of kubesub's coded GraphQL errors. */
export const maskedMessage = "Unexpected error.";

export interface ErrorMasker {
  (error: unknown, message?: string): GraphQLError;
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
  const mask = (error: unknown, message = maskedMessage): GraphQLError => {
    const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
    // A GraphQLError without a code is one graphql-js raised: about the request itself (no path: a
    // variable that is missing or of the wrong type), it is the caller's mistake.
    if (original instanceof GraphQLError)
      return withCode(original, original.path === undefined ? "BAD_USER_INPUT" : "INTERNAL_SERVER_ERROR");
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
 * The error with a code: its own if it has one, else `code`; and without the extensions named in
 * `without` (yoga's `http`, for transports other than yoga's). The same error when nothing changes.
 */
export function withCode(error: GraphQLError, code: string, without: readonly string[] = []): GraphQLError {
  const extensions = Object.fromEntries(Object.entries(error.extensions).filter(([key]) => !without.includes(key)));
  const dropped = Object.keys(extensions).length !== Object.keys(error.extensions).length;
  if (typeof extensions.code === "string" && !dropped) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { code, ...extensions },
  });
}
