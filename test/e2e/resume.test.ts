// Resuming across replicas on the real control plane: two kubesub processes watch the same
// apiserver; a client reads some changes from one, leaves, changes happen, and it resumes on the
// other with its last cursor. Cursors are made of the apiserver's resourceVersions, which both
// processes share, so the second resumes as far as its own history reaches.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "../../src/streams/views/cursor.ts";
import { controlPlane, type TestNamespace } from "../helpers/control-plane.ts";
import { kubeConfigFor } from "../helpers/control-plane-kube.ts";
import { type KubesubProcess, startKubesubProcess } from "../helpers/kubesub-process.ts";
import type { RunningKubesub } from "../helpers/kubesub-server.ts";
import { userLabel } from "../helpers/settings.ts";
import { readSse, type SseFrame } from "../helpers/sse.ts";
import { take } from "../helpers/streams.ts";
import { seededRandom } from "../unit/support.ts";
import { createPod, deletePod, patchPodStatus, runningStatus, setLabel, startKubesubOn } from "./support.ts";

const cp = controlPlane();
let ns: TestNamespace | undefined;
const processes: KubesubProcess[] = [];
const streams: { leave: () => Promise<void> }[] = [];
let inProcess: RunningKubesub | undefined;

beforeEach(async () => {
  ns = await cp.createNamespace("resume");
});

afterEach(async () => {
  for (const stream of streams.splice(0)) await stream.leave();
  await Promise.all(processes.splice(0).map((p) => p.stop()));
  await inProcess?.close();
  inProcess = undefined;
  // A failed test may leave main stopped; the next one must find it running.
  await cp.reset();
  await ns?.delete();
});

// No observedAt: each process stamps the time it saw a change.
const document = /* GraphQL */ `
  subscription Pods($project: String!, $user: String, $after: String) {
    podEvents(project: $project, user: $user, after: $after) {
      __typename
      ... on PodAdded { cause resourceVersion cursor pod { name user phase status ready restarts } }
      ... on PodUpdated { changedFields resourceVersion cursor pod { name user phase status ready restarts } previous { phase status restarts } }
      ... on PodDeleted { cause resourceVersion cursor pod { name user } }
      ... on InitialStateComplete { count resumed cursor }
      ... on StreamError { code message cursor }
    }
  }
`;

interface PodEvent {
  __typename: string;
  code?: string;
  cause?: string;
  count?: number;
  resumed?: boolean;
  cursor: string;
  pod?: { name: string };
}

const summary = (e: PodEvent) =>
  e.__typename === "InitialStateComplete"
    ? `complete ${e.count} resumed=${e.resumed}`
    : `${e.__typename} ${e.pod?.name}${e.cause ? ` ${e.cause}` : ""}`;
const isComplete = (e: PodEvent) => e.__typename === "InitialStateComplete";

/** A podEvents stream in distinct connections mode, read frame by frame with bounded waits. */
async function open(origin: string, variables: Record<string, unknown>) {
  const abort = new AbortController();
  const response = await fetch(`${origin}/graphql`, {
    method: "POST",
    headers: { accept: "text/event-stream", "content-type": "application/json" },
    body: JSON.stringify({ query: document, variables }),
    signal: abort.signal,
  });
  expect(response.status).toBe(200);
  const frames = readSse(response.body as ReadableStream<Uint8Array>);
  const eventOf = (frame: SseFrame) => {
    const event = JSON.parse(frame.data).data?.podEvents as PodEvent;
    expect(frame.id).toBe(event.cursor);
    return event;
  };
  const stream = {
    take: async (options: { count?: number; until?: (e: PodEvent, taken: number) => boolean; timeoutMs?: number }) => {
      const until = options.until;
      const taken = await take(frames, {
        count: options.count,
        until: until && ((frame, so) => until(JSON.parse(frame.data).data?.podEvents as PodEvent, so.length)),
        timeoutMs: options.timeoutMs ?? 30_000,
        describe: (frame) => frame.data,
      });
      return taken.map(eventOf);
    },
    leave: async () => {
      abort.abort();
      await frames.return(undefined).catch(() => {});
    },
  };
  streams.push(stream);
  return stream;
}

