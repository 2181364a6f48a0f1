import { createRemoteJWKSet, customFetch, type FetchImplementation, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import { Agent, fetch as undiciFetch } from "undici";
import { type Clock, systemClock } from "../../clock.ts";
import type { Authenticator } from "./authenticator.ts";
import type { Identity, Rejection } from "./identity.ts";

/** How a verified token's claims become a user and groups, as the apiserver's --oidc-* flags say. */
export interface ClaimMapping {
  /** The claim naming the user (--oidc-username-claim): sub, email, preferred_username... */
  usernameClaim: string;
  /** Put before every user name (--oidc-username-prefix), so that it cannot pass for another authenticator's user. */
  usernamePrefix: string;
  /** The claim listing the groups (--oidc-groups-claim), a string or an array of strings; "" for none. */
  groupsClaim: string;
  /** Put before every group (--oidc-groups-prefix). */
  groupsPrefix: string;
  /** The claim listing the projects (namespaces) a caller may read under --authz self (--self-projects-claim); "" for none. */
  projectsClaim: string;
}

export interface OidcSettings extends ClaimMapping {
  /** The exact `iss` a token must carry (--oidc-issuer-url). */
  issuer: string;
  /** A token's `aud` must name one of these (--oidc-audience). */
  audiences: string[];
  /** Where the discovery document is read (--oidc-discovery-url); default `<issuer>/.well-known/openid-configuration`. */
  discoveryUrl?: string;
  /** The JWKS to verify with (--oidc-jwks-url); default the discovery document's jwks_uri. */
  jwksUrl?: string;
  /** PEM CA bundle that the discovery and JWKS servers' certificates chain to (--oidc-ca-file); default the system's. */
  caPem?: string;
  /** Leeway for exp and nbf, in ms (--oidc-clock-skew). */
  clockSkewMs: number;
}

/** Signature algorithms accepted: asymmetric only, so that a key published in the JWKS can only verify. */
const algorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

/**
 * OIDC ID tokens (or any JWT of an issuer with a JWKS, such as a Kubernetes service-account token)
 * verified locally: no round trip per new token. The JWKS is found through the issuer's discovery
 * document on first use and cached by jose's remote key set, which fetches it again (at most every
 * 30 s) when a token names a key it does not have, so that key rotation needs nothing; keys are
 * refreshed every 10 minutes anyway. iss, aud, exp (required) and nbf are checked with
 * clockSkewMs of leeway.
 */
export class OidcAuthenticator implements Authenticator {
  private readonly settings: OidcSettings;
  private readonly clock: Pick<Clock, "now">;
  private readonly fetch: FetchImplementation;
  private keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(settings: OidcSettings, clock: Pick<Clock, "now"> = systemClock) {
    this.settings = settings;
    this.clock = clock;
    const dispatcher = settings.caPem ? new Agent({ connect: { ca: settings.caPem } }) : undefined;
    // undici's own fetch, for its dispatcher option; its types differ from the global fetch's only nominally.
    this.fetch = (url, { headers, ...options }) =>
      undiciFetch(url, { ...options, headers: Object.fromEntries(headers), dispatcher }) as unknown as Promise<Response>;
  }

  async authenticate(token: string): Promise<Identity | Rejection | undefined> {
    // A failed discovery is not a verdict on the token: it rejects (503) and is tried again next time.
    const keys = await this.keySet();
    const { issuer, audiences, clockSkewMs } = this.settings;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer,
        audience: audiences,
        algorithms,
        requiredClaims: ["exp"],
        clockTolerance: clockSkewMs / 1000,
        currentDate: new Date(this.clock.now()),
      }));
    } catch (error) {
      const rejected = rejectionOf(error);
      if (rejected === undefined) throw error;
      return { rejected };
    }
    return identityFromClaims(payload, this.settings, clockSkewMs);
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    this.keys ??= this.discover().catch((error: unknown) => {
      this.keys = undefined;
      throw error;
    });
    return this.keys;
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    const { issuer, discoveryUrl, jwksUrl } = this.settings;
    let keysAt = jwksUrl;
    if (keysAt === undefined) {
      const url = discoveryUrl ?? `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
      const response = await this.fetch(url, {
        method: "GET",
        headers: new Headers({ accept: "application/json" }),
        redirect: "manual",
        signal: AbortSignal.timeout(5_000),
      });
      if (response.status !== 200) throw new Error(`OIDC discovery at ${url} answered ${response.status}`);
      const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
      if (document.issuer !== issuer) {
        throw new Error(`OIDC discovery at ${url} names issuer ${JSON.stringify(document.issuer)}, not ${JSON.stringify(issuer)}`);
      }
      if (typeof document.jwks_uri !== "string") throw new Error(`OIDC discovery at ${url} has no jwks_uri`);
      keysAt = document.jwks_uri;
    }
    return createRemoteJWKSet(new URL(keysAt), { [customFetch]: this.fetch, timeoutDuration: 5_000 });
  }
}

/** What the client is told about a token jose refused; undefined for a failure that says nothing about the token. */
export function rejectionOf(error: unknown): string | undefined {
  const { code, claim } = error as { code?: string; claim?: string };
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "the token has expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      if (claim === "aud") return "the token's audience (aud) is not one kubesub accepts";
      if (claim === "iss") return "the token is from another issuer (iss)";
      if (claim === "nbf") return "the token is not valid yet (nbf)";
      if (claim === "exp") return "the token has no valid expiry (exp)";
      return `the token's ${claim} claim is not valid`;
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "the token's signature does not verify";
    case "ERR_JWKS_NO_MATCHING_KEY":
      return "the token is signed with a key its issuer does not publish";
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return "the token's signature does not verify with any key of its issuer";
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED":
      return "the token is not a signed JWT kubesub can verify";
    default:
      return undefined;
  }
}

/**
 * The identity a verified token's claims name, or why they name none. As the apiserver does: the
 * user is the username claim's value after the prefix; groups are the groups claim's values (a
 * string or an array of strings) each after the groups prefix; with the email claim, an
 * email_verified of false is refused.
 */
export function identityFromClaims(claims: JWTPayload, mapping: ClaimMapping, clockSkewMs = 0): Identity | Rejection {
  const name = claims[mapping.usernameClaim];
  if (typeof name !== "string" || name === "") return { rejected: `the token has no ${mapping.usernameClaim} claim naming its user` };
  if (mapping.usernameClaim === "email" && claims.email_verified === false) return { rejected: "the token's email is not verified" };
  const groups = stringsOf(claims, mapping.groupsClaim);
  if (groups === undefined) return { rejected: `the token's ${mapping.groupsClaim} claim is not a string or an array of strings` };
  const projects = stringsOf(claims, mapping.projectsClaim);
  if (projects === undefined) return { rejected: `the token's ${mapping.projectsClaim} claim is not a string or an array of strings` };
  return {
    username: `${mapping.usernamePrefix}${name}`,
    uid: "",
    groups: groups.map((group) => `${mapping.groupsPrefix}${group}`),
    extra: {},
    expiresAt: typeof claims.exp === "number" ? claims.exp * 1000 + clockSkewMs : undefined,
    projects,
  };
}

/** A claim's strings: [] when the claim is not configured or absent; undefined when it is of another type. */
function stringsOf(claims: JWTPayload, claim: string): string[] | undefined {
  if (claim === "") return [];
  const value = claims[claim];
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
  return undefined;
}
