// Process-level faults under a live subscription: the apiserver restarts, kubesub's resourceVersion
// is compacted away (410 Gone), the apiserver stops answering (SIGSTOP). The subscriber's stream
// must go on over the same SSE connection, with every change once and nothing lost.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WatchInactiveError } from "../../src/kube/errors.ts";
import type { Informer } from "../../src/kube/informer.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { controlPlane, type TestNamespace } from "../helpers/control-plane.ts";
import type { RunningKubesub } from "../helpers/kubesub-server.ts";
import { userLabel } from "../helpers/settings.ts";
import {
  applyEvents,
  clusterPods,
  createPod,
  deletePod,
  isComplete,
  type PodEvent,
  PodEventStream,
  patchPodStatus,
  runningStatus,
  rv,
  setLabel,
  startKubesubOn,
  summaries,
  summary,
} from "./support.ts";

const cp = controlPlane();
const local = cp.isLocal;
let ns: TestNamespace | undefined;
let kubesub: RunningKubesub | undefined;
let stream: PodEventStream | undefined;

beforeEach(async () => {
  ns = await cp.createNamespace("faults");
});

afterEach(async () => {
  stream?.close();
  stream = undefined;
  await kubesub?.close();
  kubesub = undefined;
  // A failed test may leave main stopped or paused; the next one must find it running.
  await cp.reset();
  await ns?.delete();
});

/** The one pod informer kubesub runs in these tests (pods in the test's namespace; beside it, namespaces). */
function podInformer(): Informer<KubeObject> {
  const entries = kubesub?.app.registry.snapshot() ?? [];
  expect(entries.map((e) => e.key)).toEqual([`pods/${ns?.name}`, "namespaces/*"]);
  return (entries[0] as { informer: Informer<KubeObject> }).informer;
}

/** Seeds pods, starts kubesub and one subscriber on the namespace, returns the client's state. */
async function subscribeAfterSeeding(pods: Record<string, string>, overrides: Parameters<typeof startKubesubOn>[1] = {}) {
  const namespace = ns?.name ?? "";
  for (const [name, user] of Object.entries(pods)) await createPod(cp.core(), namespace, name, user);
  // The faults are the watch's: one per project shows them on the apiserver's metrics per namespace.
  kubesub = await startKubesubOn(cp, { watchScope: "namespace", ...overrides });
  stream = new PodEventStream(kubesub.origin, { project: namespace });
  const initial = await stream.take({ until: isComplete });
  expect(initial.at(-1)).toMatchObject({ __typename: "InitialStateComplete", count: Object.keys(pods).length });
  return { namespace, state: applyEvents(new Map(), initial) };
}

const sorted = (events: PodEvent[]) => summaries(events).sort();

