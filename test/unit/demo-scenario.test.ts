import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { demoDaskClusters } from "../../src/demo/dask-actor.ts";
import { DemoScenario, demoProjects, demoUsers } from "../../src/demo/scenario.ts";
import { ideConventions } from "../../src/domain/ide.ts";
import { type KubePod, toPod } from "../../src/domain/pod.ts";
import { Informer } from "../../src/kube/informer.ts";
import { InformerRegistry } from "../../src/kube/informer-registry.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { daskClusterResource, notebookResource, podResource } from "../../src/kube/resources.ts";
import { DaskStreams } from "../../src/streams/dask-streams.ts";
import { IdeStreams } from "../../src/streams/ide-streams.ts";
import { PodStreams } from "../../src/streams/pod-streams.ts";
import type { StreamAccess } from "../../src/streams/subscribers/access.ts";
import type { StreamEvent } from "../../src/streams/subscribers/stream-event.ts";
import { ViewRegistry } from "../../src/streams/views/view-registry.ts";
import { testStreamServices, userLabel } from "../helpers/settings.ts";
import { seededRandom, settle } from "./support.ts";

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
    const scenario = new DemoScenario({ cluster, userLabel, random: seededRandom(seed) });
    scenario.seed();
    const seen = await observe();

    expect(() => {
      for (let i = 0; i < 400; i += 1) scenario.step();
    }).not.toThrow();
    await settle();

    for (const status of ["Pending", "ContainerCreating", "Running", "Error", "CrashLoopBackOff", "Completed", "Terminating"]) {
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

  it("seeds every project with running IDE pods of all three kinds for every demo user; Dask and Notebooks in data-science only", () => {
    new DemoScenario({ cluster, userLabel, random: seededRandom(3) }).seed();
    for (const namespace of demoProjects) {
      const pods = cluster.objectsOf<KubePod>(podResource, namespace);
      for (const user of demoUsers) {
        const running = pods
          .map((pod) => toPod(pod, userLabel))
          .filter((pod) => pod.user === user && pod.status === "Running" && pod.ready);
        expect(running.length, `${namespace} ${user}`).toBeGreaterThanOrEqual(2);
      }
      const kinds = new Set(pods.map((pod) => pod.metadata?.labels?.["kubesub.io/ide"] ?? pod.metadata?.labels?.component));
      expect([...kinds].sort(), namespace).toEqual(expect.arrayContaining(["jupyterlab", "rstudio", "singleuser-server", "vscode"]));
      const dask = cluster.objectsOf(daskClusterResource, namespace).map((c) => c.metadata?.labels?.[userLabel]);
      const notebooks = cluster.objectsOf(notebookResource, namespace);
      if (namespace === "data-science") {
        expect(dask.sort()).toEqual(demoDaskClusters.map((c) => c.user).sort());
        expect(notebooks).toHaveLength(3);
      } else {
        expect(dask).toEqual([]);
        expect(notebooks).toEqual([]);
      }
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

  it.each([1, 7, 2024])(
    "with seed %i, every demo user sees a pod, an IDE and (in data-science) a Dask change within 5 s in every project",
    async (seed) => {
      // What a newcomer sees in GraphiQL: real streams over the demo at npm start's pace.
      const intervalMs = loadConfig([], {})?.demoIntervalMs ?? Number.NaN;
      expect(intervalMs).toBe(2_000);
      const shutdown = new AbortController();
      const views = new ViewRegistry(new InformerRegistry({ sources: (type, namespace) => cluster.source(type, namespace) }));
      const settings = testStreamServices(views, { queueCapacity: 100_000, shutdown: shutdown.signal });
      const streams = {
        podEvents: new PodStreams(settings),
        ideEvents: new IdeStreams(settings, new Set(ideConventions)),
        daskEvents: new DaskStreams(settings),
      };
      const access: StreamAccess = { subject: "newcomer", authorize: async () => {}, recheck: async () => undefined };
      const scenario = new DemoScenario({ cluster, userLabel, random: seededRandom(seed) });
      scenario.seed();

      const changes = new Map<string, number[]>();
      const drained: Promise<void>[] = [];
      for (const field of ["podEvents", "ideEvents", "daskEvents"] as const) {
        for (const project of field === "daskEvents" ? ["data-science"] : demoProjects) {
          for (const user of [undefined, ...demoUsers]) {
            const times: number[] = [];
            changes.set(`${field}(project: ${project}, user: ${user ?? "any"})`, times);
            const events = (await streams[field].events({ project, user }, access)) as AsyncIterableIterator<StreamEvent<unknown>>;
            drained.push(
              (async () => {
                for await (const event of events) {
                  const live =
                    event.type === "updated" || ((event.type === "added" || event.type === "deleted") && event.cause !== "INITIAL_STATE");
                  if (live) times.push(Date.now());
                }
              })(),
            );
          }
        }
      }
      await settle();
      const start = Date.now();
      scenario.start(intervalMs);
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      const end = Date.now();
      scenario.stop();

      const longestGaps = Object.fromEntries(
        [...changes].map(([key, times]) => {
          const points = [start, ...times, end];
          return [key, Math.max(...points.slice(1).map((t, i) => t - (points[i] as number)))];
        }),
      );
      const tooLong = Object.entries(longestGaps).filter(([, gap]) => gap >= 5_000);
      expect(tooLong).toEqual([]);

      shutdown.abort();
      await settle();
      await Promise.all(drained);
    },
    30_000,
  );
});