describe("resuming across replicas", () => {
  it("a cursor from one kubesub process resumes on another with exactly the missed changes; an unknown or too old one gets a snapshot", async () => {
    const namespace = ns?.name ?? "";
    const core = cp.core();
    await createPod(core, namespace, "alice-1", "alice");
    await createPod(core, namespace, "alice-2", "alice");
    await createPod(core, namespace, "bob-1", "bob");
    const kubeConfig = kubeConfigFor(cp.info, "admin", "main");
    const [a, b] = await Promise.all([
      startKubesubProcess(kubeConfig, ["--auth", "none"]),
      startKubesubProcess(kubeConfig, ["--auth", "none"]),
    ]);
    processes.push(a as KubesubProcess, b as KubesubProcess);
    const alice = { project: namespace, user: "alice" };

    // B serves this project already (its view, and history, exist), as a replica behind a load
    // balancer does; this stream also tells when B has seen every change.
    const onB = await open(b?.origin ?? "", { project: namespace });
    await onB.take({ until: isComplete });
    // The uninterrupted stream, on A, the reference.
    const reference = await open(a?.origin ?? "", alice);
    const cut = await open(a?.origin ?? "", alice);
    const initial = await reference.take({ until: isComplete });
    expect(initial.map(summary)).toEqual(["PodAdded alice-1 INITIAL_STATE", "PodAdded alice-2 INITIAL_STATE", "complete 2 resumed=false"]);
    expect((await cut.take({ until: isComplete })).map(summary)).toEqual(initial.map(summary));

    await patchPodStatus(core, namespace, "alice-1", runningStatus(0));
    const [read] = await cut.take({ count: 1 });
    expect(read).toEqual((await reference.take({ count: 1 }))[0]);
    await cut.leave();

    // While the client is away: changes in and out of its filter.
    await createPod(core, namespace, "alice-3", "alice");
    await patchPodStatus(core, namespace, "alice-1", runningStatus(1));
    await setLabel(core, namespace, "bob-1", userLabel, "alice");
    await setLabel(core, namespace, "alice-2", userLabel, "bob");
    await patchPodStatus(core, namespace, "bob-1", runningStatus(0));
    await deletePod(core, namespace, "alice-3");
    const missed = await reference.take({ until: (e) => e.__typename === "PodDeleted" && e.pod?.name === "alice-3" });
    expect(missed.map(summary)).toEqual([
      "PodAdded alice-3 CLUSTER_CHANGE",
      "PodUpdated alice-1",
      "PodAdded bob-1 FILTER_CHANGE",
      "PodDeleted alice-2 FILTER_CHANGE",
      "PodUpdated bob-1",
      // Its deletionTimestamp set (Terminating), then gone.
      "PodUpdated alice-3",
      "PodDeleted alice-3 CLUSTER_CHANGE",
    ]);
    await onB.take({ until: (e) => e.__typename === "PodDeleted" && e.pod?.name === "alice-3" });

    // The client comes back on B with the last cursor it read: exactly what it missed, as A sent
    // it to the uninterrupted stream (same events, changedFields, previous, cursors), no snapshot.
    const resumed = await open(b?.origin ?? "", { ...alice, after: read?.cursor });
    const events = await resumed.take({ until: isComplete });
    expect(events.slice(0, -1)).toEqual(missed);
    expect(events.at(-1)).toMatchObject({ __typename: "InitialStateComplete", resumed: true, count: missed.length });
    // And on, live, with A's reference.
    await patchPodStatus(core, namespace, "bob-1", runningStatus(2));
    expect(await resumed.take({ count: 1 })).toEqual(await reference.take({ count: 1 }));

    // A cursor older than B's history (B started after it), and one of another project: a fresh
    // snapshot, resumed: false, never an error.
    const decoded = decodeCursor(read?.cursor ?? "");
    const tooOld = encodeCursor({ namespace, family: "pods", views: new Map([["pods", new Map([["pods", "1"]])]]) });
    const elsewhere = encodeCursor({ ...(decoded as NonNullable<typeof decoded>), namespace: "kube-system" });
    for (const after of [tooOld, elsewhere]) {
      const fresh = await open(b?.origin ?? "", { ...alice, after });
      expect((await fresh.take({ until: isComplete })).map(summary), after).toEqual([
        "PodAdded alice-1 INITIAL_STATE",
        "PodAdded bob-1 INITIAL_STATE",
        "complete 2 resumed=false",
      ]);
    }
  }, 120_000);
});

