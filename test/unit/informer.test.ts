import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import { KubeApiError } from "../../src/kube/errors.ts";
import { Informer, type InformerOptions } from "../../src/kube/informer.ts";
import type { GoneMode } from "../../src/kube/memory-cluster.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import type { Delta } from "../../src/kube/store.ts";
import { captureLogger } from "../helpers/logs.ts";
import { podFixture } from "../helpers/pods.ts";
import { describeDelta, recordDeltas, settle } from "./support.ts";

const ns = "team-a";
const statsKey = `pods/${ns}`;

let cluster: MemoryCluster;
let log: ReturnType<typeof captureLogger>;
const informers: Informer<KubePod>[] = [];

beforeEach(() => {
  vi.useFakeTimers();
  cluster = new MemoryCluster();
  log = captureLogger();
});

afterEach(async () => {
  await Promise.all(informers.splice(0).map((informer) => informer.stop()));
  vi.useRealTimers();
});

/** An informer with deterministic backoff: 100, 200, 400... ms, no jitter. */
function startInformer(options: InformerOptions = {}): Informer<KubePod> {
  const informer = new Informer(cluster.source<KubePod>(podResource, ns), {
    logger: log.logger,
    backoff: { initialMs: 100, maxMs: 1_000, jitter: 0 },
    inactivityTimeoutMs: 5_000,
    ...options,
  });
  informers.push(informer);
  informer.start();
  return informer;
}

const create = (name: string, labels: Record<string, string> = {}) => cluster.create(podResource, podFixture(ns, name, { labels }));
const relabel = (name: string, labels: Record<string, string>) =>
  cluster.update<KubePod>(podResource, ns, name, (pod) => {
    pod.metadata = { ...pod.metadata, labels };
  });
const remove = (name: string) => cluster.delete(podResource, ns, name);
const names = (informer: Informer<KubePod>) => informer.list().map((pod) => pod.metadata?.name);
const lists = () => cluster.stats.lists.get(statsKey) ?? 0;
const watchesStarted = () => cluster.stats.watchesStarted.get(statsKey) ?? 0;

