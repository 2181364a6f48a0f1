/**
 * The one shape of every error answer kubesub gives at the HTTP edge, whatever refused the request
 * (kubesub itself, yoga, graphql-sse or Node's HTTP parser): a GraphQL response
 * `{"errors":[{"message":…,"extensions":{"code":…}}]}` with content type application/json, so
 * every client, GraphiQL included, has a message and a code to show. The codes are src/errors.ts's.
 */
import { codeForStatus } from "../errors.ts";

export { codeForStatus };

/** A message for a refusal that came without one. */
const messageByStatus: Record<number, string> = {
  404: "nothing is served here; GraphQL is at /graphql (distinct connections) and /graphql/stream (single connection)",
  405: "this method is not allowed here",
  406: "none of the media types in the Accept header can be served",
  415: "the request's content type is not supported; send application/json",
  431: "the request's headers (or its URL) are too large",
  500: "Unexpected error.",
};

export function messageForStatus(status: number, statusText = ""): string {
  return messageByStatus[status] ?? (statusText || `request refused with HTTP ${status}`);
}

export interface CodedError {
  message: string;
  extensions: { code: string } & Record<string, unknown>;
}

/** The JSON body of an error answer. */
export function errorBody(errors: CodedError[]): string {
  return `${JSON.stringify({ errors })}\n`;
}

export const errorContentType = "application/json; charset=utf-8";

/** An error answer as a WHATWG Response, for yoga plugins. */
export function errorResponse(
  fetchAPI: { Response: typeof Response },
  status: number,
  error: CodedError,
  headers: Record<string, string> = {},
): Response {
  return new fetchAPI.Response(errorBody([error]), { status, headers: { ...headers, "content-type": errorContentType } });
}

/**
 * The errors of a JSON error body that others produced, each given a code where it has none
 * (graphql-sse's "Stream not found", for example). undefined when the body is not such a body.
 */
export function codedErrors(body: string, status: number): CodedError[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  return errors.map((error: { message?: unknown; extensions?: Record<string, unknown> }) => {
    const message = typeof error?.message === "string" ? error.message : messageForStatus(status);
    const extensions = { ...(error?.extensions ?? {}) };
    return { message, extensions: { ...extensions, code: typeof extensions.code === "string" ? extensions.code : codeForStatus(status) } };
  });
}
