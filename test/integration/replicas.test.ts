// Single connection mode with several replicas, over real HTTP: two kubesub processes over the same
// in-memory cluster, sharing the key that signs reservation tokens, behind a balancer that sends
// each request on its own (test/helpers/http-balancer.ts): requests without a stream token (the PUT
// that reserves, distinct mode) go to the replicas in turn; those with one go where the routing
// rule says, by a hash of the token, or, the worst case, always to the replica that did not
// answer the PUT. graphql-sse's client in single connection mode, without cookies, streams either
// way; a token that is malformed, forged, tampered with, expired or another caller's gets a coded
// 4xx and never a stream.
import { createClient, type ExecutionResult } from "graphql-sse";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import type { AuthSettings } from "../../src/server/auth/request-authenticator.ts";
import { StreamTokens } from "../../src/server/stream-token.ts";
import { awayFromReserver, byTokenHash, HttpBalancer } from "../helpers/http-balancer.ts";
import { type RunningKubesub, startKubesub } from "../helpers/kubesub-server.ts";
import { podFixture } from "../helpers/pods.ts";

const key = "a key every replica reads from one Secret, 32+ chars";
const project = "team-a";
const podEvents = `subscription { podEvents(project: "${project}") { __typename ... on PodAdded { pod { name } } } }`;
const tokenHeader = "x-graphql-event-stream-token";

