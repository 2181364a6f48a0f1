import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DemoScenario, demoProjects, demoUsers } from "../../src/demo/scenario.ts";
import { type KubePod, toPod } from "../../src/domain/pod.ts";
import { Informer } from "../../src/kube/informer.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import { seededRandom, settle, userLabel } from "./support.ts";

const podsPerProject = 4;

let cluster: MemoryCluster;
let informers: Informer<KubePod>[];

beforeEach(() => {
  vi.useFakeTimers();
  cluster = new MemoryCluster();
  informers = [];
});

afterEach(async () => {
  await Promise.all(informers.map((informer) => informer.stop()));
  vi.useRealTimers();
});

/** Watches every demo project and records each status a pod showed, and each delete. */
async function observe(): Promise<{ statuses: Set<string>; deleted: string[]; users: Set<string | null> }> {
  const statuses = new Set<string>();
  const deleted: string[] = [];
  const users = new Set<string | null>();
  for (const namespace of demoProjects) {
    const informer = new Informer(cluster.source<KubePod>(podResource, namespace));
    informers.push(informer);
    informer.addHandler((delta) => {
      const pod = toPod(delta.object, userLabel);
      if (delta.type === "deleted") deleted.push(`${pod.namespace}/${pod.name}`);
      else statuses.add(pod.status);
      users.add(pod.user);
    });
    informer.start();
    await informer.waitForSync();
  }
  return { statuses, deleted, users };
}

describe("DemoScenario", () => {
  it.each([1, 7, 2024])("with seed %i, drives pods through their whole lifecycle without throwing", async (seed) => {
    const scenario = new DemoScenario({ cluster, userLabel, podsPerProject, random: seededRandom(seed) });
    scenario.seed();
    const seen = await observe();

    expect(() => {
      for (let i = 0; i < 400; i += 1) scenario.step();
    }).not.toThrow();
    await settle();

    for (const status of ["Pending", "ContainerCreating", "Running", "CrashLoopBackOff", "Terminating"]) {
      expect(seen.statuses, status).toContain(status);
    }
    expect(seen.deleted.length).toBeGreaterThan(5);
    expect([...seen.users].every((user) => (demoUsers as readonly (string | null)[]).includes(user))).toBe(true);

    // The informers' caches agree with the cluster after all that churn.
    for (const [i, namespace] of demoProjects.entries()) {
      const cached = informers[i]
        .list()
        .map((pod) => `${pod.metadata?.name}@${pod.metadata?.resourceVersion}`)
        .sort();
      const stored = cluster
        .objectsOf<KubePod>(podResource, namespace)
        .map((pod) => `${pod.metadata?.name}@${pod.metadata?.resourceVersion}`)
        .sort();
      expect(cached).toEqual(stored);
    }
  });

  it("seeds every project with running pods of demo users", () => {
    new DemoScenario({ cluster, userLabel, podsPerProject: 3, random: seededRandom(3) }).seed();
    for (const namespace of demoProjects) {
      const pods = cluster.objectsOf<KubePod>(podResource, namespace).map((pod) => toPod(pod, userLabel));
      const running = pods.filter((pod) => pod.status === "Running" && pod.ready);
      expect(running.length, namespace).toBeGreaterThanOrEqual(3);
      for (const pod of running) expect(demoUsers).toContain(pod.user);
    }
  });

  it("is reproducible for a seed", () => {
    const run = () => {
      const local = new MemoryCluster();
      const scenario = new DemoScenario({ cluster: local, userLabel, random: seededRandom(42) });
      scenario.seed();
      for (let i = 0; i < 100; i += 1) scenario.step();
      return demoProjects.flatMap((ns) =>
        local.objectsOf<KubePod>(podResource, ns).map((pod) => `${pod.metadata?.name}:${toPod(pod, userLabel).status}`),
      );
    };
    expect(run()).toEqual(run());
  });

  it("steps on its interval once started, and not after stop()", async () => {
    const scenario = new DemoScenario({ cluster, userLabel, random: seededRandom(5) });
    scenario.seed();
    const step = vi.spyOn(scenario, "step");
    scenario.start(1_000);
    scenario.start(1_000); // a second start does not double the pace
    await vi.advanceTimersByTimeAsync(999);
    expect(step).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(step).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(step).toHaveBeenCalledTimes(5);

    scenario.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(step).toHaveBeenCalledTimes(5);
  });
});
