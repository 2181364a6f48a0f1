// One watch per (resource, namespace), whatever the number of subscribers, counted where it
// matters: on the apiserver, from its own metrics.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { controlPlane, type TestNamespace } from "../helpers/control-plane.ts";
import type { RunningKubesub } from "../helpers/kubesub-server.ts";
import { createPod, isComplete, PodEventStream, rv, startKubesubOn, summaries } from "./support.ts";

const cp = controlPlane();
const subscribers = 50;
let ns: TestNamespace;
let kubesub: RunningKubesub | undefined;
const streams: PodEventStream[] = [];

beforeEach(async () => {
  ns = await cp.createNamespace("sharing");
});

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  await kubesub?.close();
  kubesub = undefined;
  await ns.delete();
});

describe("watch sharing", () => {
  it(`${subscribers} concurrent subscriptions to one namespace hold exactly one pods watch on the apiserver, closed after they leave`, async () => {
    await createPod(cp.core(), ns.name, "seed", "alice");
    // Namespace-scoped pod watches open before kubesub starts (none on the local control plane; on
    // an existing cluster, other clients' watches in other namespaces).
    const baseline = await cp.openWatches({ resource: "pods" });
    kubesub = await startKubesubOn(cp, { informerLingerMs: 200, watchScope: "namespace" });
    const origin = kubesub.origin;

    // Half over distinct connections (/graphql), half over graphql-sse's single connection mode.
    for (let i = 0; i < subscribers; i++) streams.push(new PodEventStream(origin, { project: ns.name }, { singleConnection: i % 2 === 1 }));
    const initial = await Promise.all(streams.map((s) => s.take({ until: isComplete, timeoutMs: 30_000 })));
    for (const events of initial) expect(summaries(events)).toEqual(["PodAdded:seed:INITIAL_STATE", "InitialStateComplete:1"]);

    await vi.waitFor(async () => expect(await cp.openWatches({ resource: "pods" })).toBe(baseline + 1), { timeout: 10_000, interval: 100 });
    const [entry, ...others] = kubesub.app.registry.snapshot();
    // Beside it, the one cluster-wide informer of namespaces (a project's deletion is told from it).
    expect(others.map((other) => other.key)).toEqual(["namespaces/*"]);
    // (How many references the informer holds is kubesub's business: one per stream, or one per
    // shared view of it. What counts is one informer and one watch.)
    expect(entry?.key).toBe(`pods/${ns.name}`);
    expect(entry?.informer.status).toMatchObject({ relists: 0, watchRestarts: 0 });

    // All fifty see a change through the one watch.
    const created = rv(await createPod(cp.core(), ns.name, "shared", "bob"));
    const next = await Promise.all(streams.map((s) => s.take({ count: 1, timeoutMs: 15_000 })));
    expect(next.map((events) => `${summaries(events)[0]}@${events[0]?.resourceVersion}`)).toEqual(
      Array(subscribers).fill(`PodAdded:shared:CLUSTER_CHANGE@${created}`),
    );
    expect(await cp.openWatches({ resource: "pods" })).toBe(baseline + 1);

    // Everyone leaves: the references drop to zero, the informer lingers 200 ms, then its watch closes.
    for (const stream of streams.splice(0)) stream.close();
    await vi.waitFor(() => expect(kubesub?.app.registry.snapshot()).toEqual([]), { timeout: 10_000, interval: 50 });
    await vi.waitFor(async () => expect(await cp.openWatches({ resource: "pods" })).toBe(baseline), { timeout: 10_000, interval: 100 });
  });
});
