// Resumable streams over real HTTP: every event's cursor field, the SSE id: of its frame, `after`,
// Last-Event-ID (what an EventSource sends when it reconnects) and a malformed `after`.
import { type Client, createClient, type ExecutionResult } from "graphql-sse";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import type { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import { type RunningKubesub, startOnMemoryCluster } from "../helpers/kubesub-server.ts";
import { podFixture } from "../helpers/pods.ts";
import { readSse, type SseFrame } from "../helpers/sse.ts";
import { take } from "../helpers/streams.ts";

const document = /* GraphQL */ `
  subscription Pods($project: String!, $user: String, $after: String) {
    podEvents(project: $project, user: $user, after: $after) {
      __typename
      ... on PodAdded { cause cursor pod { name } }
      ... on PodUpdated { changedFields cursor pod { name phase } previous { phase } }
      ... on PodDeleted { cause cursor pod { name } }
      ... on InitialStateComplete { count resumed cursor }
      ... on ResourceUnavailable { reason cursor }
      ... on StreamError { code cursor }
    }
  }
`;

interface PodEvent {
  __typename: string;
  cause?: string;
  count?: number;
  resumed?: boolean;
  cursor: string;
  changedFields?: string[];
  pod?: { name: string; phase?: string };
  previous?: { phase: string };
}

type Result = ExecutionResult<{ podEvents: PodEvent }>;

const summary = (e: PodEvent) =>
  e.__typename === "InitialStateComplete"
    ? `complete ${e.count} resumed=${e.resumed}`
    : `${e.__typename} ${e.pod?.name}${e.changedFields ? ` [${e.changedFields.join(",")}]` : ` ${e.cause}`}`;

let kubesub: RunningKubesub & { cluster: MemoryCluster };
const clients: Client<boolean>[] = [];

beforeEach(async () => {
  // A lone client that leaves and comes back finds its view, and its history, still there.
  kubesub = await startOnMemoryCluster({ historyLingerMs: 60_000 });
  kubesub.cluster.create(podResource, podFixture("team-a", "alice-1", { user: "alice" }));
  kubesub.cluster.create(podResource, podFixture("team-a", "bob-1", { user: "bob" }));
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.dispose();
  await kubesub.close();
});

const setPhase = (name: string, phase: string) =>
  kubesub.cluster.update<KubePod>(podResource, "team-a", name, (pod) => {
    pod.status = { ...pod.status, phase };
  });

/** A subscription in distinct connections mode over plain fetch: its frames, and a way to leave. */
async function open(variables: Record<string, unknown>, init: { method?: "GET" | "POST"; lastEventId?: string } = {}) {
  const abort = new AbortController();
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (init.lastEventId !== undefined) headers["last-event-id"] = init.lastEventId;
  let response: Response;
  if (init.method === "GET") {
    const url = new URL(`${kubesub.origin}/graphql`);
    url.searchParams.set("query", document);
    url.searchParams.set("variables", JSON.stringify(variables));
    response = await fetch(url, { headers, signal: abort.signal });
  } else {
    response = await fetch(`${kubesub.origin}/graphql`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ query: document, variables }),
      signal: abort.signal,
    });
  }
  expect(response.status).toBe(200);
  const frames = readSse(response.body as ReadableStream<Uint8Array>);
  return {
    frames,
    /** Frames up to and including InitialStateComplete. */
    initial: () => take(frames, { until: (f) => f.data.includes("InitialStateComplete") }),
    leave: async () => {
      abort.abort();
      await frames.return(undefined).catch(() => {});
    },
  };
}

const eventOf = (frame: SseFrame) => (JSON.parse(frame.data) as Result).data?.podEvents as PodEvent;