describe("apiserver faults under a live subscription", () => {
  it.skipIf(!local)("an apiserver restart: the stream goes on over the same connection, nothing lost, nothing duplicated", async () => {
    const { namespace, state } = await subscribeAfterSeeding({ a: "alice", b: "bob", c: "carol" });

    // The restart in two halves, with writes in between through the second apiserver: these are
    // certainly made while kubesub has no watch (its apiserver is down).
    await cp.stopApiServer("main");
    const writer = cp.core("admin", "writer");
    await createPod(writer, namespace, "d", "alice");
    await patchPodStatus(writer, namespace, "a", runningStatus(0));
    await deletePod(writer, namespace, "b");
    await cp.startApiServer("main");
    // And right after main is ready, through it, racing kubesub's reconnection (it retries with
    // backoff, so it may or may not have its watch back yet).
    const core = cp.core();
    await setLabel(core, namespace, "c", "tier", "gpu");
    await createPod(core, namespace, "e", "bob");

    // kubesub resumes its watch or, when the restarted apiserver's watch cache answers 410 (it
    // starts at the current revision), relists and diffs. Either way each pod changed once, so the
    // events are these, in some order; a watch also shows b's Terminating update before its delete.
    const expected = [
      "PodAdded:d:CLUSTER_CHANGE",
      "PodUpdated:a",
      "PodDeleted:b:CLUSTER_CHANGE",
      "PodUpdated:c",
      "PodAdded:e:CLUSTER_CHANGE",
    ];
    const seen = new Set<string>();
    const gap = (await stream?.take({ until: (e) => seen.add(summary(e)) && expected.every((x) => seen.has(x)), timeoutMs: 60_000 })) ?? [];
    const terminating = gap.filter((e) => summary(e) === "PodUpdated:b");
    expect(terminating.every((e) => e.pod?.status === "Terminating")).toBe(true);
    expect(sorted(gap.filter((e) => !terminating.includes(e)))).toEqual([...expected].sort());
    applyEvents(state, gap);

    // Once the watch is back, changes arrive in write order, each once.
    await vi.waitFor(async () => expect(await cp.openWatches({ resource: "pods" })).toBe(1), { timeout: 30_000, interval: 100 });
    const written = [
      rv(await patchPodStatus(core, namespace, "a", runningStatus(1))),
      rv(await createPod(core, namespace, "f", "carol")),
      rv(await deletePod(core, namespace, "c")),
    ];
    const live = (await stream?.take({ count: 4, timeoutMs: 15_000 })) ?? [];
    expect(summaries(live)).toEqual(["PodUpdated:a", "PodAdded:f:CLUSTER_CHANGE", "PodUpdated:c", "PodDeleted:c:CLUSTER_CHANGE"]);
    expect([live[0], live[1], live[3]].map((e) => e?.resourceVersion)).toEqual(written);
    applyEvents(state, live);

    expect(state).toEqual(await clusterPods(core, namespace));
    expect(stream?.untaken).toEqual([]);
    // A graceful stop ends the watch normally, so the informer counts no failure; how it recovered
    // shows in its relists (the restarted apiserver's watch cache answered 410) or not at all.
    const status = podInformer().status;
    console.log(
      `restart: ${gap.length} events after the restart (${terminating.length ? "resumed watch" : "relist"}); informer relists ${status.relists}, watch restarts ${status.watchRestarts}`,
    );
  });

  it.skipIf(!local)(
    "a forced 410: changes made while kubesub cannot watch, then compacted away, arrive as the net difference of a relist",
    async () => {
      // Deterministic 410: main (kubesub's apiserver) crashes (SIGKILL), so kubesub cannot see anything
      // happen; the writes go through the second apiserver on the same etcd; etcd is then compacted
      // past kubesub's resourceVersion, and main starts again. A watch from that resourceVersion
      // can only be answered with 410 (main's fresh watch cache starts at the current revision and
      // etcd no longer has the older ones), and kubesub must relist and diff.
      const { namespace, state } = await subscribeAfterSeeding({ keep: "alice", mod: "alice", del: "bob" });
      await cp.killApiServer("main");
      const writer = cp.core("admin", "writer");
      await createPod(writer, namespace, "new", "carol");
      await patchPodStatus(writer, namespace, "mod", runningStatus(0));
      await setLabel(writer, namespace, "mod", userLabel, "bob");
      await deletePod(writer, namespace, "del");
      await createPod(writer, namespace, "transient", "bob");
      await deletePod(writer, namespace, "transient");
      const kubesubVersion = Number(podInformer().status.resourceVersion);
      const compactedAt = await cp.compactEtcd();
      expect(compactedAt).toBeGreaterThan(kubesubVersion);
      await cp.startApiServer("main");

      // Exactly the net changes: "mod" once with both of its changes, "del" deleted, "new" added,
      // nothing for "transient" (created and deleted unseen) or "keep" (unchanged).
      const relisted = (await stream?.take({ count: 3, timeoutMs: 60_000 })) ?? [];
      expect(sorted(relisted)).toEqual(["PodAdded:new:CLUSTER_CHANGE", "PodDeleted:del:CLUSTER_CHANGE", "PodUpdated:mod"].sort());
      const mod = relisted.find((e) => e.pod?.name === "mod");
      expect(mod?.changedFields).toEqual(expect.arrayContaining(["phase", "labels", "user"]));
      expect(mod?.pod).toMatchObject({ phase: "RUNNING", user: "bob" });
      expect(podInformer().status.relists).toBeGreaterThanOrEqual(1);
      applyEvents(state, relisted);

      // The next change is the next event: nothing was repeated after the relist.
      const after = rv(await createPod(cp.core(), namespace, "after", "alice"));
      const next = (await stream?.take({ count: 1, timeoutMs: 30_000 })) ?? [];
      expect(summaries(next)).toEqual(["PodAdded:after:CLUSTER_CHANGE"]);
      expect(next[0]?.resourceVersion).toBe(after);
      applyEvents(state, next);
      expect(state).toEqual(await clusterPods(cp.core(), namespace));
      expect(stream?.untaken).toEqual([]);
    },
  );

  it.skipIf(!local)(
    "a black-holed watch (apiserver SIGSTOPped): the inactivity timeout restarts it, and changes arrive after SIGCONT",
    async () => {
      const inactivityMs = 3_000;
      const { namespace, state } = await subscribeAfterSeeding({ p1: "alice" }, { watchInactivityTimeoutMs: inactivityMs });
      const informer = podInformer();
      const restartsBefore = informer.status.watchRestarts;

      await cp.pauseApiServer("main");
      let duringPause: string;
      try {
        // The TCP connection stays open and nothing arrives: only the inactivity timeout can notice.
        await vi.waitFor(
          () => {
            expect(informer.status.lastError).toBeInstanceOf(WatchInactiveError);
            expect(informer.status.watchRestarts).toBeGreaterThan(restartsBefore);
          },
          { timeout: inactivityMs * 5, interval: 100 },
        );
        // A change while main is frozen, through the writer: it must arrive once main answers again.
        duringPause = rv(await setLabel(cp.core("admin", "writer"), namespace, "p1", "tier", "gpu"));
      } finally {
        await cp.resumeApiServer("main");
      }
      const afterResume = rv(await createPod(cp.core(), namespace, "p2", "bob"));

      const events = (await stream?.take({ count: 2, timeoutMs: 30_000 })) ?? [];
      expect(summaries(events)).toEqual(["PodUpdated:p1", "PodAdded:p2:CLUSTER_CHANGE"]);
      expect(events.map((e) => e.resourceVersion)).toEqual([duringPause, afterResume]);
      applyEvents(state, events);
      expect(state).toEqual(await clusterPods(cp.core(), namespace));
      expect(informer.status.watchRestarts).toBeGreaterThan(restartsBefore);
      console.log(
        `black hole: informer watch restarts ${restartsBefore} -> ${informer.status.watchRestarts}, relists ${informer.status.relists}`,
      );
    },
  );
});
