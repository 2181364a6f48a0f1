import { GraphQLError } from "graphql";
import type { Logger } from "pino";

/** The message a client sees for anything that is not one of kubesub's coded GraphQL errors. */
export const maskedMessage = "Unexpected error.";

/**
 * Errors are normalised once, here: a GraphQLError (each of kubesub's carries extensions.code)
 * reaches the client as it is; anything else is logged once, with its cause, and replaced by
 * "Unexpected error." with code INTERNAL_SERVER_ERROR, so no stack trace or internal detail leaks.
 */
export function errorMasker(logger: Logger): (error: unknown, message?: string) => Error {
  return (error, message = maskedMessage) => {
    const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
    if (original instanceof GraphQLError) return original;
    logger.error({ err: original }, "unexpected error in a resolver");
    return new GraphQLError(message, { extensions: { code: "INTERNAL_SERVER_ERROR" } });
  };
}