describe("cursors", () => {
  it("every event carries one, and it is its frame's SSE id", async () => {
    const stream = await open({ project: "team-a" });
    const initial = await stream.initial();
    setPhase("alice-1", "Running");
    const [live] = await take(stream.frames, { count: 1 });
    for (const frame of [...initial, live as SseFrame]) {
      const event = eventOf(frame);
      expect(event.cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(frame.id).toBe(event.cursor);
    }
    expect(initial.map((f) => summary(eventOf(f)))).toEqual([
      "PodAdded alice-1 INITIAL_STATE",
      "PodAdded bob-1 INITIAL_STATE",
      "complete 2 resumed=false",
    ]);
    await stream.leave();
  });
});

describe("resuming", () => {
  it("after: a stream cut and resumed gets exactly the changes it missed, filtered, then resumed: true", async () => {
    const reference = await open({ project: "team-a", user: "alice" });
    const cut = await open({ project: "team-a", user: "alice" });
    await reference.initial();
    await cut.initial();
    setPhase("alice-1", "Running");
    const [first] = await take(cut.frames, { count: 1 });
    await cut.leave();
    setPhase("bob-1", "Running");
    setPhase("alice-1", "Succeeded");
    kubesub.cluster.create(podResource, podFixture("team-a", "alice-2", { user: "alice" }));
    const missed = await take(reference.frames, { count: 3 });

    const resumed = await open({ project: "team-a", user: "alice", after: eventOf(first as SseFrame).cursor });
    const events = (await resumed.initial()).map(eventOf);
    expect(events.map(summary)).toEqual([
      "PodUpdated alice-1 [phase,status]",
      "PodAdded alice-2 CLUSTER_CHANGE",
      "complete 2 resumed=true",
    ]);
    expect(events.slice(0, 2)).toEqual(missed.slice(1).map(eventOf));
    expect(events[0]?.previous).toEqual({ phase: "RUNNING" });

    // And on, live, as the reference.
    setPhase("alice-2", "Running");
    const [a] = await take(reference.frames, { count: 1 });
    const [b] = await take(resumed.frames, { count: 1 });
    expect(b).toEqual(a);
    await reference.leave();
    await resumed.leave();
  });

  it("Last-Event-ID on a GET (an EventSource reconnecting) resumes as after does", async () => {
    const stream = await open({ project: "team-a" }, { method: "GET" });
    const initial = await stream.initial();
    await stream.leave();
    setPhase("bob-1", "Failed");
    const resumed = await open({ project: "team-a" }, { method: "GET", lastEventId: (initial.at(-1) as SseFrame).id });
    expect((await resumed.initial()).map((f) => summary(eventOf(f)))).toEqual([
      "PodUpdated bob-1 [phase,status]",
      "complete 1 resumed=true",
    ]);
    await resumed.leave();
  });

  it("a stale or unknown Last-Event-ID is never an error: a fresh snapshot, resumed: false", async () => {
    const elsewhere = await open({ project: "team-b" }, { method: "GET" });
    const foreign = (await elsewhere.initial()).at(-1)?.id as string;
    await elsewhere.leave();
    for (const lastEventId of ["not a cursor", "WzEsIngiXQ", foreign]) {
      const stream = await open({ project: "team-a" }, { method: "GET", lastEventId });
      expect(
        (await stream.initial()).map((f) => summary(eventOf(f))),
        lastEventId,
      ).toEqual(["PodAdded alice-1 INITIAL_STATE", "PodAdded bob-1 INITIAL_STATE", "complete 2 resumed=false"]);
      await stream.leave();
    }
  });

  it("a malformed after is BAD_USER_INPUT naming it, and nothing is watched", async () => {
    const stream = await open({ project: "team-a", after: "not a cursor" });
    const [frame] = await take(stream.frames, { count: 1 });
    const errors = (JSON.parse((frame as SseFrame).data) as Result).errors as unknown as { extensions: Record<string, unknown> }[];
    expect(errors[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "after" });
    expect(kubesub.app.registry.snapshot()).toEqual([]);
    await stream.leave();
  });

  it("in single connection mode, through the cursor field", async () => {
    const client = createClient({ url: `${kubesub.origin}/graphql/stream`, singleConnection: true, retryAttempts: 0 });
    clients.push(client);
    const first = client.iterate({ query: document, variables: { project: "team-a" } }) as AsyncIterableIterator<Result>;
    const initial = await take(first, { until: (r) => r.data?.podEvents.__typename === "InitialStateComplete" });
    await first.return?.();
    setPhase("alice-1", "Running");
    const cursor = initial.at(-1)?.data?.podEvents.cursor;
    const again = client.iterate({ query: document, variables: { project: "team-a", after: cursor } }) as AsyncIterableIterator<Result>;
    const resumed = await take(again, { until: (r) => r.data?.podEvents.__typename === "InitialStateComplete" });
    expect(resumed.map((r) => summary(r.data?.podEvents as PodEvent))).toEqual([
      "PodUpdated alice-1 [phase,status]",
      "complete 1 resumed=true",
    ]);
    await again.return?.();
  });
});
