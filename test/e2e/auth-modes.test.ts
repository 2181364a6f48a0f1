// The authentication modes beside TokenReview, on the real control plane: --auth oidc against the
// kube-apiserver's own service-account issuer (its OIDC discovery document and JWKS, TokenRequest
// tokens), --auth proxy-header with the shared secret of an authenticating proxy, and --authz
// self, which confines each caller to its own objects in the projects its token or groups grant.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { importPKCS8, type JWTPayload, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Authorizer } from "../../src/server/auth/authorizer.ts";
import { SubjectAccessReviewAuthorizer } from "../../src/server/auth/authorizer.ts";
import { OidcAuthenticator, type OidcSettings } from "../../src/server/auth/oidc-authenticator.ts";
import type { AuthSettings } from "../../src/server/auth/request-authenticator.ts";
import { SelfAuthorizer } from "../../src/server/auth/self-authorizer.ts";
import { controlPlane, type TestNamespace } from "../helpers/control-plane.ts";
import { kubeConfigFor, kubeRequest } from "../helpers/control-plane-kube.ts";
import type { RunningKubesub } from "../helpers/kubesub-server.ts";
import { createPod, podEventsDocument, startKubesubOn } from "./support.ts";
import {
  errorCodes,
  graphqlRequest,
  isComplete,
  type StreamResult,
  SubscriptionStream,
  summarize,
  type UnionEvent,
} from "./support-graphql.ts";
import { group, RbacWriter, serviceAccount, user, viewerClusterRole } from "./support-rbac.ts";

const cp = controlPlane();

/** The control plane's --service-account-issuer: the iss of every token it signs. */
const issuer = "https://kubernetes.default.svc.cluster.local";
const audience = "kubesub-e2e";
const proxySecret = randomBytes(24).toString("hex");

let clusterRoleWriter: RbacWriter;
let viewerRole: string;
let writer: RbacWriter;
let nsA: TestNamespace;
let nsB: TestNamespace;
/** Signs a JWT with the control plane's own service-account key, as the apiserver's TokenRequest does. */
let signAsIssuer: (claims: JWTPayload) => Promise<string>;
const servers: RunningKubesub[] = [];
const streams: SubscriptionStream[] = [];

/** What kubesub is told about the issuer: its discovery document at the apiserver's address (not at iss's), and the apiserver's CA. */
function oidcSettings(overrides: Partial<OidcSettings> = {}): OidcSettings {
  return {
    issuer,
    discoveryUrl: `${cp.info.apiServers.main}/.well-known/openid-configuration`,
    caPem: cp.info.caPem,
    audiences: [audience],
    usernameClaim: "sub",
    usernamePrefix: "",
    groupsClaim: "groups",
    groupsPrefix: "",
    projectsClaim: "projects",
    clockSkewMs: 1_000,
    ...overrides,
  };
}

const rbac = (): Authorizer =>
  new SubjectAccessReviewAuthorizer(kubeConfigFor(cp.info, "admin", "main"), { allowTtlMs: 500, denyTtlMs: 200 });
const self = () => new SelfAuthorizer({ projectGroupPrefix: "project:", adminGroup: "platform-admins" });

async function start(auth: AuthSettings, recheckIntervalMs = 60_000): Promise<RunningKubesub> {
  const kubesub = await startKubesubOn(cp, { auth, security: { recheckIntervalMs }, informerLingerMs: 200, watchScope: "namespace" });
  servers.push(kubesub);
  return kubesub;
}

function podEvents(
  kubesub: RunningKubesub,
  variables: Record<string, unknown>,
  credentials: { token?: string; headers?: Record<string, string> },
): SubscriptionStream {
  const stream = new SubscriptionStream(kubesub.origin, podEventsDocument, variables, credentials);
  streams.push(stream);
  return stream;
}

const opening = (stream: SubscriptionStream, timeoutMs = 10_000) =>
  stream.take({ until: (r) => isComplete(r) || r.errors !== undefined, timeoutMs });
