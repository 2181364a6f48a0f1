// The pieces of --auth oidc, --auth proxy-header and --authz self that decide on their own: how a
// verified token's claims become a user, groups and projects; which jose refusals a client is told
// about; when a proxy's headers are trusted; what the self policy grants.
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import type { ResourceType } from "../../src/kube/types.ts";
import type { Identity } from "../../src/server/auth/identity.ts";
import { type ClaimMapping, identityFromClaims, rejectionOf } from "../../src/server/auth/oidc-authenticator.ts";
import { type ProxyHeaderSettings, proxyIdentity, secretMatches } from "../../src/server/auth/proxy-header.ts";
import { RequestAccess } from "../../src/server/auth/request-access.ts";
import { projectsOf, SelfAuthorizer } from "../../src/server/auth/self-authorizer.ts";
import { selectedUser } from "../../src/streams/subscribers/access.ts";

const mapping: ClaimMapping = {
  usernameClaim: "sub",
  usernamePrefix: "",
  groupsClaim: "groups",
  groupsPrefix: "",
  projectsClaim: "projects",
};

describe("identityFromClaims (--oidc-username-claim, -prefix, --oidc-groups-claim, -prefix, --self-projects-claim)", () => {
  it("maps the claims, prefixes and all, and ends the identity at exp plus the clock skew", () => {
    const claims: JWTPayload = { sub: "alice", groups: ["data", "project:team-a"], projects: "team-b", exp: 2_000_000_000 };
    expect(identityFromClaims(claims, { ...mapping, usernamePrefix: "oidc:", groupsPrefix: "oidc:" }, 30_000)).toEqual({
      username: "oidc:alice",
      uid: "",
      groups: ["oidc:data", "oidc:project:team-a"],
      extra: {},
      expiresAt: 2_000_000_000_000 + 30_000,
      projects: ["team-b"],
    });
  });

  it("reads another username claim, a single group as a string, and no groups or projects claim at all", () => {
    const claims = { sub: "0f3c", preferred_username: "bob", groups: "admins", exp: 1 };
    expect(identityFromClaims(claims, { ...mapping, usernameClaim: "preferred_username", projectsClaim: "" })).toMatchObject({
      username: "bob",
      groups: ["admins"],
      projects: [],
    });
    expect(identityFromClaims({ sub: "carol", exp: 1 }, { ...mapping, groupsClaim: "" })).toMatchObject({ groups: [], projects: [] });
  });

  it("refuses a token without the username claim, with an unverified email, or with groups of another type", () => {
    expect(identityFromClaims({ email: "a@example.org" }, mapping)).toEqual({ rejected: "the token has no sub claim naming its user" });
    expect(identityFromClaims({ sub: "" }, mapping)).toEqual({ rejected: "the token has no sub claim naming its user" });
    expect(identityFromClaims({ email: "a@example.org", email_verified: false }, { ...mapping, usernameClaim: "email" })).toEqual({
      rejected: "the token's email is not verified",
    });
    expect(identityFromClaims({ sub: "a", groups: [1, 2] }, mapping)).toEqual({
      rejected: "the token's groups claim is not a string or an array of strings",
    });
    expect(identityFromClaims({ sub: "a", projects: { a: 1 } }, mapping)).toEqual({
      rejected: "the token's projects claim is not a string or an array of strings",
    });
  });
});

