// kubesub caches each object as src/domain/slim.ts reduces it, and nothing more: the objects of a
// LIST as they came must be garbage, whole, while the informer goes on watching. Checked with the
// garbage collector itself, so that nothing in the kube layer holds them by accident (a suspended
// async function keeps its locals for as long as it waits).
import { setImmediate as nextTurn } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { expect, it } from "vitest";
import { createKubesub } from "../../src/app.ts";
import { slimDaskAutoscaler, slimNotebook, slimPod } from "../../src/domain/slim.ts";
import { Informer } from "../../src/kube/informer.ts";
import type { ListWatchSource } from "../../src/kube/list-watch-source.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { daskAutoscalerResource, notebookResource, podResource } from "../../src/kube/resources.ts";
import type { KubeObject, ResourceType } from "../../src/kube/types.ts";
import { defaultOptions } from "../../src/options.ts";
import { captureLogger } from "../helpers/logs.ts";
import { realisticDaskAutoscaler, realisticJupyterLabPod, realisticNotebook } from "../helpers/realistic-objects.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Lists these objects (handing them over, keeping nothing), then watches quietly until stopped. */
function listingSource(take: () => KubeObject[]): ListWatchSource {
  return {
    description: "pods in team-a",
    list: async function* () {
      yield { items: take(), resourceVersion: "10" };
    },
    watch: ({ signal }) => new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true })),
  };
}

async function collected(refs: WeakRef<object>[]): Promise<number> {
  for (let i = 0; i < 3; i += 1) {
    await nextTurn();
    gc();
  }
  return refs.filter((ref) => ref.deref() === undefined).length;
}

it("the informer keeps the transformed objects of a LIST, not the listed ones, while it watches", async () => {
  let pending: KubeObject[] | undefined = Array.from({ length: 20 }, (_, index) => realisticJupyterLabPod({ index }));
  const refs = pending.map((pod) => new WeakRef(pod));
  const informer = new Informer(
    listingSource(() => {
      const items = pending ?? [];
      pending = undefined;
      return items;
    }),
    { transform: slimPod as <O extends KubeObject>(object: O) => O },
  );
  informer.start();
  try {
    await informer.waitForSync();
    expect(informer.list()).toHaveLength(20);
    expect(informer.list()[0]?.metadata?.managedFields).toBeUndefined();
    expect(await collected(refs)).toBe(20);
  } finally {
    await informer.stop();
  }
});

it("kubesub caches pods, Notebooks and Dask resources as slim.ts reduces them, whatever the watch scope", async () => {
  const cluster = new MemoryCluster();
  cluster.create(podResource, realisticJupyterLabPod({ namespace: "team-a" }));
  cluster.create(notebookResource, realisticNotebook({ name: "nb", namespace: "team-a" }));
  cluster.create(daskAutoscalerResource, realisticDaskAutoscaler({ name: "analysis", cluster: "analysis", namespace: "team-a" }));
  const cases: [ResourceType, (object: never) => KubeObject][] = [
    [podResource, slimPod],
    [notebookResource, slimNotebook],
    [daskAutoscalerResource, slimDaskAutoscaler],
  ];
  for (const watchScope of ["cluster", "namespace"] as const) {
    const app = createKubesub(
      defaultOptions({
        sources: (type, namespace) => cluster.source(type, namespace),
        auth: { mode: "none" },
        logger: captureLogger().logger,
        watchScope,
      }),
    );
    try {
      for (const [type, slim] of cases) {
        const lease = app.registry.acquire(type, "team-a");
        await lease.informer.waitForSync();
        const stored = cluster.objectsOf(type, "team-a");
        expect(stored).toHaveLength(1);
        expect(lease.informer.list()).toEqual(stored.map((object) => slim(object as never)));
        lease.release();
      }
    } finally {
      await app.shutdown();
    }
  }
});
