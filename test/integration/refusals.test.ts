// Refusals as clients see them, over real HTTP against the real server: every refused or abandoned
// subscription releases its slot and its informers, and every error answer is a GraphQL error with
// a code, whatever refused it (kubesub, yoga, graphql-sse or Node's HTTP parser), in both SSE modes.
import { createClient, type ExecutionResult } from "graphql-sse";
import { afterEach, describe, expect, it } from "vitest";
import type { KubesubOverrides } from "../../src/options.ts";
import type { Authorizer } from "../../src/server/auth/authorizer.ts";
import { startOnMemoryCluster } from "../helpers/kubesub-server.ts";
import { captureLogger } from "../helpers/logs.ts";
import { readSse } from "../helpers/sse.ts";
import { take } from "../helpers/streams.ts";

const running: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});

/** A limit the refusals below reach. */
const maxSubscriptionsPerIdentity = 3;

async function start(overrides: KubesubOverrides = {}) {
  const kubesub = await startOnMemoryCluster({ ...overrides, security: { maxSubscriptionsPerIdentity, ...overrides.security } });
  running.push(kubesub);
  return kubesub;
}

const podEvents = (project = "team-a") => `subscription { podEvents(project: "${project}") { __typename } }`;

/** What Apollo Client's default HttpLink asks for. */
const apolloHttpLinkAccept = "application/graphql-response+json,application/json;q=0.9";

function post(url: string, query: string, accept: string, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return fetch(url, {
    method: "POST",
    headers: { accept, "content-type": "application/json", ...headers },
    body: JSON.stringify({ query }),
    signal,
  });
}

/** Opens a distinct-mode stream and reads it up to InitialStateComplete; returns the frames and what closes it. */
async function openStream(origin: string, query = podEvents(), headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await post(`${origin}/graphql`, query, "text/event-stream", headers, controller.signal);
  expect(response.status).toBe(200);
  const frames = readSse(response.body as ReadableStream<Uint8Array>);
  const data = (await take(frames, { until: (f) => f.data.includes("InitialStateComplete") || f.data.includes("errors") })).map(
    (f) => f.data,
  );
  return { data, close: () => controller.abort() };
}