const auth: AuthSettings = {
  mode: "kubernetes",
  authenticator: {
    authenticate: async (token) =>
      token === "alice-token" || token === "bob-token" ? { username: token.slice(0, -6), uid: "", groups: [], extra: {} } : undefined,
  },
  authorizer: { authorize: async () => ({ allowed: true, reason: "" }) },
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function replicas(count: number, reservationTimeoutMs?: number): Promise<{ cluster: MemoryCluster; replicas: RunningKubesub[] }> {
  const cluster = new MemoryCluster();
  cluster.create(podResource, podFixture(project, "alice-1", { user: "alice" }));
  const started: RunningKubesub[] = [];
  for (let i = 0; i < count; i += 1) {
    const replica = await startKubesub((type, namespace) => cluster.source(type, namespace), {
      auth,
      security: { streamTokenKey: key, ...(reservationTimeoutMs ? { reservationTimeoutMs } : {}) },
    });
    started.push(replica);
    cleanups.push(() => replica.close());
  }
  return { cluster, replicas: started };
}

async function balancer(origins: string[], tokenRoute: typeof byTokenHash): Promise<{ balancer: HttpBalancer; origin: string }> {
  const balancer = new HttpBalancer(origins, { tokenRoute });
  const origin = await balancer.listen();
  cleanups.push(() => balancer.close());
  return { balancer, origin };
}

/** Waits until check() holds, polling. */
async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function codedRefusal(response: Response): Promise<{ status: number; code: unknown; message: unknown; contentType: string | null }> {
  const body = (await response.json()) as { errors?: { message?: string; extensions?: { code?: string } }[] };
  return {
    status: response.status,
    code: body.errors?.[0]?.extensions?.code,
    message: body.errors?.[0]?.message,
    contentType: response.headers.get("content-type"),
  };
}

describe("single connection mode behind a balancer of two replicas", () => {
  for (const [policy, route] of [
    ["by a hash of the token", byTokenHash],
    ["always away from the replica that reserved", awayFromReserver],
  ] as const) {
    it(`graphql-sse clients without cookies all stream, routed ${policy}`, async () => {
      const { cluster, replicas: [a, b] = [] } = await replicas(2);
      if (!a || !b) throw new Error("two replicas");
      const front = await balancer([a.origin, b.origin], route);
      const received: { name: string; results: ExecutionResult[] }[] = [];
      const clients: { dispose(): void }[] = [];
      for (let i = 0; i < 6; i += 1) {
        const client = createClient({
          url: `${front.origin}/graphql/stream`,
          singleConnection: true,
          retryAttempts: 0,
          headers: { authorization: "Bearer alice-token" },
        });
        clients.push(client);
        cleanups.push(() => client.dispose());
        const mine = { name: `client ${i}`, results: [] as ExecutionResult[] };
        received.push(mine);
        client.subscribe(
          { query: podEvents },
          {
            next: (result) => mine.results.push(result as ExecutionResult),
            error: (error) => mine.results.push({ errors: [{ message: String(error) }] } as unknown as ExecutionResult),
            complete: () => {},
          },
        );
      }
      const typenames = (results: ExecutionResult[]) =>
        results.map((r) => (r.data as { podEvents?: { __typename: string; pod?: { name: string } } } | null)?.podEvents);
      await until(
        () => received.every((c) => typenames(c.results).some((e) => e?.__typename === "InitialStateComplete")),
        "every client's initial state",
      );
      cluster.create(podResource, podFixture(project, "alice-2", { user: "alice" }));
      await until(() => received.every((c) => typenames(c.results).some((e) => e?.pod?.name === "alice-2")), "every client's live change");
      for (const client of received)
        expect(
          client.results.flatMap((r) => r.errors ?? []),
          client.name,
        ).toEqual([]);
      // Both replicas serve streams, and reservations were taken up by a replica that did not make them.
      expect(a.app.openStreams).toBeGreaterThan(0);
      expect(b.app.openStreams).toBeGreaterThan(0);
      expect(a.app.openStreams + b.app.openStreams).toBe(6);
      const puts = front.balancer.routed.filter((r) => r.method === "PUT");
      expect(puts).toHaveLength(6);
      expect(new Set(puts.map((p) => p.replica))).toEqual(new Set([0, 1]));
      const streams = front.balancer.routed.filter((r) => r.method === "GET" && r.token !== undefined);
      expect(streams).toHaveLength(6);
      const crossed = streams.filter((s) => front.balancer.reservedBy.get(s.token ?? "") !== s.replica);
      if (route === awayFromReserver) expect(crossed).toHaveLength(6);
      for (const client of clients) client.dispose();
      await Promise.all([a.app.streamsDrained(), b.app.streamsDrained()]);
    });
  }

  it("a malformed, forged, tampered, expired or another caller's token gets a coded 4xx on any replica, never a stream", async () => {
    const {
      replicas: [a, b],
    } = await replicas(2);
    if (!a || !b) throw new Error("two replicas");
    const alice = { authorization: "Bearer alice-token" };
    const bob = { authorization: "Bearer bob-token" };
    const reserved = await fetch(`${a.origin}/graphql/stream`, { method: "PUT", headers: alice });
    expect(reserved.status).toBe(201);
    const token = await reserved.text();
    expect(token).toMatch(/^v1\./);
    const tampered = token.replace(/\.(\d+)\./, (_, expiry: string) => `.${Number(expiry) + 3_600_000}.`);
    const now = Date.now();
    const cases: { what: string; token: string; headers: Record<string, string>; status: number; code: string }[] = [
      { what: "malformed", token: "no-such-reservation", headers: alice, status: 403, code: "STREAM_TOKEN_INVALID" },
      {
        what: "signed with another key",
        token: new StreamTokens("not the replicas' key, but 32+ characters", 30_000, () => now).issue("alice"),
        headers: alice,
        status: 403,
        code: "STREAM_TOKEN_INVALID",
      },
      { what: "tampered with (a later expiry)", token: tampered, headers: alice, status: 403, code: "STREAM_TOKEN_INVALID" },
      {
        what: "expired",
        token: new StreamTokens(key, 30_000, () => now - 60_000).issue("alice"),
        headers: alice,
        status: 410,
        code: "STREAM_TOKEN_EXPIRED",
      },
      { what: "another caller's", token, headers: bob, status: 403, code: "STREAM_TOKEN_INVALID" },
    ];
    for (const c of cases) {
      for (const replica of [a, b]) {
        const stream = await fetch(`${replica.origin}/graphql/stream`, {
          headers: { ...c.headers, accept: "text/event-stream", [tokenHeader]: c.token },
        });
        const operation = await fetch(`${replica.origin}/graphql/stream`, {
          method: "POST",
          headers: { ...c.headers, "content-type": "application/json", [tokenHeader]: c.token },
          body: JSON.stringify({ query: podEvents, extensions: { operationId: "1" } }),
        });
        const inQuery = await fetch(`${replica.origin}/graphql/stream?token=${encodeURIComponent(c.token)}`, {
          headers: { ...c.headers, accept: "text/event-stream" },
        });
        for (const response of [stream, operation, inQuery]) {
          const refusal = await codedRefusal(response);
          expect(refusal, `${c.what}: ${response.url}`).toMatchObject({ status: c.status, code: c.code });
          expect(refusal.contentType).toMatch(/json/);
          expect(refusal.message).not.toBe("Missing query");
        }
      }
    }
    expect(a.app.openStreams + b.app.openStreams).toBe(0);
    // The genuine token still works for its caller, on the replica that did not reserve it.
    const operation = await fetch(`${b.origin}/graphql/stream`, {
      method: "POST",
      headers: { ...alice, "content-type": "application/json", [tokenHeader]: token },
      body: JSON.stringify({ query: podEvents, extensions: { operationId: "1" } }),
    });
    expect(operation.status).toBe(202);
    expect(b.app.openStreams).toBe(1);
  });

  it("operations sent to a replica whose stream never connects there are ended on that replica", async () => {
    const {
      replicas: [a, b],
    } = await replicas(2, 200);
    if (!a || !b) throw new Error("two replicas");
    const headers = { authorization: "Bearer alice-token" };
    const token = await (await fetch(`${a.origin}/graphql/stream`, { method: "PUT", headers })).text();
    for (const operationId of ["1", "2"]) {
      const registered = await fetch(`${b.origin}/graphql/stream`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json", [tokenHeader]: token },
        body: JSON.stringify({ query: podEvents, extensions: { operationId } }),
      });
      expect(registered.status).toBe(202);
    }
    expect(b.app.openStreams).toBe(2);
    expect(a.app.openStreams).toBe(0);
    await until(() => b.app.openStreams === 0, "the unconnected reservation's operations ended");
    // The reservation itself is gone too, and its token has expired: its stream is refused.
    const late = await fetch(`${b.origin}/graphql/stream`, { headers: { ...headers, accept: "text/event-stream", [tokenHeader]: token } });
    expect(await codedRefusal(late)).toMatchObject({ status: 410, code: "STREAM_TOKEN_EXPIRED" });
  });

  it("a reservation taken up by an operation that is refused, and never connected, lapses all the same", async () => {
    const {
      replicas: [a, b],
    } = await replicas(2, 200);
    if (!a || !b) throw new Error("two replicas");
    const headers = { authorization: "Bearer alice-token" };
    const token = await (await fetch(`${a.origin}/graphql/stream`, { method: "PUT", headers })).text();
    const refused = await fetch(`${b.origin}/graphql/stream`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", [tokenHeader]: token },
      body: JSON.stringify({
        query: `subscription { podEvents(project: "Not_A_Namespace") { __typename } }`,
        extensions: { operationId: "1" },
      }),
    });
    expect(refused.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const late = await fetch(`${b.origin}/graphql/stream`, { headers: { ...headers, accept: "text/event-stream", [tokenHeader]: token } });
    expect(await codedRefusal(late)).toMatchObject({ status: 410, code: "STREAM_TOKEN_EXPIRED" });
    expect(b.app.openStreams).toBe(0);
  });
});
