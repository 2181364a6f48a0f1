import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import { codeForStatus, errorBody, errorContentType, errorResponse, messageForStatus } from "./http-errors.ts";

/**
 * Every refusal at the GraphQL endpoints is a GraphQL error with a code (http-errors.ts), and a
 * refused subscription releases what it holds:
 * - a request's own mistakes found while reading it (a GET whose `variables` or `extensions` is not
 *   JSON) are 400 BAD_REQUEST, not internal errors;
 * - a subscription whose request cannot take an event stream (no text/event-stream in Accept: the
 *   default of Apollo Client's HttpLink, for example) is ended at once, releasing its slot and its
 *   informers, and answered 406 NOT_ACCEPTABLE with a message saying what to send;
 * - an error answer that yoga or graphql-sse gives without a body (404, 405, 406, 415) gets one.
 */
export function useErrorResponses(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      setRequestParser((request) => {
        try {
          const parsed = requestParser(request);
          return parsed instanceof Promise ? parsed.catch(asRequestError) : parsed;
        } catch (error) {
          return asRequestError(error);
        }
      });
    },
    onResultProcess({ result, resultProcessor, setResultProcessor }) {
      if (resultProcessor || !(typeof result === "object" && result !== null && Symbol.asyncIterator in result)) return;
      void (result as AsyncIterableIterator<unknown>).return?.();
      setResultProcessor(
        (_result, fetchAPI) =>
          errorResponse(
            fetchAPI,
            406,
            {
              message:
                "subscriptions are served as Server-Sent Events: send Accept: text/event-stream, or use graphql-sse on /graphql/stream",
              extensions: { code: "NOT_ACCEPTABLE" },
            },
            { accept: "text/event-stream" },
          ),
        "application/json",
      );
    },
    onResponse({ response, setResponse, fetchAPI }) {
      if (response.status < 400) return;
      const type = response.headers.get("content-type") ?? "";
      if (type.includes("json")) return;
      const headers = new fetchAPI.Headers(response.headers);
      headers.set("content-type", errorContentType);
      headers.delete("content-length");
      const error = {
        message: messageForStatus(response.status, response.statusText),
        extensions: { code: codeForStatus(response.status) },
      };
      setResponse(new fetchAPI.Response(errorBody([error]), { status: response.status, statusText: response.statusText, headers }));
    },
  };
}

/** A SyntaxError while reading the request's parameters is the caller's mistake. */
function asRequestError(error: unknown): never {
  if (error instanceof SyntaxError) {
    throw new GraphQLError(`the request's parameters are not valid JSON: ${error.message}`, {
      extensions: { code: "BAD_REQUEST", http: { status: 400 } },
    });
  }
  throw error;
}