/** Bounded wait for a promise. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A body that tells the client what went wrong: a GraphQL error with a code, no stack, no file path. */
async function codedError(response: Response): Promise<{ message: string; code: string }> {
  expect(response.headers.get("content-type")).toContain("application/json");
  const text = await response.text();
  expect(text).not.toMatch(/\n\s+at |node_modules|file:\/\/|\/work\//);
  const body = JSON.parse(text) as { errors: { message: string; extensions: { code: string } }[] };
  expect(body.errors[0]?.message).toBeTruthy();
  return { message: body.errors[0]?.message ?? "", code: body.errors[0]?.extensions.code ?? "" };
}

describe("a refused or abandoned subscription releases what it held", () => {
  it("a subscription sent without text/event-stream (Apollo's HttpLink) gets 406 with a coded error and holds nothing", async () => {
    const kubesub = await start();
    for (let i = 0; i < 5; i++) {
      const response = await post(`${kubesub.origin}/graphql`, podEvents(), apolloHttpLinkAccept);
      expect(response.status).toBe(406);
      expect(await codedError(response)).toMatchObject({ code: "NOT_ACCEPTABLE", message: expect.stringContaining("text/event-stream") });
    }
    expect(kubesub.app.openStreams).toBe(0);
    expect(kubesub.app.registry.snapshot().every((entry) => entry.references === 0)).toBe(true);
    // 5 refusals with a limit of 3 per identity: a real stream still opens.
    const stream = await openStream(kubesub.origin);
    expect(stream.data.at(-1)).toContain("InitialStateComplete");
    stream.close();
    await within(kubesub.app.streamsDrained(), 5_000, "the stream's slot released");
  });

  it("BAD_USER_INPUT, FORBIDDEN and TOO_MANY_SUBSCRIPTIONS refusals hold no slot, and closed streams release theirs", async () => {
    const authorizer: Authorizer = {
      authorize: async (_identity, request) =>
        request.namespace === "secret" ? { allowed: false, reason: "no RoleBinding" } : { allowed: true, reason: "" },
    };
    const kubesub = await start({
      auth: {
        mode: "kubernetes",
        authenticator: { authenticate: async () => ({ username: "alice", uid: "", groups: [], extra: {} }) },
        authorizer,
      },
      security: { maxSubscriptionsPerIdentity: 2 },
    });
    const bearer = { authorization: "Bearer alice-token" };
    const streams = [await openStream(kubesub.origin, podEvents(), bearer), await openStream(kubesub.origin, podEvents("team-b"), bearer)];
    expect(kubesub.app.openStreams).toBe(2);
    const refusedWith = async (query: string) => (await openStream(kubesub.origin, query, bearer)).data.join("\n");
    expect(await refusedWith(podEvents("Not_A_Namespace"))).toContain("BAD_USER_INPUT");
    expect(await refusedWith(podEvents("secret"))).toContain("FORBIDDEN");
    expect(await refusedWith(podEvents("team-a"))).toContain("TOO_MANY_SUBSCRIPTIONS");
    expect(kubesub.app.openStreams).toBe(2);
    for (const stream of streams) stream.close();
    await within(kubesub.app.streamsDrained(), 5_000, "both streams' slots released");
    expect(await refusedWith(podEvents("team-a"))).toContain("InitialStateComplete");
  });

  it("a client that leaves before the first byte of its stream releases its slot", async () => {
    let authorizing: () => void = () => {};
    const authorizationAsked = new Promise<void>((resolve) => {
      authorizing = resolve;
    });
    let grant: () => void = () => {};
    const granted = new Promise<void>((resolve) => {
      grant = resolve;
    });
    let first = true;
    const authorizer: Authorizer = {
      authorize: async () => {
        if (first) {
          first = false;
          authorizing();
          await granted;
        }
        return { allowed: true, reason: "" };
      },
    };
    const kubesub = await start({
      auth: {
        mode: "kubernetes",
        authenticator: { authenticate: async () => ({ username: "alice", uid: "", groups: [], extra: {} }) },
        authorizer,
      },
      security: { maxSubscriptionsPerIdentity: 1 },
    });
    const bearer = { authorization: "Bearer alice-token" };
    const leaving = new AbortController();
    const abandoned = post(`${kubesub.origin}/graphql`, podEvents(), "text/event-stream", bearer, leaving.signal).catch((e: unknown) => e);
    await within(authorizationAsked, 5_000, "the first subscription's authorization");
    leaving.abort();
    expect(await abandoned).toBeInstanceOf(Error);
    grant();
    // With a limit of one stream per identity, the abandoned one must not hold it.
    const stream = await openStream(kubesub.origin, podEvents(), bearer);
    expect(stream.data.at(-1)).toContain("InitialStateComplete");
    stream.close();
    await within(kubesub.app.streamsDrained(), 5_000, "every slot released");
  });

  it("single connection mode: operations of a reservation whose stream never connects are ended", async () => {
    const kubesub = await start({ security: { reservationTimeoutMs: 200 } });
    const reservation = await fetch(`${kubesub.origin}/graphql/stream`, { method: "PUT" });
    expect(reservation.status).toBe(201);
    const token = await reservation.text();
    for (const operationId of ["1", "2"]) {
      const registered = await fetch(`${kubesub.origin}/graphql/stream`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-graphql-event-stream-token": token },
        body: JSON.stringify({ query: podEvents(), extensions: { operationId } }),
      });
      expect(registered.status).toBe(202);
    }
    expect(kubesub.app.openStreams).toBe(2);
    await within(kubesub.app.streamsDrained(), 5_000, "the unconnected reservation's operations ended");
  });
});

/** Runs one operation with graphql-sse's client and collects what it delivers, up to complete or error. */
function runSse(origin: string, query: string, singleConnection: boolean) {
  let reconnects = 0;
  const client = createClient({
    url: `${origin}/graphql/stream`,
    singleConnection,
    retryAttempts: 2,
    retry: async () => {},
    on: {
      connecting: (reconnecting) => {
        if (reconnecting) reconnects += 1;
      },
    },
  });
  const results: ExecutionResult[] = [];
  const done = new Promise<{ results: ExecutionResult[]; error?: unknown; reconnects: number }>((resolve) => {
    client.subscribe(
      { query },
      {
        next: (result) => results.push(result as ExecutionResult),
        complete: () => resolve({ results, reconnects }),
        error: (error) => resolve({ results, error, reconnects }),
      },
    );
  });
  return within(done, 10_000, "graphql-sse operation").finally(() => client.dispose());
}

const codesOf = (outcome: { results: ExecutionResult[] }) =>
  outcome.results.flatMap((r) => (r.errors ?? []).map((e) => (e as { extensions?: { code?: string } }).extensions?.code));

