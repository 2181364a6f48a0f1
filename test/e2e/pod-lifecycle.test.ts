// A pod's whole life, written through the Kubernetes API, as two subscribers see it over real
// graphql-sse connections: one on the whole project, one filtered to alice's pods.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { controlPlane, type TestNamespace } from "../helpers/control-plane.ts";
import type { RunningKubesub } from "../helpers/kubesub-server.ts";
import { userLabel } from "../helpers/settings.ts";
import {
  crashLoopStatus,
  createPod,
  deletePod,
  imagePullStatus,
  isComplete,
  PodEventStream,
  patchPodStatus,
  runningStatus,
  rv,
  setLabel,
  startKubesubOn,
  summaries,
} from "./support.ts";

const cp = controlPlane();
let ns: TestNamespace;
let kubesub: RunningKubesub | undefined;
const streams: PodEventStream[] = [];

beforeEach(async () => {
  ns = await cp.createNamespace("lifecycle");
  kubesub = await startKubesubOn(cp);
});

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  await kubesub?.close();
  await ns.delete();
});

function subscribe(variables: Record<string, unknown>, singleConnection = false): PodEventStream {
  const stream = new PodEventStream(kubesub?.origin ?? "", variables, { singleConnection });
  streams.push(stream);
  return stream;
}

