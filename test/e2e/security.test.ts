// Multi-tenant security against the real apiserver: kubesub with --auth kubernetes asks the
// apiserver who each caller is (TokenReview) and what they may read (SubjectAccessReview), under
// real RBAC written by the test, for the static token users alice (team-a), bob (team-b) and carol
// (no group), and for a service account token from the TokenRequest API.
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { SecurityOverrides } from "../../src/options.ts";
import { TokenReviewAuthenticator, type TokenReviewOptions } from "../../src/server/auth/authenticator.ts";
import { SubjectAccessReviewAuthorizer, type SubjectAccessReviewOptions } from "../../src/server/auth/authorizer.ts";
import { controlPlane, type TestNamespace, type UserName } from "../helpers/control-plane.ts";
import { kubeConfigFor } from "../helpers/control-plane-kube.ts";
import type { RunningKubesub } from "../helpers/kubesub-server.ts";
import { createPod, podEventsDocument, startKubesubOn } from "./support.ts";
import {
  errorCodes,
  type GraphqlError,
  graphqlRequest,
  isComplete,
  refusalErrors,
  type StreamResult,
  SubscriptionStream,
  summarize,
  type UnionEvent,
} from "./support-graphql.ts";
import { group, RbacWriter, serviceAccount, user, viewerClusterRole } from "./support-rbac.ts";

const cp = controlPlane();

/** How often open streams are re-checked. */
const recheckIntervalMs = 500;
/**
 * kubesub's caches of the apiserver's answers, kept short so that a revocation shows within about
 * a second. (The SubjectAccessReview allow cache, 30 s by default, is what delays a revocation; the
 * deny cache, 5 s, what delays a grant.)
 */
const sarCache: SubjectAccessReviewOptions = { allowTtlMs: 500, denyTtlMs: 200 };
const tokenReviewCache: TokenReviewOptions = { validTtlMs: 500, invalidTtlMs: 200 };

let writer: RbacWriter;
let clusterRoleWriter: RbacWriter;
let viewerRole: string;
let nsA: TestNamespace;
let nsB: TestNamespace;
/** Deletes the RoleBinding that lets team-a read A. */
let revokeTeamA: () => Promise<void>;
const servers: RunningKubesub[] = [];
const streams: SubscriptionStream[] = [];

/** kubesub as in production with --auth kubernetes: its own identity (admin here) asks the apiserver. */
async function startSecured(overrides: SecurityOverrides = {}) {
  const own = kubeConfigFor(cp.info, "admin", "main");
  const kubesub = await startKubesubOn(cp, {
    auth: {
      mode: "kubernetes",
      authenticator: new TokenReviewAuthenticator(own, tokenReviewCache),
      authorizer: new SubjectAccessReviewAuthorizer(own, sarCache),
    },
    security: { recheckIntervalMs, ...overrides },
    informerLingerMs: 200,
    // One watch per project, so that what is (not) watched for a caller shows per namespace.
    watchScope: "namespace",
  });
  servers.push(kubesub);
  return kubesub;
}

/**
 * Waits until the apiserver holds no namespace-scoped pod watch: no kubesub of an earlier test is
 * watching any more (on the local control plane nothing else holds one).
 */
const noPodWatches = () =>
  vi.waitFor(async () => expect(await cp.openWatches({ resource: "pods" })).toBe(0), { timeout: 10_000, interval: 100 });

const tokenOf = (name: UserName) => cp.info.tokens?.[name] ?? "";

function podEvents(kubesub: RunningKubesub, token: string, project: string): SubscriptionStream {
  const stream = new SubscriptionStream(kubesub.origin, podEventsDocument, { project }, { token });
  streams.push(stream);
  return stream;
}

/** The initial state of a stream, or the refusal that took its place. */
const opening = (stream: SubscriptionStream, timeoutMs = 10_000) =>
  stream.take({ until: (r) => isComplete(r) || r.errors !== undefined, timeoutMs });
const summaries = (results: StreamResult<UnionEvent>[]) => results.map(summarize);
const firstError = (results: StreamResult<UnionEvent>[]): GraphqlError | undefined => results.find((r) => r.errors)?.errors?.[0];

