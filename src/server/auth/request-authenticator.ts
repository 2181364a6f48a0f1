import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import type { RequestAuthenticator } from "../http-edge.ts";
import type { Authenticator } from "./authenticator.ts";
import type { Authorizer } from "./authorizer.ts";
import { anonymousIdentity } from "./identity.ts";
import { RequestAccess } from "./request-access.ts";

/** --auth: how callers are identified. */
export type AuthSettings = { mode: "none" } | { mode: "kubernetes"; authenticator: Authenticator; authorizer: Authorizer };

/** The bearer token of a request, or undefined when there is none or it is malformed. */
export function bearerToken(request: IncomingMessage): string | undefined {
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(request.headers.authorization ?? "");
  return match?.[1];
}

/** logger: the root logger; each caller's access logs through a child with its request id and user. */
export function requestAuthenticator(auth: AuthSettings, logger: Logger): RequestAuthenticator {
  if (auth.mode === "none") {
    return (_request, requestId) => Promise.resolve(new RequestAccess(anonymousIdentity, { logger, requestId }));
  }
  const { authenticator, authorizer } = auth;
  return async (request, requestId) => {
    const token = bearerToken(request);
    if (token === undefined) return undefined;
    const identity = await authenticator.authenticate(token);
    return identity && new RequestAccess(identity, { token, authenticator, authorizer, logger, requestId });
  };
}