describe("Informer over the in-memory cluster", () => {
  it("lists the initial objects, then delivers live adds, updates (old and new) and deletes in order", async () => {
    create("a", { v: "1" });
    create("b");
    const informer = startInformer();
    const deltas = recordDeltas(informer);
    expect(informer.hasSynced).toBe(false);

    await informer.waitForSync();
    expect(informer.hasSynced).toBe(true);
    expect(deltas.map(describeDelta)).toEqual(["added a", "added b"]);

    create("c");
    relabel("a", { v: "2" });
    remove("b");
    await settle();

    expect(deltas.map(describeDelta)).toEqual(["added a", "added b", "added c", "updated a", "deleted b"]);
    const update = deltas[3] as Extract<Delta<KubePod>, { type: "updated" }>;
    expect(update.old.metadata?.labels).toEqual({ v: "1" });
    expect(update.object.metadata?.labels).toEqual({ v: "2" });
    expect(Number(update.object.metadata?.resourceVersion)).toBeGreaterThan(Number(update.old.metadata?.resourceVersion));
    expect(names(informer)).toEqual(["a", "c"]);
    expect(informer.status.resourceVersion).toBe(cluster.currentRevision);
    expect(lists()).toBe(1);
    expect(log.problems()).toEqual([]);
  });

  // Each case opens a gap in which the informer sees nothing, makes the same changes during it,
  // and expects the relist to report exactly their net effect.
  describe.each<{ name: string; goneMode: GoneMode; openGap: () => Promise<void>; closeGap: () => Promise<void> }>([
    {
      name: "410 status when the watch restarts after a compaction",
      goneMode: "status",
      openGap: async () => {
        cluster.breakWatches();
        await settle();
      },
      closeGap: async () => {
        cluster.compact();
        await vi.advanceTimersByTimeAsync(100);
      },
    },
    {
      name: "410 ERROR event when the watch restarts after a compaction",
      goneMode: "event",
      openGap: async () => {
        cluster.breakWatches();
        await settle();
      },
      closeGap: async () => {
        cluster.compact();
        await vi.advanceTimersByTimeAsync(100);
      },
    },
    {
      // The informer drops what follows the ERROR event on the expired watch and relists.
      name: "410 ERROR event in the middle of a watch",
      goneMode: "event",
      openGap: async () => cluster.expireWatches(),
      closeGap: settle,
    },
  ])("$name", ({ goneMode, openGap, closeGap }) => {
    it("relists and reports exactly the net adds, updates and deletes of the gap", async () => {
      cluster.goneMode = goneMode;
      create("kept");
      create("changed", { v: "1" });
      create("removed");
      const informer = startInformer();
      const deltas = recordDeltas(informer);
      await informer.waitForSync();
      deltas.length = 0;

      await openGap();
      relabel("changed", { v: "2" });
      relabel("changed", { v: "3" });
      remove("removed");
      create("new");
      create("transient");
      remove("transient");
      await closeGap();

      expect(deltas.map(describeDelta).sort()).toEqual(["added new", "deleted removed", "updated changed"]);
      const update = deltas.find((d) => d.type === "updated") as Extract<Delta<KubePod>, { type: "updated" }>;
      expect(update.old.metadata?.labels).toEqual({ v: "1" });
      expect(update.object.metadata?.labels).toEqual({ v: "3" });
      expect(names(informer).sort()).toEqual(["changed", "kept", "new"]);
      expect(lists()).toBe(2);
      expect(informer.status.relists).toBe(1);
      expect(log.records.some((r) => r.msg === "watch expired; relisting")).toBe(true);

      // Live again after the relist.
      create("after");
      await settle();
      expect(deltas.map(describeDelta).at(-1)).toBe("added after");
      expect(deltas.filter((d) => d.object.metadata?.name === "after")).toHaveLength(1);
    });
  });

  it("reports a delete missed while the watch was silent as a deleted delta with the last known state", async () => {
    create("a", { owner: "alice" });
    create("b");
    const informer = startInformer({ inactivityTimeoutMs: 1_000 });
    const deltas = recordDeltas(informer);
    await informer.waitForSync();
    deltas.length = 0;

    cluster.silenceWatches();
    remove("a");
    cluster.compact();
    await vi.advanceTimersByTimeAsync(1_000); // inactivity timeout
    await vi.advanceTimersByTimeAsync(100); // backoff, then the watch restart gets 410 and relists

    expect(deltas.map(describeDelta)).toEqual(["deleted a"]);
    expect(deltas[0].object.metadata?.labels).toEqual({ owner: "alice" });
    expect(names(informer)).toEqual(["b"]);
    expect(lists()).toBe(2);
  });

  it("reconnects a dropped watch after backoff and resumes from the last resourceVersion, without relist or duplicates", async () => {
    create("a");
    const informer = startInformer();
    const deltas = recordDeltas(informer);
    await informer.waitForSync();
    create("b"); // seen live before the drop
    await settle();

    cluster.breakWatches();
    await settle();
    relabel("a", { v: "2" });
    create("c");
    expect(watchesStarted()).toBe(1);

    await vi.advanceTimersByTimeAsync(99);
    expect(watchesStarted()).toBe(1);
    expect(deltas.map(describeDelta)).toEqual(["added a", "added b"]);

    await vi.advanceTimersByTimeAsync(1);
    expect(watchesStarted()).toBe(2);
    expect(deltas.map(describeDelta)).toEqual(["added a", "added b", "updated a", "added c"]);
    expect(lists()).toBe(1);
    expect(informer.status.relists).toBe(0);
    expect(informer.status.watchRestarts).toBe(1);
    expect(log.problems().map((r) => r.retryInMs)).toEqual([100]);

    // A second drop straight away backs off longer.
    cluster.breakWatches();
    await settle();
    await vi.advanceTimersByTimeAsync(199);
    expect(watchesStarted()).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(watchesStarted()).toBe(3);
    expect(log.problems().map((r) => r.retryInMs)).toEqual([100, 200]);
    expect(lists()).toBe(1);
  });

  it("restarts a silent watch after the inactivity timeout and delivers what changed meanwhile", async () => {
    create("a");
    const informer = startInformer({ inactivityTimeoutMs: 1_000 });
    const deltas = recordDeltas(informer);
    await informer.waitForSync();
    deltas.length = 0;

    cluster.silenceWatches();
    create("b");
    relabel("a", { v: "2" });
    await vi.advanceTimersByTimeAsync(999);
    expect(deltas).toEqual([]);
    expect(watchesStarted()).toBe(1);

    await vi.advanceTimersByTimeAsync(1);
    expect(log.problems().map((r) => r.err?.type)).toEqual(["WatchInactiveError"]);
    await vi.advanceTimersByTimeAsync(100);

    expect(watchesStarted()).toBe(2);
    expect(deltas.map(describeDelta)).toEqual(["added b", "updated a"]);
    expect(lists()).toBe(1);
    expect(cluster.activeWatches(podResource, ns)).toBe(1);
  });

  it("keeps a watch that receives bookmarks alive past the inactivity timeout", async () => {
    const informer = startInformer({ inactivityTimeoutMs: 1_000 });
    await informer.waitForSync();
    for (let i = 0; i < 5; i += 1) {
      await vi.advanceTimersByTimeAsync(900);
      cluster.sendBookmarks();
      await settle();
    }
    expect(watchesStarted()).toBe(1);
    expect(log.problems()).toEqual([]);
  });

  it("syncs after a failing list recovers, retrying with growing backoff", async () => {
    cluster.failNextLists(new KubeApiError("boom", { statusCode: 500 }), new KubeApiError("boom", { statusCode: 503 }));
    create("a");
    const informer = startInformer();
    const synced = informer.waitForSync();
    await settle();
    expect(lists()).toBe(1);
    expect(informer.hasSynced).toBe(false);
    expect(informer.status.lastError).toMatchObject({ statusCode: 500 });

    await vi.advanceTimersByTimeAsync(99);
    expect(lists()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(lists()).toBe(2);
    await vi.advanceTimersByTimeAsync(199);
    expect(informer.hasSynced).toBe(false);
    await vi.advanceTimersByTimeAsync(1);

    await synced;
    expect(lists()).toBe(3);
    expect(names(informer)).toEqual(["a"]);
    expect(informer.status.lastError).toBeUndefined();
    expect(log.problems().map((r) => [r.err?.statusCode, r.retryInMs])).toEqual([
      [500, 100],
      [503, 200],
    ]);
  });

  it.each([401, 403, 404])("rejects waitForSync at once on a permanent %i list error", async (statusCode) => {
    cluster.failNextLists(new KubeApiError("refused", { statusCode }));
    const informer = startInformer();
    const synced = informer.waitForSync();
    const outcome = synced.then(
      () => "synced",
      (error: unknown) => error,
    );
    await settle(); // no timer advance: the rejection must not wait for the backoff
    await expect(outcome).resolves.toMatchObject({ name: "KubeApiError", statusCode });
    expect(informer.hasSynced).toBe(false);
  });

  it("rejects waitForSync at once for a caller arriving after a permanent list error", async () => {
    cluster.failNextLists(new KubeApiError("forbidden", { statusCode: 403 }), new KubeApiError("forbidden", { statusCode: 403 }));
    const informer = startInformer();
    await settle();
    expect(informer.status.lastError).toMatchObject({ statusCode: 403 });

    const outcome = informer.waitForSync().then(
      () => "synced",
      (error: unknown) => error,
    );
    let settled: unknown;
    void outcome.then((value) => {
      settled = value;
    });
    await settle();
    expect(settled).toMatchObject({ statusCode: 403 });
  });

  it("does not reject waitForSync on a transient list error", async () => {
    cluster.failNextLists(new KubeApiError("unavailable", { statusCode: 503 }));
    const informer = startInformer();
    let outcome = "pending";
    informer.waitForSync().then(
      () => {
        outcome = "synced";
      },
      () => {
        outcome = "rejected";
      },
    );
    await settle();
    expect(outcome).toBe("pending");
    await vi.advanceTimersByTimeAsync(100);
    expect(outcome).toBe("synced");
  });

  it("rejects waitForSync when its signal aborts or the informer stops, and resolves at once once synced", async () => {
    const release = cluster.holdLists();
    const informer = startInformer();
    const aborter = new AbortController();
    const aborted = informer.waitForSync(aborter.signal);
    const stopped = informer.waitForSync();
    aborter.abort(new Error("client went away"));
    await expect(aborted).rejects.toThrow("client went away");

    await informer.stop();
    await expect(stopped).rejects.toThrow("stopped");
    await expect(informer.waitForSync()).rejects.toThrow("stopped");
    release();

    const other = startInformer();
    await other.waitForSync();
    await expect(other.waitForSync()).resolves.toBeUndefined();
  });

  it("keeps going when a handler throws: other handlers and later events still arrive", async () => {
    create("a");
    const informer = startInformer();
    let thrown = 0;
    informer.addHandler(() => {
      thrown += 1;
      throw new Error("handler bug");
    });
    const deltas = recordDeltas(informer);
    await informer.waitForSync();
    create("b");
    remove("a");
    await settle();

    expect(deltas.map(describeDelta)).toEqual(["added a", "added b", "deleted a"]);
    expect(thrown).toBe(3);
    expect(log.records.filter((r) => r.msg === "informer handler threw; continuing")).toHaveLength(3);
    expect(informer.status.watchRestarts).toBe(0);
  });

  it("stops delivering to a handler once it is removed", async () => {
    const informer = startInformer();
    await informer.waitForSync();
    const seen: string[] = [];
    const remove = informer.addHandler((delta) => seen.push(describeDelta(delta)));
    create("a");
    await settle();
    remove();
    create("b");
    await settle();
    expect(seen).toEqual(["added a"]);
  });

  it("drops managedFields from listed and watched objects", async () => {
    const managedFields = [{ manager: "kubectl", operation: "Apply" }];
    cluster.create(podResource, podFixture(ns, "listed", { labels: { app: "x" }, managedFields }));
    const informer = startInformer();
    await informer.waitForSync();
    cluster.create(podResource, podFixture(ns, "watched", { managedFields }));
    await settle();

    for (const name of ["listed", "watched"]) {
      const pod = informer.get(`${ns}/${name}`);
      expect(pod?.metadata?.name).toBe(name);
      expect(pod?.metadata).not.toHaveProperty("managedFields");
    }
    expect(informer.get(`${ns}/listed`)?.metadata?.labels).toEqual({ app: "x" });
  });

  describe("stop()", () => {
    it("during a list: resolves, reports nothing afterwards, never syncs, and is idempotent", async () => {
      const release = cluster.holdLists();
      create("a");
      const informer = startInformer();
      const deltas = recordDeltas(informer);
      await settle();
      expect(lists()).toBe(1);

      await informer.stop();
      await informer.stop();
      release();
      await vi.advanceTimersByTimeAsync(10_000);

      expect(deltas).toEqual([]);
      expect(informer.hasSynced).toBe(false);
      expect(lists()).toBe(1);
      expect(watchesStarted()).toBe(0);
      expect(log.problems()).toEqual([]);
    });

    it("during backoff: resolves at once and retries nothing afterwards", async () => {
      cluster.failNextLists(new KubeApiError("boom", { statusCode: 500 }));
      const informer = startInformer();
      await settle();
      expect(log.problems()).toHaveLength(1);

      await Promise.all([informer.stop(), informer.stop()]);
      await vi.advanceTimersByTimeAsync(10_000);

      expect(lists()).toBe(1);
      expect(log.problems()).toHaveLength(1);
    });

    it("while watching: closes the watch and tells handlers nothing more", async () => {
      const informer = startInformer();
      const deltas = recordDeltas(informer);
      await informer.waitForSync();
      expect(cluster.activeWatches(podResource, ns)).toBe(1);

      await informer.stop();
      await settle();
      create("a");
      await vi.advanceTimersByTimeAsync(10_000);

      expect(cluster.activeWatches(podResource, ns)).toBe(0);
      expect(deltas).toEqual([]);
      expect(log.problems()).toEqual([]);
      informer.start(); // a stopped informer stays stopped
      await settle();
      expect(lists()).toBe(1);
    });
  });
});