// The static token users exist only on the local control plane.
describe.skipIf(!cp.isLocal)("multi-tenant security", () => {
  beforeAll(async () => {
    clusterRoleWriter = new RbacWriter(cp.kubeConfig());
    viewerRole = await clusterRoleWriter.createClusterRole(viewerClusterRole(`kubesub-viewer-e2e-${randomBytes(3).toString("hex")}`));
  });

  afterAll(async () => {
    await clusterRoleWriter?.cleanup();
  });

  beforeEach(async () => {
    writer = new RbacWriter(cp.kubeConfig());
    nsA = await cp.createNamespace("tenant-a");
    nsB = await cp.createNamespace("tenant-b");
    // kubesub-viewer for group team-a in A and for group team-b in B.
    revokeTeamA = await writer.bind(nsA.name, "team-a-views", viewerRole, [group("team-a")]);
    await writer.bind(nsB.name, "team-b-views", viewerRole, [group("team-b")]);
  });

  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    for (const kubesub of servers.splice(0)) await kubesub.close();
    await writer.cleanup();
    await nsA.delete();
    await nsB.delete();
  });

  it("each caller streams the namespaces RBAC lets it list and watch; elsewhere FORBIDDEN names the resource and namespace, and nothing is watched", async () => {
    await createPod(cp.core(), nsA.name, "in-a", "alice");
    await createPod(cp.core(), nsB.name, "in-b", "bob");
    const kubesub = await startSecured();
    const alice = tokenOf("alice");

    expect(summaries(await opening(podEvents(kubesub, alice, nsA.name)))).toEqual([
      "PodAdded in-a INITIAL_STATE",
      "InitialStateComplete 1",
    ]);

    const refused = podEvents(kubesub, alice, nsB.name);
    const refusal = await opening(refused);
    expect(summaries(refusal)).toEqual(["errors FORBIDDEN"]);
    expect(firstError(refusal)).toEqual({ message: `alice may not list pods in namespace ${nsB.name}`, extensions: { code: "FORBIDDEN" } });
    expect(await refused.ended).toEqual({});
    // Nothing of B was read for her: the refusal comes before any informer starts.
    expect(kubesub.app.registry.snapshot().map((e) => e.key)).toEqual([`pods/${nsA.name}`, "namespaces/*"]);

    // Queries are authorized the same way.
    const query = (token: string, project: string) =>
      graphqlRequest(kubesub.origin, {
        headers: { authorization: `Bearer ${token}` },
        body: { query: "query ($project: String!) { pods(project: $project) { name } }", variables: { project } },
      });
    expect((await query(alice, nsA.name)).body).toEqual({ data: { pods: [{ name: "in-a" }] } });
    expect(errorCodes(await query(alice, nsB.name))).toEqual(["FORBIDDEN"]);

    // bob (team-b) reads B, not A; carol (no group) reads neither.
    expect(summaries(await opening(podEvents(kubesub, tokenOf("bob"), nsB.name)))).toEqual([
      "PodAdded in-b INITIAL_STATE",
      "InitialStateComplete 1",
    ]);
    expect(firstError(await opening(podEvents(kubesub, tokenOf("bob"), nsA.name)))?.message).toBe(
      `bob may not list pods in namespace ${nsA.name}`,
    );
    expect(firstError(await opening(podEvents(kubesub, tokenOf("carol"), nsA.name)))?.extensions?.code).toBe("FORBIDDEN");
    expect(firstError(await opening(podEvents(kubesub, tokenOf("carol"), nsB.name)))?.extensions?.code).toBe("FORBIDDEN");

    // A RoleBinding to the user bob in A grants him A, once the apiserver's RBAC has it and
    // kubesub's cached deny (200 ms here) has expired.
    await writer.bind(nsA.name, "bob-views", viewerRole, [user("bob")]);
    await vi.waitFor(
      async () => {
        const stream = podEvents(kubesub, tokenOf("bob"), nsA.name);
        const results = await opening(stream);
        if (results.some((r) => r.errors)) stream.close();
        expect(summaries(results)).toEqual(["PodAdded in-a INITIAL_STATE", "InitialStateComplete 1"]);
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it("a RoleBinding deleted mid-stream ends that caller's stream with FORBIDDEN, not retryable; another caller on the same informer goes on", async () => {
    // alice reads A through team-a's binding, which the test deletes; bob through team-b's.
    await writer.bind(nsA.name, "team-b-views", viewerRole, [group("team-b")]);
    const kubesub = await startSecured();
    const alice = podEvents(kubesub, tokenOf("alice"), nsA.name);
    const bob = podEvents(kubesub, tokenOf("bob"), nsA.name);
    expect(summaries(await opening(alice))).toEqual(["InitialStateComplete 0"]);
    expect(summaries(await opening(bob))).toEqual(["InitialStateComplete 0"]);
    expect(kubesub.app.registry.snapshot().map((e) => e.key)).toEqual([`pods/${nsA.name}`, "namespaces/*"]);

    const revokedAt = performance.now();
    await revokeTeamA();
    // Bound: the re-check interval, plus kubesub's cached allow, plus the apiserver's RBAC informer
    // and one SubjectAccessReview.
    const bound = recheckIntervalMs + (sarCache.allowTtlMs ?? 0) + 3_000;
    const [ending] = await alice.events({ count: 1, timeoutMs: bound });
    const ms = performance.now() - revokedAt;
    expect(ending).toEqual({
      __typename: "StreamError",
      code: "FORBIDDEN",
      message: `access revoked: alice may not list pods in namespace ${nsA.name}`,
      retryable: false,
    });
    expect(await alice.ended).toEqual({});
    console.log(`revocation: alice's stream ended ${ms.toFixed(0)} ms after her RoleBinding was deleted`);

    // bob's stream, on the same informer, still receives changes.
    await createPod(cp.core(), nsA.name, "after-revocation", "bob");
    expect(summaries(await bob.take({ count: 1 }))).toEqual(["PodAdded after-revocation CLUSTER_CHANGE"]);
    expect(alice.untaken).toEqual([]);
    expect(kubesub.app.registry.snapshot().map((e) => e.key)).toEqual([`pods/${nsA.name}`, "namespaces/*"]);
  });

  it("missing, malformed and unknown credentials get 401 UNAUTHENTICATED before anything is streamed or watched", async () => {
    await noPodWatches();
    const kubesub = await startSecured();
    const subscription = { query: podEventsDocument, variables: { project: nsA.name } };
    const cases: { name: string; authorization?: string; path?: string; method?: string }[] = [
      { name: "no Authorization header" },
      { name: "Bearer without a token", authorization: "Bearer" },
      { name: "Bearer with garbage", authorization: "Bearer !!not/a token!!" },
      { name: "Basic credentials", authorization: "Basic x" },
      { name: "alice's token as Basic", authorization: `Basic ${tokenOf("alice")}` },
      { name: "an unknown bearer token", authorization: `Bearer unknown-${randomBytes(8).toString("hex")}` },
      { name: "an unknown token, single connection mode", authorization: "Bearer unknown-token", path: "/graphql/stream", method: "PUT" },
    ];
    const answers = [];
    for (const c of cases) {
      const response = await graphqlRequest(kubesub.origin, {
        path: c.path,
        method: c.method,
        headers: { accept: "text/event-stream", ...(c.authorization ? { authorization: c.authorization } : {}) },
        body: c.method === "PUT" ? undefined : subscription,
      });
      answers.push({
        name: c.name,
        status: response.status,
        contentType: response.contentType,
        wwwAuthenticate: response.headers.get("www-authenticate"),
        codes: errorCodes(response),
      });
    }
    expect(answers).toEqual(
      cases.map((c) => ({
        name: c.name,
        status: 401,
        contentType: "application/json; charset=utf-8",
        wwwAuthenticate: 'Bearer realm="kubesub"',
        codes: ["UNAUTHENTICATED"],
      })),
    );

    // A graphql-sse client with an unknown token: its stream fails at once, with nothing in it.
    const stranger = podEvents(kubesub, "unknown-token", nsA.name);
    const { refusal } = await stranger.ended;
    expect(stranger.results).toEqual([]);
    expect({ status: refusal?.status, code: refusalErrors(refusal?.body ?? "")[0]?.extensions?.code }).toEqual({
      status: 401,
      code: "UNAUTHENTICATED",
    });

    expect(kubesub.app.registry.snapshot()).toEqual([]);
    expect(await cp.openWatches({ resource: "pods" })).toBe(0);
  });

  it("alice and bob, each allowed, share one informer: exactly one pods watch on the apiserver", async () => {
    await writer.bind(nsA.name, "team-b-views", viewerRole, [group("team-b")]);
    await noPodWatches();
    const kubesub = await startSecured();
    const callers = [
      podEvents(kubesub, tokenOf("alice"), nsA.name),
      podEvents(kubesub, tokenOf("bob"), nsA.name),
      podEvents(kubesub, tokenOf("alice"), nsA.name),
      podEvents(kubesub, tokenOf("bob"), nsA.name),
    ];
    for (const stream of callers) expect(summaries(await opening(stream))).toEqual(["InitialStateComplete 0"]);
    // carol's refused attempt adds nothing.
    expect(firstError(await opening(podEvents(kubesub, tokenOf("carol"), nsA.name)))?.extensions?.code).toBe("FORBIDDEN");

    await vi.waitFor(async () => expect(await cp.openWatches({ resource: "pods" })).toBe(1), { timeout: 10_000, interval: 100 });
    expect(kubesub.app.registry.snapshot().map((e) => e.key)).toEqual([`pods/${nsA.name}`, "namespaces/*"]);

    await createPod(cp.core(), nsA.name, "shared", "alice");
    for (const stream of callers) expect(summaries(await stream.take({ count: 1 }))).toEqual(["PodAdded shared CLUSTER_CHANGE"]);
    expect(await cp.openWatches({ resource: "pods" })).toBe(1);
  });

  it("limits refuse with clear errors: aliases, subscriptions per identity, GraphiQL and introspection switched off", async () => {
    const kubesub = await startSecured({
      limits: { maxAliases: 3 },
      maxSubscriptionsPerIdentity: 1,
      graphiql: false,
      introspection: false,
    });
    const alice = tokenOf("alice");
    const asAlice = { authorization: `Bearer ${alice}` };
    const query = (text: string) => graphqlRequest(kubesub.origin, { headers: asAlice, body: { query: text } });

    // Aliases (other than of __typename, which graphql-armor allows): three pass, four are
    // refused, in a query and in a subscription, before anything is read.
    const names = (n: number) => Array.from({ length: n }, (_, i) => `n${i}: name`).join(" ");
    const pods = (n: number) => query(`{ pods(project: "${nsA.name}") { ${names(n)} } }`);
    expect((await pods(3)).body).toEqual({ data: { pods: [] } });
    const aliasErrors = [
      { message: "Syntax Error: Aliases limit of 3 exceeded, found 4.", extensions: { code: "QUERY_TOO_COMPLEX", limit: "aliases" } },
    ];
    const tooMany = await pods(4);
    expect(typeof tooMany.body === "object" && tooMany.body.errors).toEqual(aliasErrors);
    // A subscription is refused the way graphql-sse's PROTOCOL.md asks: over an accepted stream,
    // with the errors in a `next` event, which the client reports as a result with errors.
    const aliased = new SubscriptionStream(
      kubesub.origin,
      `subscription { podEvents(project: "${nsA.name}") { ... on PodAdded { pod { ${names(4)} } } } }`,
      {},
      { token: alice },
    );
    streams.push(aliased);
    const { refusal } = await aliased.ended;
    expect(refusal).toBeUndefined();
    expect(aliased.results.map((r) => r.errors)).toEqual([aliasErrors]);

    // One subscription per identity: alice's second is refused, bob is not affected, and closing
    // alice's first frees her slot.
    const first = podEvents(kubesub, alice, nsA.name);
    expect(summaries(await opening(first))).toEqual(["InitialStateComplete 0"]);
    const second = await opening(podEvents(kubesub, alice, nsA.name));
    expect(firstError(second)).toEqual({
      message: "you already hold 1 subscription, the most one identity may hold; close one first",
      extensions: { code: "TOO_MANY_SUBSCRIPTIONS", limit: 1 },
    });
    expect(summaries(await opening(podEvents(kubesub, tokenOf("bob"), nsB.name)))).toEqual(["InitialStateComplete 0"]);
    first.close();
    await vi.waitFor(
      async () => {
        const stream = podEvents(kubesub, alice, nsA.name);
        const results = await opening(stream);
        if (results.some((r) => r.errors)) stream.close();
        expect(summaries(results)).toEqual(["InitialStateComplete 0"]);
      },
      { timeout: 10_000, interval: 100 },
    );

    // GraphiQL and introspection: served by a default kubesub, not by this one.
    const open = await startSecured();
    const page = (origin: string) => graphqlRequest(origin, { method: "GET", headers: { accept: "text/html" } });
    const served = await page(open.origin);
    expect({ status: served.status, graphiql: String(served.body).includes("GraphiQL") }).toEqual({ status: 200, graphiql: true });
    const refused = await page(kubesub.origin);
    expect({ status: refused.status, code: errorCodes(refused)[0], graphiql: JSON.stringify(refused.body).includes("GraphiQL") }).toEqual({
      status: 406,
      code: "NOT_ACCEPTABLE",
      graphiql: false,
    });

    const introspection = { headers: asAlice, body: { query: "{ __schema { types { name } } }" } };
    const answered = await graphqlRequest(open.origin, introspection);
    const schema =
      typeof answered.body === "object" ? (answered.body.data as { __schema: { types: { name: string }[] } }).__schema : undefined;
    expect(schema?.types.map((t) => t.name)).toEqual(expect.arrayContaining(["PodEvent", "IDEEvent", "DaskEvent"]));
    const denied = await graphqlRequest(kubesub.origin, introspection);
    expect(typeof denied.body === "object" && denied.body.data).toBeUndefined();
    expect(errorCodes(denied)[0]).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(typeof denied.body === "object" && denied.body.errors?.[0]?.message).toBe(
      'GraphQL introspection has been disabled, but the requested query contained the field "__schema".',
    );
  });

  it("a service account token that stops being valid mid-stream (its bound Secret deleted) ends the stream with UNAUTHENTICATED", async () => {
    const runner = await writer.boundServiceAccountToken(nsA.name, "notebook-runner");
    await writer.bind(nsA.name, "runner-views", viewerRole, [serviceAccount(nsA.name, "notebook-runner")]);
    const kubesub = await startSecured();
    const stream = podEvents(kubesub, runner.token, nsA.name);
    expect(summaries(await opening(stream))).toEqual(["InitialStateComplete 0"]);
    const alice = podEvents(kubesub, tokenOf("alice"), nsA.name);
    expect(summaries(await opening(alice))).toEqual(["InitialStateComplete 0"]);

    const invalidatedAt = performance.now();
    await runner.deleteSecret();
    // Bound: the apiserver caches a token's successful authentication for 10 s (kube-apiserver's
    // token cache, not configurable by flag), then kubesub's TokenReview cache and the re-check.
    const bound = 10_000 + (tokenReviewCache.validTtlMs ?? 0) + recheckIntervalMs + 3_000;
    const [ending] = await stream.events({ count: 1, timeoutMs: bound });
    const ms = performance.now() - invalidatedAt;
    expect(ending).toEqual({
      __typename: "StreamError",
      code: "UNAUTHENTICATED",
      message: "your token is no longer valid; sign in again before reconnecting",
      retryable: false,
    });
    expect(await stream.ended).toEqual({});
    console.log(`token invalidation: the service account's stream ended ${ms.toFixed(0)} ms after its bound Secret was deleted`);

    // The token no longer opens anything; alice's stream on the same informer goes on.
    const again = await graphqlRequest(kubesub.origin, {
      headers: { accept: "text/event-stream", authorization: `Bearer ${runner.token}` },
      body: { query: podEventsDocument, variables: { project: nsA.name } },
    });
    expect({ status: again.status, codes: errorCodes(again) }).toEqual({ status: 401, codes: ["UNAUTHENTICATED"] });
    await createPod(cp.core(), nsA.name, "after-invalidation", "alice");
    expect(summaries(await alice.take({ count: 1 }))).toEqual(["PodAdded after-invalidation CLUSTER_CHANGE"]);
  });
});
