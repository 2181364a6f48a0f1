import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import type { RequestAuthenticator } from "../http-edge.ts";
import type { Authenticator } from "./authenticator.ts";
import type { Authorizer } from "./authorizer.ts";
import { anonymousIdentity, isRejection } from "./identity.ts";
import { type ProxyHeaderSettings, proxyIdentity } from "./proxy-header.ts";
import { RequestAccess } from "./request-access.ts";

/**
 * --auth: how callers are identified. kubernetes (TokenReview) and oidc (local JWT verification)
 * read a bearer token; proxy-header the headers of an authenticating proxy. The authorizer is
 * --authz: SubjectAccessReview (rbac) or SelfAuthorizer (self).
 */
export type AuthSettings =
  | { mode: "none" }
  | { mode: "kubernetes" | "oidc"; authenticator: Authenticator; authorizer: Authorizer }
  | { mode: "proxy-header"; proxy: ProxyHeaderSettings; authorizer: Authorizer };

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
  if (auth.mode === "proxy-header") {
    const { proxy, authorizer } = auth;
    return (request, requestId) => {
      const identity = proxyIdentity(request, proxy);
      // The proxy's word holds for the request: re-checks re-authorize, there is no token to re-validate.
      return Promise.resolve(isRejection(identity) ? identity : new RequestAccess(identity, { authorizer, logger, requestId }));
    };
  }
  const { authenticator, authorizer } = auth;
  return async (request, requestId) => {
    const token = bearerToken(request);
    if (token === undefined) return undefined;
    const identity = await authenticator.authenticate(token);
    if (!identity || isRejection(identity)) return identity;
    return new RequestAccess(identity, { token, authenticator, authorizer, logger, requestId });
  };
}
