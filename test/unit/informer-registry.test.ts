import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import { InformerRegistry } from "../../src/kube/informer-registry.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import type { ResourceType } from "../../src/kube/types.ts";
import { settle } from "./support.ts";

const lingerMs = 1_000;
const secretResource: ResourceType = { group: "", version: "v1", plural: "secrets", kind: "Secret" };

let cluster: MemoryCluster;
let registry: InformerRegistry;

beforeEach(() => {
  vi.useFakeTimers();
  cluster = new MemoryCluster();
  registry = new InformerRegistry({ sources: (type, namespace) => cluster.source(type, namespace), lingerMs });
});

afterEach(async () => {
  await registry.close();
  vi.useRealTimers();
});

const lists = (namespace: string, resource = "pods") => cluster.stats.lists.get(`${resource}/${namespace}`) ?? 0;
const watches = (namespace: string, resource = "pods") => cluster.stats.watchesStarted.get(`${resource}/${namespace}`) ?? 0;
const references = () => Object.fromEntries(registry.snapshot().map((e) => [e.key, e.references]));

describe("InformerRegistry", () => {
  it("shares one informer, one LIST and one WATCH among N acquires of the same resource and namespace", async () => {
    const leases = Array.from({ length: 5 }, () => registry.acquire<KubePod>(podResource, "team-a"));
    await Promise.all(leases.map((lease) => lease.informer.waitForSync()));
    await settle();

    expect(new Set(leases.map((lease) => lease.informer)).size).toBe(1);
    expect(lists("team-a")).toBe(1);
    expect(watches("team-a")).toBe(1);
    expect(cluster.activeWatches(podResource, "team-a")).toBe(1);
    expect(references()).toEqual({ "pods/team-a": 5 });
  });

  it.each([
    { name: "another namespace", other: { resource: podResource, namespace: "team-b" }, key: "pods/team-b" },
    { name: "another resource", other: { resource: secretResource, namespace: "team-a" }, key: "secrets/team-a" },
  ])("gives $name its own informer", async ({ other, key }) => {
    const first = registry.acquire(podResource, "team-a");
    const second = registry.acquire(other.resource, other.namespace);
    await Promise.all([first.informer.waitForSync(), second.informer.waitForSync()]);

    expect(second.informer).not.toBe(first.informer);
    expect(second.informer.description).toBe(`${key.split("/")[0]} in ${other.namespace}`);
    expect(references()).toEqual({ "pods/team-a": 1, [key]: 1 });
    expect(lists("team-a")).toBe(1);
  });

  it("stops the informer lingerMs after the last release, and starts a fresh one on the next acquire", async () => {
    const first = registry.acquire(podResource, "team-a");
    const second = registry.acquire(podResource, "team-a");
    await first.informer.waitForSync();
    first.release();
    await vi.advanceTimersByTimeAsync(10 * lingerMs);
    expect(references()).toEqual({ "pods/team-a": 1 });

    second.release();
    expect(references()).toEqual({ "pods/team-a": 0 });
    await vi.advanceTimersByTimeAsync(lingerMs - 1);
    expect(cluster.activeWatches(podResource, "team-a")).toBe(1);

    await vi.advanceTimersByTimeAsync(1);
    expect(references()).toEqual({});
    expect(cluster.activeWatches(podResource, "team-a")).toBe(0);
    await expect(first.informer.waitForSync()).resolves.toBeUndefined(); // it had synced; it is stopped now

    const again = registry.acquire(podResource, "team-a");
    await again.informer.waitForSync();
    expect(again.informer).not.toBe(first.informer);
    expect(lists("team-a")).toBe(2);
  });

  it("keeps the informer when it is acquired again while lingering", async () => {
    const lease = registry.acquire(podResource, "team-a");
    await lease.informer.waitForSync();
    lease.release();
    await vi.advanceTimersByTimeAsync(lingerMs / 2);

    const again = registry.acquire(podResource, "team-a");
    expect(again.informer).toBe(lease.informer);
    await vi.advanceTimersByTimeAsync(10 * lingerMs);

    expect(references()).toEqual({ "pods/team-a": 1 });
    expect(cluster.activeWatches(podResource, "team-a")).toBe(1);
    expect(lists("team-a")).toBe(1);
    expect(watches("team-a")).toBe(1);
  });

  it("counts a release only once, however often it is called", async () => {
    const first = registry.acquire(podResource, "team-a");
    registry.acquire(podResource, "team-a");
    await first.informer.waitForSync();
    first.release();
    first.release();
    first.release();
    await vi.advanceTimersByTimeAsync(10 * lingerMs);

    expect(references()).toEqual({ "pods/team-a": 1 });
    expect(cluster.activeWatches(podResource, "team-a")).toBe(1);
  });

  it("close() stops every informer, clears the registry and refuses new acquires", async () => {
    const a = registry.acquire(podResource, "team-a");
    const b = registry.acquire(podResource, "team-b");
    await Promise.all([a.informer.waitForSync(), b.informer.waitForSync()]);
    a.release(); // one lingering, one held

    await registry.close();
    await registry.close();
    await settle();

    expect(registry.snapshot()).toEqual([]);
    expect(cluster.activeWatches(podResource, "team-a")).toBe(0);
    expect(cluster.activeWatches(podResource, "team-b")).toBe(0);
    expect(() => registry.acquire(podResource, "team-a")).toThrow("shut down");
    b.release(); // a late release after close is harmless
    await vi.advanceTimersByTimeAsync(10 * lingerMs);
    expect(vi.getTimerCount()).toBe(0);
  });
});
