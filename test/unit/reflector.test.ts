import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import { Backoff } from "../../src/kube/backoff.ts";
import { KubeApiError } from "../../src/kube/errors.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { Reflector, type ReflectorSink } from "../../src/kube/reflector.ts";
import { podResource } from "../../src/kube/resources.ts";
import { podFixture } from "../helpers/pods.ts";
import { settle } from "./support.ts";

const ns = "team-a";

/** Every call the reflector made to its sink, as text. */
function recordingSink(): { sink: ReflectorSink<KubePod>; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    sink: {
      replace: (items, resourceVersion) => calls.push(`replace [${items.map((i) => i.metadata?.name).join(",")}] @${resourceVersion}`),
      apply: (type, object) => calls.push(`${type} ${object.metadata?.name}`),
      error: (error, delayMs) => calls.push(`error ${(error as KubeApiError).statusCode ?? (error as Error).name} retry ${delayMs}`),
    },
  };
}

describe("Reflector", () => {
  let cluster: MemoryCluster;

  beforeEach(() => {
    vi.useFakeTimers();
    cluster = new MemoryCluster();
    // Revisions 2 and 3: the namespaces, as a real cluster has them before anything is put in them.
    cluster.createNamespace(ns);
    cluster.createNamespace("team-b");
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  const newReflector = (sink: ReflectorSink<KubePod>) =>
    new Reflector(cluster.source<KubePod>(podResource, ns), sink, { backoff: { initialMs: 100, jitter: 0 }, inactivityTimeoutMs: 1_000 });

  it("lists, then applies watch events, and reports failures with their retry delay", async () => {
    cluster.create(podResource, podFixture(ns, "a"));
    const { sink, calls } = recordingSink();
    const reflector = newReflector(sink);
    const running = reflector.run();
    expect(reflector.run()).toBe(running);
    await settle();
    cluster.create(podResource, podFixture(ns, "b"));
    cluster.delete(podResource, ns, "a");
    await settle();
    cluster.breakWatches(new KubeApiError("reset", { statusCode: 500 }));
    await settle();

    expect(calls).toEqual(["replace [a] @4", "ADDED b", "DELETED a", "error 500 retry 100"]);
    expect(reflector.resourceVersion).toBe("6");
    await reflector.stop();
    await expect(running).resolves.toBeUndefined();
  });

  it("moves its resourceVersion forward on bookmarks, so a restart after a compaction needs no relist", async () => {
    const { sink, calls } = recordingSink();
    const reflector = newReflector(sink);
    void reflector.run();
    await settle();
    cluster.create(podResource, podFixture(ns, "a"));
    await settle();
    expect(reflector.resourceVersion).toBe("4");

    cluster.create(podResource, podFixture("team-b", "elsewhere")); // moves the global revision only
    cluster.sendBookmarks();
    await settle();
    expect(reflector.resourceVersion).toBe("5");

    cluster.compact(); // revision 4 is gone; 5 is still watchable
    cluster.closeWatches(); // a normal end, as the server's timeout
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toEqual(["replace [] @3", "ADDED a"]);
    expect(cluster.stats.watchesStarted.get(`pods/${ns}`)).toBe(2);
    expect(cluster.activeWatches(podResource, ns)).toBe(1);
    await reflector.stop();
  });

  it.each([
    {
      name: "during a list",
      arrange: () => {
        cluster.holdLists();
      },
    },
    {
      name: "during backoff after a failed list",
      arrange: () => cluster.failNextLists(new KubeApiError("boom", { statusCode: 500 })),
    },
    {
      name: "while watching",
      arrange: () => {},
    },
    {
      name: "during backoff after a broken watch",
      arrange: () => {
        void settle().then(() => cluster.breakWatches());
      },
    },
  ])("stop() $name resolves, is idempotent and never calls the sink again", async ({ arrange }) => {
    const { sink, calls } = recordingSink();
    const reflector = newReflector(sink);
    arrange();
    const running = reflector.run();
    await settle();
    await settle();
    const before = [...calls];

    await Promise.all([reflector.stop(), reflector.stop()]);
    await reflector.stop();
    await expect(running).resolves.toBeUndefined();

    // Whatever happens next in the cluster, the stopped reflector stays silent.
    cluster.create(podResource, podFixture(ns, "late"));
    cluster.expireWatches();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toEqual(before);
    expect(cluster.activeWatches(podResource, ns)).toBe(0);
  });

  it("treats a watch that ends normally too soon as a failure and waits before the next one", async () => {
    const { sink } = recordingSink();
    const reflector = new Reflector(cluster.source<KubePod>(podResource, ns), sink, {
      backoff: { initialMs: 100, jitter: 0 },
      minWatchDurationMs: 1_000,
    });
    void reflector.run();
    await settle();
    const watches = () => cluster.stats.watchesStarted.get(`pods/${ns}`);
    cluster.closeWatches();
    await vi.advanceTimersByTimeAsync(99);
    expect(watches()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(watches()).toBe(2);

    // A watch that lasted long enough is resumed at once.
    await vi.advanceTimersByTimeAsync(1_000);
    cluster.closeWatches();
    await settle();
    expect(watches()).toBe(3);
    await reflector.stop();
  });
});

describe("Backoff", () => {
  const clock = () => {
    let now = 0;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  it("grows exponentially up to the maximum", () => {
    const backoff = new Backoff({ initialMs: 100, factor: 2, maxMs: 1_000, jitter: 0, clock: clock() });
    backoff.started();
    expect(Array.from({ length: 7 }, () => backoff.next())).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it.each([
    { random: 0, expected: [50, 100, 200] },
    { random: 0.5, expected: [100, 200, 400] },
    { random: 0.999, expected: [150, 300, 600] },
  ])("jitters each delay by ±50% (random $random)", ({ random, expected }) => {
    const backoff = new Backoff({ initialMs: 100, factor: 2, jitter: 0.5, random: () => random, clock: clock() });
    backoff.started();
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual(expected);
  });

  it("resets to the initial delay after an attempt was stable for resetAfterMs, not before", () => {
    const time = clock();
    const backoff = new Backoff({ initialMs: 100, factor: 2, jitter: 0, resetAfterMs: 60_000, clock: time });
    backoff.started();
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400]);

    backoff.started();
    time.advance(59_999);
    expect(backoff.next()).toBe(800);

    backoff.started();
    time.advance(60_000);
    expect(backoff.next()).toBe(100);
    backoff.started(); // the next attempt fails at once: the delay grows again
    expect(backoff.next()).toBe(200);
  });

  it("never waits longer than maxMs, even for the first retry", () => {
    const backoff = new Backoff({ initialMs: 5_000, maxMs: 1_000, jitter: 0, clock: { now: () => 0 } });
    backoff.started();
    expect([backoff.next(), backoff.next()]).toEqual([1_000, 1_000]);
  });

  it("uses client-go's defaults: 800 ms doubling to 30 s", () => {
    const backoff = new Backoff({ jitter: 0, clock: { now: () => 0 } });
    backoff.started();
    const delays = Array.from({ length: 8 }, () => backoff.next());
    expect(delays).toEqual([800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000, 30_000]);
  });
});
