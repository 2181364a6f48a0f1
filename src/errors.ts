import { GraphQLError } from "graphql";

/** What a client should know about one error code. */
export interface ErrorCodeInfo {
  /** The HTTP status of an answer that is only this error; none for errors inside a GraphQL result. */
  status?: number;
  /** Whether the same request may succeed later without the client changing anything. */
  retryable: boolean;
  /** Whether it ends a stream as its last event, StreamError { code }. */
  endsStream?: true;
  meaning: string;
}

/**
 * Every code a client of kubesub can receive, in `extensions.code` of a GraphQL error or as
 * `StreamError.code`: defined once, here. The README's table of codes follows this catalogue (a
 * test checks it).
 */
export const errorCatalogue = {
  GRAPHQL_PARSE_FAILED: { retryable: false, meaning: "the document does not parse" },
  GRAPHQL_VALIDATION_FAILED: { retryable: false, meaning: "the document does not validate against the schema" },
  BAD_USER_INPUT: { retryable: false, meaning: "an argument or variable is not valid" },
  QUERY_TOO_COMPLEX: { retryable: false, meaning: "over a query limit; extensions.limit says which" },
  FORBIDDEN: {
    retryable: false,
    endsStream: true,
    meaning: "RBAC does not let the caller read it (or no longer does: the stream ends)",
  },
  UNAUTHENTICATED: {
    status: 401,
    retryable: false,
    endsStream: true,
    meaning: "no valid credentials (or the token stopped being valid: the stream ends)",
  },
  TOO_MANY_SUBSCRIPTIONS: { retryable: true, meaning: "over a subscription limit; extensions.limit gives it" },
  SOURCE_UNAVAILABLE: { retryable: true, meaning: "a query needs a resource kubesub cannot read now" },
  OVERFLOW: {
    retryable: true,
    endsStream: true,
    meaning: "the client left more than --max-buffered-bytes unread on its connection; reconnect with the last cursor to resume",
  },
  SHUTTING_DOWN: { retryable: true, endsStream: true, meaning: "this kubesub is stopping; reconnect" },
  MAX_LIFETIME: {
    retryable: true,
    endsStream: true,
    meaning: "the stream reached its maximum lifetime (--max-stream-lifetime), so that streams spread over replicas; reconnect",
  },
  BAD_REQUEST: { status: 400, retryable: false, meaning: "the request itself is malformed" },
  NOT_FOUND: { status: 404, retryable: false, meaning: "nothing is served at this path" },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, meaning: "this method is not allowed here" },
  NOT_ACCEPTABLE: { status: 406, retryable: false, meaning: "nothing in Accept can be served (a subscription needs text/event-stream)" },
  REQUEST_TIMEOUT: { status: 408, retryable: true, meaning: "the request's headers did not arrive in time" },
  CONFLICT: { status: 409, retryable: false, meaning: "single connection mode: the stream or operation already exists" },
  STREAM_TOKEN_INVALID: {
    status: 403,
    retryable: false,
    meaning:
      "single connection mode: the stream token is malformed, not signed with this service's key, or another caller's; reserve with PUT",
  },
  STREAM_TOKEN_EXPIRED: {
    status: 410,
    retryable: false,
    meaning: "single connection mode: no replica took the reservation up before its token expired; reserve again with PUT",
  },
  EXPECTATION_FAILED: { status: 417, retryable: false, meaning: "an Expect header other than 100-continue" },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, meaning: "a body over --max-body-bytes, chunked or not" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, meaning: "the body's content type is not application/json" },
  REQUEST_HEADER_FIELDS_TOO_LARGE: { status: 431, retryable: false, meaning: "headers or URL over 16 KiB" },
  INTERNAL_SERVER_ERROR: { status: 500, retryable: false, meaning: "anything else, masked; the cause is logged once" },
  UNAVAILABLE: { status: 503, retryable: true, meaning: "kubesub cannot validate credentials right now" },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof errorCatalogue;

/** The codes that end a stream as StreamError. */
export type StreamErrorCode = { [C in ErrorCode]: (typeof errorCatalogue)[C] extends { endsStream: true } ? C : never }[ErrorCode];

/** A GraphQL error with a code of the catalogue. */
export class KubesubError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extensions } });
    this.name = "KubesubError";
  }
}

export class BadUserInputError extends KubesubError {
  constructor(message: string, argument?: string) {
    super("BAD_USER_INPUT", message, argument ? { argument } : {});
    this.name = "BadUserInputError";
  }
}

/** The cluster could not be read: the apiserver is unreachable, or kubesub itself lacks access. */
export class SourceUnavailableError extends KubesubError {
  constructor(message: string) {
    super("SOURCE_UNAVAILABLE", message);
    this.name = "SourceUnavailableError";
  }
}

/** The caller may not read this. Names the resource and namespace; says nothing about what exists there. */
export class ForbiddenError extends KubesubError {
  constructor(message: string) {
    super("FORBIDDEN", message);
    this.name = "ForbiddenError";
  }
}

/** The code of an HTTP refusal that carries none of its own, by its status. */
export function codeForStatus(status: number): ErrorCode {
  for (const [code, info] of Object.entries(errorCatalogue) as [ErrorCode, ErrorCodeInfo][]) {
    if (info.status === status) return code;
  }
  return status >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST";
}