describe("resuming on a process that started after the stream", () => {
  it("the only kubesub restarts: an unchanged project resumes with nothing to send, a changed one gets a snapshot", async () => {
    const namespace = ns?.name ?? "";
    const core = cp.core();
    await createPod(core, namespace, "alice-1", "alice");
    const kubeConfig = kubeConfigFor(cp.info, "admin", "main");
    const start = async () => {
      const started = await startKubesubProcess(kubeConfig, ["--auth", "none"]);
      processes.push(started);
      return started;
    };
    /** SIGTERM to the process: the stream's last event, SHUTTING_DOWN, and its cursor. */
    const stop = async (process: KubesubProcess, stream: Awaited<ReturnType<typeof open>>) => {
      const stopped = process.stop();
      const last = (await stream.take({ until: (e) => e.__typename === "StreamError" })).at(-1);
      await stopped;
      processes.splice(processes.indexOf(process), 1);
      expect(last).toMatchObject({ __typename: "StreamError", code: "SHUTTING_DOWN" });
      return last?.cursor ?? "";
    };

    let running = await start();
    let stream = await open(running.origin, { project: namespace });
    await stream.take({ until: isComplete });
    await patchPodStatus(core, namespace, "alice-1", runningStatus(0));
    await stream.take({ count: 1 });
    let cursor = await stop(running, stream);

    // A new process lists at a later resourceVersion than any the stream saw, and has no history:
    // the cursor's digest of the project's pods is the new cache's, so nothing changed.
    running = await start();
    stream = await open(running.origin, { project: namespace, after: cursor });
    expect((await stream.take({ until: isComplete })).map(summary)).toEqual(["complete 0 resumed=true"]);
    await patchPodStatus(core, namespace, "alice-1", runningStatus(1));
    expect((await stream.take({ count: 1 })).map(summary)).toEqual(["PodUpdated alice-1"]);
    cursor = await stop(running, stream);

    // Changed while no kubesub ran (a pod deleted: nothing in a list shows it): a fresh snapshot.
    await createPod(core, namespace, "alice-2", "alice");
    await deletePod(core, namespace, "alice-1");
    running = await start();
    stream = await open(running.origin, { project: namespace, after: cursor });
    expect((await stream.take({ until: isComplete })).map(summary)).toEqual(["PodAdded alice-2 INITIAL_STATE", "complete 1 resumed=false"]);
  }, 120_000);
});

