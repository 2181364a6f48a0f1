// kubesub lists pods in the apiserver's protobuf encoding and decodes only what it caches
// (src/domain/pod-protobuf.ts). These tests hold that to the JSON a real apiserver serves: for
// realistic pods in every state, slimPod makes the same of the decoded pod as of its JSON.
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePod } from "../../src/domain/pod-protobuf.ts";
import { slimPod } from "../../src/domain/slim.ts";
import { KubeApiError } from "../../src/kube/errors.ts";
import { kubeApiSources } from "../../src/kube/kube-api-source.ts";
import { type ListPage, listAll } from "../../src/kube/list-watch-source.ts";
import { podResource } from "../../src/kube/resources.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { controlPlane, type TestNamespace } from "../helpers/control-plane.ts";
import { kubeConfigFor } from "../helpers/control-plane-kube.ts";
import { type RealisticPodState, realisticJupyterLabPod, realisticPodStates } from "../helpers/realistic-objects.ts";

const cp = controlPlane();
let ns: TestNamespace;
const finalizer = "kubesub.io/test-keeps-it-terminating";

const states = realisticPodStates;

/** Creates the fixture's pod as a client would (no server-set fields), then writes its status as a kubelet would. */
async function createRealisticPod(state: RealisticPodState, index: number): Promise<void> {
  const pod = realisticJupyterLabPod({ namespace: ns.name, state, index, user: `user-${index}` }) as V1Pod;
  const { managedFields, uid, resourceVersion, creationTimestamp, deletionTimestamp, deletionGracePeriodSeconds, ...metadata } =
    pod.metadata ?? {};
  const status = pod.status;
  const spec = { ...pod.spec, priorityClassName: undefined, priority: undefined } as V1Pod["spec"];
  if (state === "terminating") metadata.finalizers = [finalizer];
  const core = cp.core();
  const created = await core.createNamespacedPod({ namespace: ns.name, body: { ...pod, metadata, spec, status: undefined } });
  await core.replaceNamespacedPodStatus({ name: metadata.name ?? "", namespace: ns.name, body: { ...created, status } });
  // Terminating: its deletion has started, and the finalizer holds it there.
  if (state === "terminating") await core.deleteNamespacedPod({ name: metadata.name ?? "", namespace: ns.name });
}

const byName = (a: KubeObject, b: KubeObject) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "");

beforeAll(async () => {
  ns = await cp.createNamespace("protobuf");
  for (const [index, state] of states.entries()) await createRealisticPod(state, index + 1);
});

afterAll(async () => {
  const core = cp.core();
  const pods = await core.listNamespacedPod({ namespace: ns.name });
  for (const pod of pods.items.filter((p) => p.metadata?.finalizers?.includes(finalizer))) {
    await core.patchNamespacedPod({
      name: pod.metadata?.name ?? "",
      namespace: ns.name,
      body: [{ op: "remove", path: "/metadata/finalizers" }],
    });
  }
  await ns.delete();
});

describe("pods listed in protobuf", () => {
  it("slimPod makes of each decoded pod what it makes of the pod's JSON, in every state, over several pages", async () => {
    const sources = kubeApiSources(kubeConfigFor(cp.info), { pageSize: 4 });
    const signal = new AbortController().signal;
    const json = await listAll(sources(podResource, ns.name), signal);
    const pages: ListPage<KubeObject>[] = [];
    for await (const page of sources(podResource, ns.name, { protobufDecoder: decodePod }).list(signal)) pages.push(page);

    expect(pages.length).toBe(Math.ceil(states.length / 4));
    const decoded = pages.flatMap((page) => page.items);
    expect(decoded).toHaveLength(states.length);
    expect(json.items).toHaveLength(states.length);
    // Both lists are consistent reads: the same resourceVersion on every page, at or after the JSON's.
    expect(new Set(pages.map((page) => page.resourceVersion)).size).toBe(1);
    expect(BigInt(pages[0]?.resourceVersion ?? "0")).toBeGreaterThanOrEqual(BigInt(json.resourceVersion));

    const slimJson = json.items.sort(byName).map((pod) => slimPod(pod));
    const slimDecoded = decoded.sort(byName).map((pod) => slimPod(pod));
    expect(slimDecoded).toEqual(slimJson);
    // What the states exercise is really there: a terminating pod, an OOMKilled exit code, waiting messages.
    expect(slimDecoded.some((pod) => pod.metadata?.deletionTimestamp)).toBe(true);
    expect(slimDecoded.flatMap((pod) => pod.status?.containerStatuses ?? []).some((c) => c.state?.terminated?.exitCode === 137)).toBe(true);
    expect(slimDecoded.flatMap((pod) => pod.status?.containerStatuses ?? []).some((c) => c.state?.waiting?.message)).toBe(true);
    // And what says why a pod is not ready: the scheduler's message, a waiting container's image and last termination.
    expect(slimDecoded.some((pod) => pod.status?.conditions?.some((c) => c.type === "PodScheduled" && c.message))).toBe(true);
    const waiting = slimDecoded.flatMap((pod) => pod.status?.containerStatuses ?? []).filter((c) => c.state?.waiting);
    expect(waiting.some((c) => c.image)).toBe(true);
    expect(waiting.some((c) => c.lastState?.terminated?.message && c.lastState.terminated.exitCode === 1)).toBe(true);
  });

  it.skipIf(!cp.isLocal)("a refused LIST is a KubeApiError with the apiserver's status, decoded from protobuf", async () => {
    const carol = kubeApiSources(kubeConfigFor(cp.info, "carol"));
    const listing = listAll(carol(podResource, ns.name, { protobufDecoder: decodePod }), new AbortController().signal);
    const error = await listing.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ statusCode: 403, reason: "Forbidden" });
    expect((error as Error).message).toMatch(/^list pods in protobuf-.*: pods is forbidden: User "carol" cannot list resource "pods"/);
  });
});
