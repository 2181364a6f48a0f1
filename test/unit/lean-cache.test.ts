// Objects are cached as the transform makes them (src/domain/slim.ts): the objects of a LIST as they
// came must then be garbage, whole, while the informer goes on watching. Checked with the garbage
// collector itself, so that nothing in the kube layer holds them by accident (a suspended async
// function keeps its locals for as long as it waits).
import { setImmediate as nextTurn } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { expect, it } from "vitest";
import { slimPod } from "../../src/domain/slim.ts";
import { Informer } from "../../src/kube/informer.ts";
import type { ListWatchSource } from "../../src/kube/list-watch-source.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { realisticJupyterLabPod } from "../helpers/realistic-objects.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Lists these objects (handing them over, keeping nothing), then watches quietly until stopped. */
function listingSource(take: () => KubeObject[]): ListWatchSource {
  return {
    description: "pods in team-a",
    list: async () => ({ items: take(), resourceVersion: "10" }),
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