describe("rejectionOf: what a client is told about a token jose refused", () => {
  const now = new Date("2026-06-01T12:00:00Z");
  const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

  async function issuer() {
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256" }] });
    const sign = (claims: JWTPayload, kid = "k1", key = privateKey) =>
      new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid }).sign(key);
    const verify = (token: string) =>
      jwtVerify(token, jwks, {
        issuer: "https://issuer.example.org",
        audience: "kubesub",
        requiredClaims: ["exp"],
        clockTolerance: 30,
        currentDate: now,
      }).then(
        () => "verified",
        (error: unknown) => rejectionOf(error) ?? `not a token problem: ${String(error)}`,
      );
    return { sign, verify };
  }

  it("names each refusal: expired, audience, issuer, not yet valid, no exp, signature, unknown key, not a JWT", async () => {
    const { sign, verify } = await issuer();
    const good = { iss: "https://issuer.example.org", aud: "kubesub", sub: "alice", exp: seconds(now) + 600 };
    const other = await generateKeyPair("RS256");
    const valid = await sign(good);
    const [header, payload, signature] = valid.split(".");
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...good, sub: "admin" })).toString("base64url")}.${signature}`;
    expect({
      valid: await verify(valid),
      withinSkew: await verify(await sign({ ...good, exp: seconds(now) - 20 })),
      expired: await verify(await sign({ ...good, exp: seconds(now) - 60 })),
      audience: await verify(await sign({ ...good, aud: "another-service" })),
      issuer: await verify(await sign({ ...good, iss: "https://elsewhere.example.org" })),
      notYet: await verify(await sign({ ...good, nbf: seconds(now) + 120 })),
      noExp: await verify(await sign({ ...good, exp: undefined })),
      tampered: await verify(tampered),
      otherKeySameKid: await verify(await sign(good, "k1", other.privateKey)),
      unknownKey: await verify(await sign(good, "k2", other.privateKey)),
      garbage: await verify(`${header}.${payload}`),
    }).toEqual({
      valid: "verified",
      withinSkew: "verified",
      expired: "the token has expired",
      audience: "the token's audience (aud) is not one kubesub accepts",
      issuer: "the token is from another issuer (iss)",
      notYet: "the token is not valid yet (nbf)",
      noExp: "the token has no valid expiry (exp)",
      tampered: "the token's signature does not verify",
      otherKeySameKid: "the token's signature does not verify",
      unknownKey: "the token is signed with a key its issuer does not publish",
      garbage: "the token is not a signed JWT kubesub can verify",
    });
  });

  it("says nothing of failures that are not the token's (a JWKS that cannot be fetched): those answer 503", () => {
    expect(rejectionOf(Object.assign(new Error("timeout"), { code: "ERR_JWKS_TIMEOUT" }))).toBeUndefined();
    expect(rejectionOf(new TypeError("fetch failed"))).toBeUndefined();
  });
});

describe("proxyIdentity: the proxy's headers, trusted only with its secret", () => {
  const settings: ProxyHeaderSettings = {
    userHeader: "kubeflow-userid",
    groupsHeader: "kubeflow-groups",
    secretHeader: "x-kubesub-proxy-secret",
    secret: "s3cret-of-the-gateway",
  };
  const request = (headers: Record<string, string[]>) => ({ headersDistinct: headers });
  const proof = { "x-kubesub-proxy-secret": ["s3cret-of-the-gateway"] };
  const notTheProxy = { rejected: "requests must come through the authenticating proxy, which proves itself to kubesub" };

  it("names the user and groups (comma-separated, repeated) of a request with the secret", () => {
    expect(
      proxyIdentity(
        request({ ...proof, "kubeflow-userid": [" alice@example.org "], "kubeflow-groups": ["team-a, data", "project:team-b"] }),
        settings,
      ),
    ).toEqual({ username: "alice@example.org", uid: "", groups: ["team-a", "data", "project:team-b"], extra: {} });
    expect(proxyIdentity(request({ ...proof, "kubeflow-userid": ["bob"] }), { ...settings, groupsHeader: "" })).toEqual({
      username: "bob",
      uid: "",
      groups: [],
      extra: {},
    });
  });

  it("refuses the user header without the secret, with a wrong, empty or repeated secret", () => {
    const alice = { "kubeflow-userid": ["alice"] };
    expect(proxyIdentity(request(alice), settings)).toEqual(notTheProxy);
    expect(proxyIdentity(request({ ...alice, "x-kubesub-proxy-secret": ["s3cret-of-the-gatewaY"] }), settings)).toEqual(notTheProxy);
    expect(proxyIdentity(request({ ...alice, "x-kubesub-proxy-secret": [""] }), settings)).toEqual(notTheProxy);
    expect(
      proxyIdentity(request({ ...alice, "x-kubesub-proxy-secret": ["s3cret-of-the-gateway", "s3cret-of-the-gateway"] }), settings),
    ).toEqual(notTheProxy);
  });

  it("refuses a request with the secret but no user, an empty one, or two", () => {
    const noUser = { rejected: "the authenticating proxy named no user (header kubeflow-userid)" };
    expect(proxyIdentity(request(proof), settings)).toEqual(noUser);
    expect(proxyIdentity(request({ ...proof, "kubeflow-userid": ["  "] }), settings)).toEqual(noUser);
    expect(proxyIdentity(request({ ...proof, "kubeflow-userid": ["alice", "admin"] }), settings)).toEqual(noUser);
  });

  it("compares secrets whatever their lengths", () => {
    expect(secretMatches("abc", "abc")).toBe(true);
    expect(secretMatches("abc", "abcd")).toBe(false);
    expect(secretMatches("", "abc")).toBe(false);
  });
});

describe("--authz self", () => {
  const self = new SelfAuthorizer({ projectGroupPrefix: "project:", adminGroup: "platform-admins" });
  const identity = (groups: string[], projects?: string[]): Identity => ({ username: "alice", uid: "", groups, extra: {}, projects });
  const pods: ResourceType = { group: "", version: "v1", plural: "pods", kind: "Pod" };

  it("grants the projects of the token's claim and of prefixed groups; the admin group everything", async () => {
    const alice = identity(["project:team-a", "project:", "data"], ["team-b"]);
    expect(projectsOf(alice, "project:")).toEqual(["team-b", "team-a"]);
    expect(projectsOf(alice, "")).toEqual(["team-b"]);
    const decide = async (who: Identity, namespace: string) => (await self.authorize(who, { verb: "list", type: pods, namespace })).allowed;
    expect([
      await decide(alice, "team-a"),
      await decide(alice, "team-b"),
      await decide(alice, "team-c"),
      await decide(alice, "data"),
    ]).toEqual([true, true, false, false]);
    expect(await decide(identity(["platform-admins"]), "team-c")).toBe(true);
  });

  it("confines a caller to its own objects: user implied, another user's name FORBIDDEN; an admin is not confined", async () => {
    const access = new RequestAccess(identity(["project:team-a"]), { authorizer: self });
    expect(access.ownUser).toBe("alice");
    expect(selectedUser(undefined, access)).toBe("alice");
    expect(selectedUser("alice", access)).toBe("alice");
    expect(() => selectedUser("bob", access)).toThrow('alice may read only their own objects: omit user, or pass user: "alice"');
    expect(() => selectedUser("", access)).toThrow("user must not be empty");
    const admin = new RequestAccess(identity(["platform-admins"]), { authorizer: self });
    expect(admin.ownUser).toBeUndefined();
    expect(selectedUser("bob", admin)).toBe("bob");
    expect(selectedUser(undefined, admin)).toBeUndefined();
    await expect(access.authorize({ resources: [pods], namespace: "team-c" })).rejects.toThrow(
      "alice may not list pods in namespace team-c: no project grant for team-c in the token or groups",
    );
  });
});