describe("exactness", () => {
  it.skipIf(!cp.isLocal)(
    "a stream cut and resumed again and again during 250 changes receives exactly what an uninterrupted one does; across a forced 410, a snapshot equal to its state",
    async () => {
      const namespace = ns?.name ?? "";
      const core = cp.core();
      const random = seededRandom(13);
      const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)] as T;
      const pods = new Map<string, number>();
      let created = 0;
      for (let i = 0; i < 8; i++) {
        await createPod(core, namespace, `p${i}`, i % 2 === 0 ? "alice" : "bob");
        pods.set(`p${i}`, 0);
      }
      inProcess = await startKubesubOn(cp, { watchScope: "namespace", historySize: 10_000, historyLingerMs: 60_000 });
      const origin = inProcess.origin;
      const alice = { project: namespace, user: "alice" };
      const reference = await open(origin, alice);
      const referenceInitial = (await reference.take({ until: isComplete })).slice(0, -1);
      // The client's first stream, opened at the same state as the reference's: its position.
      const firstStream = await open(origin, alice);
      const firstStart = await firstStream.take({ until: isComplete });
      expect(firstStart.slice(0, -1)).toEqual(referenceInitial);
      const firstPosition = firstStart.at(-1)?.cursor ?? "";
      await firstStream.leave();

      /** One change of a random kind, in or out of alice's filter. */
      const change = async (api = core) => {
        const roll = random();
        const name = pick([...pods.keys()]);
        if (roll < 0.4) {
          const restarts = (pods.get(name) ?? 0) + 1;
          pods.set(name, restarts);
          await patchPodStatus(api, namespace, name, runningStatus(restarts));
        } else if (roll < 0.65) {
          await setLabel(api, namespace, name, userLabel, pick(["alice", "bob"]));
        } else if (roll < 0.85 || pods.size < 4) {
          created += 1;
          await createPod(api, namespace, `q${created}`, pick(["alice", "bob"]));
          pods.set(`q${created}`, 0);
        } else {
          await deletePod(api, namespace, name);
          pods.delete(name);
        }
      };
      const isMarker = (name: string) => (e: PodEvent) => e.__typename === "PodAdded" && e.pod?.name === name;

      /**
       * 120 changes while a client reads a few events at a time, leaves, and resumes with its last
       * cursor, then a marker pod: every event it received after `from`, and the reference's.
       */
      const phase = async (marker: string, from: string) => {
        const writes = (async () => {
          for (let i = 0; i < 120; i++) await change();
          await createPod(core, namespace, marker, "alice");
        })();
        const received: PodEvent[] = [];
        let cursor = from;
        let cuts = 0;
        // Each stream is cut after a few events, wherever they are: in the replay of what it
        // missed (before InitialStateComplete) or live after it, so that the number of cuts does
        // not depend on how fast the changes go.
        while (!received.some(isMarker(marker))) {
          const stream = await open(origin, { ...alice, after: cursor });
          const quota = 2 + Math.floor(random() * 9);
          const read = await stream.take({ until: (e, taken) => taken >= quota || isMarker(marker)(e) });
          for (const event of read) {
            if (isComplete(event)) expect(event.resumed, `resume ${cuts}`).toBe(true);
            else received.push(event);
          }
          cursor = read.at(-1)?.cursor ?? cursor;
          await stream.leave();
          cuts += 1;
        }
        await writes;
        const expected = await reference.take({ until: isMarker(marker) });
        return { received, expected, cursor, cuts };
      };

      const first = await phase("marker-1", firstPosition);
      expect(first.cuts).toBeGreaterThanOrEqual(4);
      expect(first.received.map(summary)).toEqual(first.expected.map(summary));
      expect(first.received).toEqual(first.expected);

      // A forced 410 while the client is away: main crashes, changes go through the writer, etcd
      // is compacted past kubesub's resourceVersion, main starts again and kubesub relists, which
      // resets the history. The client's cursor predates the relist: a fresh snapshot, equal to
      // what the reference holds, then live changes exactly as the reference's.
      await cp.killApiServer("main");
      const writer = cp.core("admin", "writer");
      for (let i = 0; i < 10; i++) await change(writer);
      await cp.compactEtcd();
      await cp.startApiServer("main");
      await createPod(core, namespace, "relisted", "alice");
      const relisted = await reference.take({ until: isMarker("relisted"), timeoutMs: 60_000 });
      const state = new Map<string, string>();
      for (const event of [...referenceInitial, ...first.expected, ...relisted]) {
        if (event.__typename === "PodDeleted") state.delete(event.pod?.name ?? "");
        else if (event.pod) state.set(event.pod.name, JSON.stringify(event.pod));
      }
      const across = await open(origin, { ...alice, after: first.cursor });
      const snapshot = await across.take({ until: isComplete });
      expect(snapshot.at(-1)).toMatchObject({ resumed: false });
      const snapshotState = new Map(snapshot.slice(0, -1).map((e) => [e.pod?.name ?? "", JSON.stringify(e.pod)]));
      expect(snapshotState).toEqual(state);
      const fromSnapshot = snapshot.at(-1)?.cursor ?? "";
      await across.leave();

      const second = await phase("marker-2", fromSnapshot);
      expect(second.cuts).toBeGreaterThanOrEqual(4);
      expect(second.received).toEqual(second.expected);
      console.info(
        `exactness: ${first.expected.length + second.expected.length} events of 250 changes, received by a stream cut and resumed ${first.cuts + second.cuts} times, as by the uninterrupted one; a snapshot of ${snapshotState.size} pods across the 410`,
      );
    },
    300_000,
  );
});