describe("/graphql/stream answers mistakes the way /graphql does", () => {
  const overAliases = `subscription { ${Array.from({ length: 20 }, (_, i) => `a${i}: podEvents(project: "team-a") { __typename }`).join(" ")} }`;
  const overTokens = `subscription { podEvents(project: "team-a") { ${"__typename ".repeat(2_100)} } }`;

  for (const singleConnection of [true, false]) {
    const mode = singleConnection ? "single connection" : "distinct connections";

    it(`${mode}: an operation over a query limit gets QUERY_TOO_COMPLEX, no stack trace`, async () => {
      const kubesub = await start();
      for (const query of [overAliases, overTokens]) {
        const outcome = await runSse(kubesub.origin, query, singleConnection);
        expect(outcome.error).toBeUndefined();
        expect(codesOf(outcome)).toEqual(["QUERY_TOO_COMPLEX"]);
        expect(JSON.stringify(outcome.results)).not.toMatch(/node_modules|file:\/\/|\n\s+at /);
      }
      expect(kubesub.app.openStreams).toBe(0);
    });

    it(`${mode}: a bad argument and an unknown field show their real error, without retries`, async () => {
      const kubesub = await start();
      const badArgument = await runSse(kubesub.origin, podEvents("Not_A_Namespace"), singleConnection);
      expect(badArgument.error).toBeUndefined();
      expect(badArgument.reconnects).toBe(0);
      expect(codesOf(badArgument)).toEqual(["BAD_USER_INPUT"]);
      const unknownField = await runSse(kubesub.origin, `subscription { podEventz(project: "team-a") { __typename } }`, singleConnection);
      expect(unknownField.error).toBeUndefined();
      expect(unknownField.reconnects).toBe(0);
      expect(codesOf(unknownField)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
      expect(JSON.stringify(unknownField.results)).toContain("podEventz");
    });
  }

  it("a raw request in single connection mode over the alias limit gets an event, not a 500 with a stack", async () => {
    const kubesub = await start();
    const response = await post(`${kubesub.origin}/graphql/stream`, overAliases, "text/event-stream");
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain("QUERY_TOO_COMPLEX");
    expect(text).not.toMatch(/node_modules|file:\/\/|\n\s+at /);
  });

  it("graphql-sse's own refusals carry a code, and a token kubesub did not sign is refused before them", async () => {
    const kubesub = await start();
    const token = await (await fetch(`${kubesub.origin}/graphql/stream`, { method: "PUT" })).text();
    // A reservation no operation and no stream has taken up yet: graphql-sse has no stream to end.
    const response = await fetch(`${kubesub.origin}/graphql/stream?operationId=1`, {
      method: "DELETE",
      headers: { "x-graphql-event-stream-token": token },
    });
    expect(response.status).toBe(404);
    expect(await codedError(response)).toMatchObject({ code: "NOT_FOUND", message: "Stream not found" });
    const unsigned = await fetch(`${kubesub.origin}/graphql/stream`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-graphql-event-stream-token": "no-such-reservation" },
      body: JSON.stringify({ query: podEvents(), extensions: { operationId: "1" } }),
    });
    expect(unsigned.status).toBe(403);
    expect(await codedError(unsigned)).toMatchObject({ code: "STREAM_TOKEN_INVALID" });
  });
});

