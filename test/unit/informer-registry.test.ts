import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import { InformerRegistry } from "../../src/kube/informer-registry.ts";
import { allNamespaces } from "../../src/kube/list-watch-source.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import type { ResourceType } from "../../src/kube/types.ts";
import { podFixture } from "../helpers/pods.ts";
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

describe("InformerRegistry with --watch-scope cluster", () => {
  let clusterScoped: InformerRegistry;
  beforeEach(() => {
    clusterScoped = new InformerRegistry({ sources: (type, namespace) => cluster.source(type, namespace), lingerMs, scope: "cluster" });
  });
  afterEach(() => clusterScoped.close());

  it("lists and watches each resource once for every project, and gives each project only its own objects and deltas", async () => {
    cluster.create(podResource, podFixture("team-a", "a-1"));
    cluster.create(podResource, podFixture("team-b", "b-1"));
    const projects = Array.from({ length: 100 }, (_, i) => (i === 0 ? "team-a" : i === 1 ? "team-b" : `project-${i}`));
    const leases = projects.map((project) => clusterScoped.acquire<KubePod>(podResource, project));
    await Promise.all(leases.map((lease) => lease.informer.waitForSync()));
    await settle();

    expect([...cluster.stats.lists]).toEqual([["pods/", 1]]);
    expect([...cluster.stats.watchesStarted]).toEqual([["pods/", 1]]);
    expect(Object.fromEntries(clusterScoped.snapshot().map((e) => [e.key, e.references]))).toEqual({ "pods/*": 100 });
    const [teamA, teamB, empty] = leases;
    expect(teamA?.informer.list().map((pod) => pod.metadata?.name)).toEqual(["a-1"]);
    expect(teamB?.informer.list().map((pod) => pod.metadata?.name)).toEqual(["b-1"]);
    expect(empty?.informer.list()).toEqual([]);
    expect(teamA?.informer.get("team-b/b-1")).toBeUndefined();

    const seen: string[] = [];
    teamA?.informer.addHandler((delta) => seen.push(`team-a ${delta.type} ${delta.object.metadata?.name}`));
    teamB?.informer.addHandler((delta) => seen.push(`team-b ${delta.type} ${delta.object.metadata?.name}`));
    cluster.create(podResource, podFixture("team-b", "b-2"));
    cluster.delete(podResource, "team-a", "a-1");
    await settle();
    expect(seen).toEqual(["team-b added b-2", "team-a deleted a-1"]);
  });

  it("stops the cluster-wide informer lingerMs after the last project's release", async () => {
    const a = clusterScoped.acquire(podResource, "team-a");
    const b = clusterScoped.acquire(podResource, "team-b");
    await a.informer.waitForSync();
    a.release();
    await vi.advanceTimersByTimeAsync(lingerMs * 2);
    expect(cluster.activeWatches(podResource, allNamespaces)).toBe(1);
    b.release();
    await vi.advanceTimersByTimeAsync(lingerMs + 1);
    expect(clusterScoped.snapshot()).toEqual([]);
    expect(cluster.activeWatches(podResource, allNamespaces)).toBe(0);
  });
});