describe("pod lifecycle against a real apiserver", () => {
  it("each change arrives once, in order, as the right union member, in both a project and a user stream", async () => {
    const core = cp.core();
    await createPod(core, ns.name, "bystander", "bob");
    const all = subscribe({ project: ns.name });
    const alice = subscribe({ project: ns.name, user: "alice" }, true);
    expect(summaries(await all.take({ until: isComplete }))).toEqual(["PodAdded:bystander:INITIAL_STATE", "InitialStateComplete:1"]);
    expect(summaries(await alice.take({ until: isComplete }))).toEqual(["InitialStateComplete:0"]);

    // Each write returns the pod's new resourceVersion; the event for it must carry the same one.
    const written = [
      rv(await createPod(core, ns.name, "web-1", "alice")),
      rv(await patchPodStatus(core, ns.name, "web-1", runningStatus(0))),
      rv(await patchPodStatus(core, ns.name, "web-1", runningStatus(1))),
      rv(await patchPodStatus(core, ns.name, "web-1", crashLoopStatus(1))),
      rv(await setLabel(core, ns.name, "web-1", userLabel, "bob")),
      rv(await setLabel(core, ns.name, "web-1", userLabel, "alice")),
      rv(await deletePod(core, ns.name, "web-1")),
    ];
    // A last pod after the delete: it must be the very next event, so nothing was sent twice or late.
    const sentinel = rv(await createPod(core, ns.name, "sentinel", "alice"));

    // Even with grace 0 the apiserver deletes a pod in two writes: deletionTimestamp first (the pod
    // shows as Terminating), then the removal, whose resourceVersion the DELETE call returns.
    const allEvents = await all.take({ count: 9 });
    expect(summaries(allEvents)).toEqual([
      "PodAdded:web-1:CLUSTER_CHANGE",
      "PodUpdated:web-1",
      "PodUpdated:web-1",
      "PodUpdated:web-1",
      "PodUpdated:web-1",
      "PodUpdated:web-1",
      "PodUpdated:web-1",
      "PodDeleted:web-1:CLUSTER_CHANGE",
      "PodAdded:sentinel:CLUSTER_CHANGE",
    ]);
    const terminating = allEvents[6]?.resourceVersion ?? "";
    expect(Number(terminating)).toBeGreaterThan(Number(written[5]));
    expect(Number(terminating)).toBeLessThan(Number(written[6]));
    const expectedVersions = [...written.slice(0, 6), terminating, written[6], sentinel];
    expect(allEvents.map((e) => e.resourceVersion)).toEqual(expectedVersions);

    const [added, running, restarted, crashing, toBob, backToAlice, deleting] = allEvents;
    expect(added?.pod).toMatchObject({ phase: "PENDING", status: "Pending", ready: false, restarts: 0, user: "alice" });
    expect(running?.pod).toMatchObject({ phase: "RUNNING", status: "Running", ready: true, restarts: 0 });
    expect(running?.previous).toMatchObject({ phase: "PENDING" });
    expect(running?.changedFields).toEqual(expect.arrayContaining(["phase", "status", "ready", "containers"]));
    expect(restarted?.pod).toMatchObject({ status: "Running", ready: true, restarts: 1 });
    expect(restarted?.changedFields).toEqual(expect.arrayContaining(["restarts", "containers"]));
    expect(restarted?.changedFields).not.toContain("phase");
    expect(crashing?.pod).toMatchObject({ phase: "RUNNING", status: "CrashLoopBackOff", ready: false, restarts: 1 });
    expect(crashing?.changedFields).toEqual(expect.arrayContaining(["status", "ready", "reason", "message", "containers"]));
    expect(added?.pod).toMatchObject({ reason: null, message: null }); // nothing yet: no scheduler has seen it
    expect(running?.pod).toMatchObject({ reason: null, message: null });
    expect(crashing?.pod).toMatchObject({
      reason: "CrashLoopBackOff",
      message: 'Container "main" keeps exiting: its last run ended with exit code 1 (Error); restarted 1 time, waiting to be started again',
    });
    expect(toBob?.pod?.user).toBe("bob");
    expect(toBob?.changedFields).toEqual(expect.arrayContaining(["labels", "user"]));
    expect(backToAlice?.pod?.user).toBe("alice");
    expect(deleting?.pod).toMatchObject({ status: "Terminating", user: "alice" });
    expect(deleting?.changedFields).toEqual(expect.arrayContaining(["status", "deletionTimestamp"]));

    const aliceEvents = await alice.take({ count: 9 });
    expect(summaries(aliceEvents)).toEqual([
      "PodAdded:web-1:CLUSTER_CHANGE",
      "PodUpdated:web-1",
      "PodUpdated:web-1",
      "PodUpdated:web-1",
      "PodDeleted:web-1:FILTER_CHANGE",
      "PodAdded:web-1:FILTER_CHANGE",
      "PodUpdated:web-1",
      "PodDeleted:web-1:CLUSTER_CHANGE",
      "PodAdded:sentinel:CLUSTER_CHANGE",
    ]);
    expect(aliceEvents.map((e) => e.resourceVersion)).toEqual(expectedVersions);
    expect(aliceEvents[5]?.pod).toMatchObject({ status: "CrashLoopBackOff", restarts: 1, user: "alice" });

    expect([...all.untaken, ...alice.untaken]).toEqual([]);
  });

  // No kubelet runs here: the test writes, through the status subresource, what a kubelet writes
  // for an image that does not exist, and kubesub serves it from the apiserver's protobuf list and
  // JSON watch alike.
  it("a pod whose image does not exist: ErrImagePull, then ImagePullBackOff, with the image", async () => {
    const core = cp.core();
    const image = "registry.example.org/team-a/does-not-exist:404";
    await createPod(core, ns.name, "lab-1", "alice");
    await patchPodStatus(core, ns.name, "lab-1", imagePullStatus("ErrImagePull", image));
    const stream = subscribe({ project: ns.name });
    const [added] = await stream.take({ until: isComplete });
    expect(added?.pod).toMatchObject({
      status: "ErrImagePull",
      reason: "ErrImagePull",
      message: `Cannot pull image "${image}" for container "main": failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`,
    });

    await patchPodStatus(core, ns.name, "lab-1", imagePullStatus("ImagePullBackOff", image));
    const [backOff] = await stream.take({ count: 1 });
    expect(backOff?.changedFields).toEqual(expect.arrayContaining(["status", "reason", "message"]));
    expect(backOff?.pod).toMatchObject({
      reason: "ImagePullBackOff",
      message: `Cannot pull image "${image}" for container "main": Back-off pulling image "${image}"`,
    });
    expect(backOff?.previous?.reason).toBe("ErrImagePull");
  });
});
