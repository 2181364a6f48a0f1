// What an informer's change log costs (src/kube/change-log.ts): heap held by an informer of 1,000
// realistic slim pods after 10,000 status changes, with the default log (10 x --history-size =
// 10,000 changes) against none. Run: node --expose-gc bench/change-log-memory.ts

import type { KubePod } from "../src/domain/pod.ts";
import { slimTransformFor } from "../src/domain/slim.ts";
import { Informer } from "../src/kube/informer.ts";
import { MemoryCluster } from "../src/kube/memory-cluster.ts";
import { podResource } from "../src/kube/resources.ts";
import { podObject, setPodState } from "../test/helpers/ide-dask-fixtures.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");

async function heldAfter(changeLogSize: number): Promise<number> {
  const cluster = new MemoryCluster();
  for (let i = 0; i < 1_000; i++)
    cluster.create(podResource, podObject({ name: `pod-${i}`, namespace: "team", user: "alice", state: "ready" }));
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const transform = slimTransformFor(podResource);
  const informer = new Informer<KubePod>(cluster.source(podResource, "team") as never, {
    ...(transform ? { transform } : {}),
    changeLog: { size: changeLogSize, ageMs: 300_000 },
  });
  informer.start();
  await informer.waitForSync();
  for (let n = 0; n < 10_000; n++) {
    cluster.update<KubePod>(podResource, "team", `pod-${n % 1_000}`, (pod) => setPodState(pod, { stuck: "CrashLoopBackOff" }, n));
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  gc?.();
  const held = process.memoryUsage().heapUsed - before;
  await informer.stop();
  return held;
}

const without = await heldAfter(0);
const withLog = await heldAfter(10_000);
console.log(
  `informer of 1,000 pods after 10,000 changes: ${(without / 1024 / 1024).toFixed(1)} MiB without a change log, ${(withLog / 1024 / 1024).toFixed(1)} MiB with 10,000 kept: ${((withLog - without) / 10_000 / 1024).toFixed(2)} KiB per kept change`,
);