const summaries = (results: StreamResult<UnionEvent>[]) => results.map(summarize);

/** A subscription request over plain HTTP: its status, code and message. */
async function attempt(kubesub: RunningKubesub, project: string, headers: Record<string, string>) {
  const response = await graphqlRequest(kubesub.origin, {
    headers: { accept: "text/event-stream", ...headers },
    body: { query: podEventsDocument, variables: { project } },
  });
  const body = response.body as { errors?: { message: string }[] };
  return { status: response.status, code: errorCodes(response)[0], message: body.errors?.[0]?.message };
}

const seconds = () => Math.floor(Date.now() / 1000);

// The token users and the service-account key exist only on the local control plane.
describe.skipIf(!cp.isLocal)("authentication modes: oidc, proxy-header, and the self policy", () => {
  let removeDiscoveryBinding: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    clusterRoleWriter = new RbacWriter(cp.kubeConfig());
    viewerRole = await clusterRoleWriter.createClusterRole(viewerClusterRole(`kubesub-viewer-auth-${randomBytes(3).toString("hex")}`));
    // A relying party reads the issuer's discovery document and keys without credentials: the
    // apiserver serves them to whoever system:service-account-issuer-discovery is bound to.
    const rbacApi = cp.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    const name = `kubesub-e2e-issuer-discovery-${randomBytes(3).toString("hex")}`;
    await rbacApi.createClusterRoleBinding({
      body: {
        metadata: { name },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:service-account-issuer-discovery" },
        subjects: [group("system:unauthenticated")],
      },
    });
    removeDiscoveryBinding = async () => {
      await rbacApi.deleteClusterRoleBinding({ name });
    };
    // The issuer's signing key, and the kid its JWKS names it by.
    const key = await importPKCS8(readFileSync(join(dirname(cp.info.kubeconfigPath), "sa.key"), "utf8"), "RS256");
    const jwks = JSON.parse((await kubeRequest(cp.kubeConfig(), "/openid/v1/jwks")).body) as { keys: { kid: string }[] };
    const kid = jwks.keys[0]?.kid ?? "";
    signAsIssuer = (claims) => new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid }).sign(key);
  });

  afterAll(async () => {
    await removeDiscoveryBinding?.();
    await clusterRoleWriter?.cleanup();
  });

  beforeEach(async () => {
    writer = new RbacWriter(cp.kubeConfig());
    nsA = await cp.createNamespace("auth-a");
    nsB = await cp.createNamespace("auth-b");
  });

  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    for (const kubesub of servers.splice(0)) await kubesub.close();
    await writer.cleanup();
    await nsA.delete();
    await nsB.delete();
  });

  it("oidc: a TokenRequest token of the real service-account issuer verifies (discovery, JWKS) and RBAC decides; tampered, expired, wrong-audience, wrong-issuer and unknown-key tokens get 401 UNAUTHENTICATED", async () => {
    await createPod(cp.core(), nsA.name, "in-a", "robot");
    await writer.core.createNamespacedServiceAccount({ namespace: nsA.name, body: { metadata: { name: "robot" } } });
    await writer.bind(nsA.name, "robot-views", viewerRole, [serviceAccount(nsA.name, "robot")]);
    const tokenFor = async (audiences: string[]) => {
      const request = await writer.core.createNamespacedServiceAccountToken({
        namespace: nsA.name,
        name: "robot",
        body: { spec: { audiences, expirationSeconds: 600 } },
      });
      return request.status?.token ?? "";
    };
    const token = await tokenFor([audience]);
    const kubesub = await start({ mode: "oidc", authenticator: new OidcAuthenticator(oidcSettings()), authorizer: rbac() });

    expect(summaries(await opening(podEvents(kubesub, { project: nsA.name }, { token })))).toEqual([
      "PodAdded in-a INITIAL_STATE",
      "InitialStateComplete 1",
    ]);
    // Authorization is RBAC's, for the token's user: the service account may not read B.
    const refused = await opening(podEvents(kubesub, { project: nsB.name }, { token }));
    expect(refused[0]?.errors?.[0]).toEqual({
      message: `system:serviceaccount:${nsA.name}:robot may not list pods in namespace ${nsB.name}`,
      extensions: { code: "FORBIDDEN" },
    });

    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString()) as JWTPayload;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: "system:serviceaccount:kube-system:admin" })).toString("base64url")}.${signature}`;
    const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const unknownKey = await new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "not-the-issuers" }).sign(stranger);
    const bad = {
      tampered,
      expired: await signAsIssuer({ ...claims, iat: seconds() - 3_600, exp: seconds() - 60 }),
      "wrong audience": await tokenFor(["another-service"]),
      "wrong issuer": await signAsIssuer({ ...claims, iss: "https://elsewhere.example.org" }),
      "unknown key": unknownKey,
      "not yet valid": await signAsIssuer({ ...claims, nbf: seconds() + 600 }),
      "no exp": await signAsIssuer({ ...claims, exp: undefined }),
    };
    const answers: Record<string, unknown> = {};
    for (const [name, credential] of Object.entries(bad)) {
      answers[name] = await attempt(kubesub, nsA.name, { authorization: `Bearer ${credential}` });
    }
    console.log(`oidc: bad credentials and what they got:\n${JSON.stringify(answers, null, 2)}`);
    const unauthenticated = (message: string) => ({ status: 401, code: "UNAUTHENTICATED", message });
    expect(answers).toEqual({
      tampered: unauthenticated("the token's signature does not verify"),
      expired: unauthenticated("the token has expired"),
      "wrong audience": unauthenticated("the token's audience (aud) is not one kubesub accepts"),
      "wrong issuer": unauthenticated("the token is from another issuer (iss)"),
      "unknown key": unauthenticated("the token is signed with a key its issuer does not publish"),
      "not yet valid": unauthenticated("the token is not valid yet (nbf)"),
      "no exp": unauthenticated("the token has no valid expiry (exp)"),
    });
    // A token of the apiserver's own audience (a TokenRequest without audiences) is not kubesub's either.
    expect(await attempt(kubesub, nsA.name, { authorization: `Bearer ${await tokenFor([])}` })).toEqual(
      unauthenticated("the token's audience (aud) is not one kubesub accepts"),
    );
  });

  it("oidc: an open stream ends with UNAUTHENTICATED, not retryable, when its token expires (no re-check needed)", async () => {
    await writer.bind(nsA.name, "alice-views", viewerRole, [user("alice")]);
    // Re-checks every 60 s: what ends the stream is the timer at exp (plus the 1 s skew).
    const kubesub = await start({ mode: "oidc", authenticator: new OidcAuthenticator(oidcSettings()), authorizer: rbac() });
    const exp = seconds() + 4;
    const token = await signAsIssuer({ iss: issuer, aud: [audience], sub: "alice", iat: seconds(), exp });
    const stream = podEvents(kubesub, { project: nsA.name }, { token });
    expect(summaries(await opening(stream))).toEqual(["InitialStateComplete 0"]);
    const [ending] = await stream.events({ count: 1, timeoutMs: 10_000 });
    const late = Date.now() - exp * 1000;
    expect(ending).toEqual({
      __typename: "StreamError",
      code: "UNAUTHENTICATED",
      message: "your token has expired; sign in again before reconnecting",
      retryable: false,
    });
    expect(await stream.ended).toEqual({});
    console.log(`oidc expiry: the stream ended ${late} ms after the token's exp (skew 1000 ms)`);
    expect(late).toBeGreaterThanOrEqual(1_000);
    expect(late).toBeLessThan(3_000);
    expect(await attempt(kubesub, nsA.name, { authorization: `Bearer ${token}` })).toEqual({
      status: 401,
      code: "UNAUTHENTICATED",
      message: "the token has expired",
    });
  });

  it("proxy-header: the proxy's user and groups are trusted only with its shared secret, and RBAC decides for them", async () => {
    await createPod(cp.core(), nsA.name, "in-a", "alice");
    await writer.bind(nsA.name, "team-a-views", viewerRole, [group("team-a")]);
    const kubesub = await start({
      mode: "proxy-header",
      proxy: {
        userHeader: "kubeflow-userid",
        groupsHeader: "kubeflow-groups",
        secretHeader: "x-kubesub-proxy-secret",
        secret: proxySecret,
      },
      authorizer: rbac(),
    });
    const fromProxy = (userid: string, groups: string) => ({
      "x-kubesub-proxy-secret": proxySecret,
      "kubeflow-userid": userid,
      "kubeflow-groups": groups,
    });

    expect(
      summaries(await opening(podEvents(kubesub, { project: nsA.name }, { headers: fromProxy("alice@example.org", "team-a") }))),
    ).toEqual(["PodAdded in-a INITIAL_STATE", "InitialStateComplete 1"]);
    // Another user, in no group RBAC binds: SubjectAccessReview says no.
    const refused = await opening(podEvents(kubesub, { project: nsA.name }, { headers: fromProxy("mallory@example.org", "") }));
    expect(refused[0]?.errors?.[0]).toEqual({
      message: `mallory@example.org may not list pods in namespace ${nsA.name}`,
      extensions: { code: "FORBIDDEN" },
    });

    const notTheProxy = {
      status: 401,
      code: "UNAUTHENTICATED",
      message: "requests must come through the authenticating proxy, which proves itself to kubesub",
    };
    const alice = { "kubeflow-userid": "alice@example.org", "kubeflow-groups": "team-a" };
    // The secret with its last character changed (to another one: a hex digit may already be "0").
    const wrongSecret = `${proxySecret.slice(0, -1)}${proxySecret.endsWith("0") ? "1" : "0"}`;
    const answers = {
      "user header, no secret": await attempt(kubesub, nsA.name, alice),
      "user header, wrong secret": await attempt(kubesub, nsA.name, { ...alice, "x-kubesub-proxy-secret": wrongSecret }),
      "user header, the secret as a bearer token": await attempt(kubesub, nsA.name, { ...alice, authorization: `Bearer ${proxySecret}` }),
      "secret, no user header": await attempt(kubesub, nsA.name, { "x-kubesub-proxy-secret": proxySecret }),
    };
    console.log(`proxy-header: bad credentials and what they got:\n${JSON.stringify(answers, null, 2)}`);
    expect(answers).toEqual({
      "user header, no secret": notTheProxy,
      "user header, wrong secret": notTheProxy,
      "user header, the secret as a bearer token": notTheProxy,
      "secret, no user header": {
        status: 401,
        code: "UNAUTHENTICATED",
        message: "the authenticating proxy named no user (header kubeflow-userid)",
      },
    });
    expect(kubesub.app.registry.snapshot().map((e) => e.key)).toEqual([`pods/${nsA.name}`, "namespaces/*"]);
  });

  it("self: a caller reads only its own objects (user implied; another user's name FORBIDDEN) in the projects its token claims or its groups grant; the admin group reads everything", async () => {
    await createPod(cp.core(), nsA.name, "alice-lab", "alice");
    await createPod(cp.core(), nsA.name, "bob-lab", "bob");
    await createPod(cp.core(), nsB.name, "bob-b", "bob");
    // No RBAC at all for alice, bob or the admins: the self policy decides, under kubesub's own identity.
    const kubesub = await start({ mode: "oidc", authenticator: new OidcAuthenticator(oidcSettings()), authorizer: self() });
    const tokenOf = (claims: JWTPayload) => signAsIssuer({ iss: issuer, aud: audience, iat: seconds(), exp: seconds() + 600, ...claims });
    const alice = await tokenOf({ sub: "alice", projects: [nsA.name] });

    expect(summaries(await opening(podEvents(kubesub, { project: nsA.name }, { token: alice })))).toEqual([
      "PodAdded alice-lab INITIAL_STATE",
      "InitialStateComplete 1",
    ]);
    expect(summaries(await opening(podEvents(kubesub, { project: nsA.name, user: "alice" }, { token: alice })))).toEqual([
      "PodAdded alice-lab INITIAL_STATE",
      "InitialStateComplete 1",
    ]);
    const asBob = await opening(podEvents(kubesub, { project: nsA.name, user: "bob" }, { token: alice }));
    expect(asBob[0]?.errors?.[0]).toEqual({
      message: 'alice may read only their own objects: omit user, or pass user: "alice"',
      extensions: { code: "FORBIDDEN" },
    });
    const elsewhere = await opening(podEvents(kubesub, { project: nsB.name }, { token: alice }));
    expect(elsewhere[0]?.errors?.[0]).toEqual({
      message: `alice may not list pods in namespace ${nsB.name}: no project grant for ${nsB.name} in the token or groups`,
      extensions: { code: "FORBIDDEN" },
    });
    // A live change of bob's in alice's project reaches her stream not at all; hers does.
    const live = podEvents(kubesub, { project: nsA.name }, { token: alice });
    expect(summaries(await opening(live))).toEqual(["PodAdded alice-lab INITIAL_STATE", "InitialStateComplete 1"]);
    await createPod(cp.core(), nsA.name, "bob-lab-2", "bob");
    await createPod(cp.core(), nsA.name, "alice-lab-2", "alice");
    expect(summaries(await live.take({ count: 1 }))).toEqual(["PodAdded alice-lab-2 CLUSTER_CHANGE"]);
    // Queries are confined the same way.
    const query = await graphqlRequest(kubesub.origin, {
      headers: { authorization: `Bearer ${alice}` },
      body: { query: `{ pods(project: "${nsA.name}") { name } }` },
    });
    expect(query.body).toEqual({ data: { pods: [{ name: "alice-lab" }, { name: "alice-lab-2" }] } });

    // bob's projects come from a group: project:<namespace>.
    const bob = await tokenOf({ sub: "bob", groups: [`project:${nsB.name}`] });
    expect(summaries(await opening(podEvents(kubesub, { project: nsB.name }, { token: bob })))).toEqual([
      "PodAdded bob-b INITIAL_STATE",
      "InitialStateComplete 1",
    ]);
    // An admin sees every user's objects, in any project.
    const admin = await tokenOf({ sub: "operator", groups: ["platform-admins"] });
    expect(summaries(await opening(podEvents(kubesub, { project: nsA.name }, { token: admin }))).sort()).toEqual([
      "InitialStateComplete 4",
      "PodAdded alice-lab INITIAL_STATE",
      "PodAdded alice-lab-2 INITIAL_STATE",
      "PodAdded bob-lab INITIAL_STATE",
      "PodAdded bob-lab-2 INITIAL_STATE",
    ]);
  });

  it("self with proxy-header: a Kubeflow user's projects come from the proxy's groups", async () => {
    await createPod(cp.core(), nsA.name, "alice-nb", "alice");
    await createPod(cp.core(), nsA.name, "bob-nb", "bob");
    const kubesub = await start({
      mode: "proxy-header",
      proxy: {
        userHeader: "kubeflow-userid",
        groupsHeader: "kubeflow-groups",
        secretHeader: "x-kubesub-proxy-secret",
        secret: proxySecret,
      },
      authorizer: self(),
    });
    const headers = { "x-kubesub-proxy-secret": proxySecret, "kubeflow-userid": "alice", "kubeflow-groups": `project:${nsA.name}` };
    expect(summaries(await opening(podEvents(kubesub, { project: nsA.name }, { headers })))).toEqual([
      "PodAdded alice-nb INITIAL_STATE",
      "InitialStateComplete 1",
    ]);
    expect((await opening(podEvents(kubesub, { project: nsB.name }, { headers })))[0]?.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const { "x-kubesub-proxy-secret": _, ...withoutProof } = headers;
    expect(await attempt(kubesub, nsA.name, withoutProof)).toMatchObject({ status: 401, code: "UNAUTHENTICATED" });
  });
});