describe("the body limit", () => {
  const chunked = (bytes: number) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        const body = new TextEncoder().encode(JSON.stringify({ query: "{ __typename }", variables: { padding: "x".repeat(bytes) } }));
        for (let offset = 0; offset < body.length; offset += 16_384) controller.enqueue(body.subarray(offset, offset + 16_384));
        controller.close();
      },
    });
  const send = (origin: string, bytes: number) =>
    fetch(`${origin}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: chunked(bytes),
      duplex: "half",
    } as RequestInit);

  it("applies to chunked bodies: over it is 413 PAYLOAD_TOO_LARGE, under it runs", async () => {
    const kubesub = await start();
    for (const bytes of [70_000, 1_048_576, 16 * 1_048_576]) {
      const response = await send(kubesub.origin, bytes);
      expect(response.status).toBe(413);
      expect(await codedError(response)).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    }
    const small = await send(kubesub.origin, 1_000);
    expect(small.status).toBe(200);
    expect(await small.json()).toEqual({ data: { __typename: "Query" } });
  });
});

describe("CORS", () => {
  it("allows what graphql-sse's single connection mode sends: PUT, DELETE and the stream token header", async () => {
    const kubesub = await start({ security: { corsOrigins: ["https://ui.example.org"] } });
    for (const method of ["PUT", "DELETE", "POST", "GET"]) {
      const preflight = await fetch(`${kubesub.origin}/graphql/stream`, {
        method: "OPTIONS",
        headers: {
          origin: "https://ui.example.org",
          "access-control-request-method": method,
          "access-control-request-headers": "x-graphql-event-stream-token, content-type, authorization",
        },
      });
      expect(preflight.headers.get("access-control-allow-origin")).toBe("https://ui.example.org");
      expect(preflight.headers.get("access-control-allow-methods")?.split(/,\s*/)).toContain(method);
      expect(preflight.headers.get("access-control-allow-headers")?.split(/,\s*/)).toEqual(
        expect.arrayContaining(["x-graphql-event-stream-token", "content-type", "authorization"]),
      );
    }
  });
});

describe("every error answer has a body with a code", () => {
  it("malformed variables or extensions on a GET are the caller's mistake: 400 BAD_REQUEST, nothing logged as an error", async () => {
    const log = captureLogger();
    const kubesub = await start({ logger: log.logger });
    for (const param of ["variables=%7Bbad", "extensions=%5B", "variables=%22"]) {
      const response = await fetch(`${kubesub.origin}/graphql?query=%7B__typename%7D&${param}`, {
        headers: { accept: "application/json" },
      });
      expect(response.status).toBe(400);
      expect(await codedError(response)).toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("JSON") });
    }
    expect(log.records.filter((record) => record.level >= 50)).toEqual([]);
  });

  it("415, 406, 404 and 431 answers are GraphQL errors with a code", async () => {
    const kubesub = await start();
    const unsupported = await fetch(`${kubesub.origin}/graphql`, { method: "POST", headers: { "content-type": "text/plain" }, body: "x" });
    expect(unsupported.status).toBe(415);
    expect(await codedError(unsupported)).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE" });
    const unacceptable = await post(`${kubesub.origin}/graphql`, "{ __typename }", "text/html");
    expect(unacceptable.status).toBe(406);
    expect(await codedError(unacceptable)).toMatchObject({ code: "NOT_ACCEPTABLE" });
    const missing = await fetch(`${kubesub.origin}/nothing-here`, { headers: { accept: "application/json" } });
    expect(missing.status).toBe(404);
    expect(await codedError(missing)).toMatchObject({ code: "NOT_FOUND" });
    const longUrl = await fetch(`${kubesub.origin}/graphql?query=${"a".repeat(20_000)}`);
    expect(longUrl.status).toBe(431);
    expect(await codedError(longUrl)).toMatchObject({ code: "REQUEST_HEADER_FIELDS_TOO_LARGE" });
  });

  it("a missing variable is BAD_USER_INPUT", async () => {
    const kubesub = await start();
    const response = await post(`${kubesub.origin}/graphql`, `query ($p: String!) { pods(project: $p) { name } }`, "application/json");
    expect(await codedError(response)).toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringContaining("$p") });
  });
});

describe("--introspection false", () => {
  const typos = [
    { query: `{ podz(project: "team-a") { name } }` },
    { query: `{ ides(project: "team-a", kind: JUPYTERLAV) { name } }` },
    { query: `query ($kind: IDEKind) { ides(project: "team-a", kind: $kind) { name } }`, variables: { kind: "JUPYTERLAV" } },
  ];
  const messages = async (origin: string) => {
    const all: string[] = [];
    for (const body of typos) {
      const response = await fetch(`${origin}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
      });
      all.push(JSON.stringify(await response.json()));
    }
    for (const singleConnection of [true, false]) {
      const outcome = await runSse(origin, `subscription { podEventz(project: "team-a") { __typename } }`, singleConnection);
      all.push(JSON.stringify(outcome.results));
    }
    return all;
  };

  it("suggests no names of the schema in its errors", async () => {
    const kubesub = await start({ security: { introspection: false } });
    for (const message of await messages(kubesub.origin)) {
      expect(message).toContain("errors");
      expect(message).not.toMatch(/Did you mean/i);
    }
  });

  it("(with introspection on, the same mistakes do get suggestions)", async () => {
    const kubesub = await start();
    const all = await messages(kubesub.origin);
    expect(all.filter((message) => /Did you mean/.test(message))).toHaveLength(all.length);
  });
});
