// Why a pod, an IDE or a Dask cluster is not ready (src/domain/not-ready-reason.ts): every reason
// kubesub recognises, from pods shaped as the kubelet and the scheduler leave them, through the
// slim cache as kubesub holds them, and the precedence between them.
import { describe, expect, it } from "vitest";
import { toDaskCluster } from "../../src/domain/dask.ts";
import { type IDE, toIde } from "../../src/domain/ide.ts";
import { podNotReadyReason } from "../../src/domain/not-ready-reason.ts";
import { type KubeContainerStatus, type KubePod, toPod } from "../../src/domain/pod.ts";
import { slimNotebook, slimPod } from "../../src/domain/slim.ts";
import {
  daskClusterObject,
  daskPod,
  joined,
  notebookObject,
  notebookPod,
  type PodState,
  podObject,
  rows,
} from "../helpers/ide-dask-fixtures.ts";
import { podFixture } from "../helpers/pods.ts";
import { type RealisticPodState, realisticJupyterLabPod, unschedulableMessage } from "../helpers/realistic-objects.ts";
import { userLabel } from "../helpers/settings.ts";

const notebookImage = "quay.io/jupyter/scipy-notebook:2024-05-27";

/** The reason and message of the pod's model, as kubesub serves it from its slim cache. */
const served = (raw: KubePod) => {
  const { reason, message } = toPod(slimPod(raw), userLabel);
  return { reason, message };
};

/** A fixture pod in a state, its main container's status then changed by change. */
function fixture(state: PodState, change: (c: KubeContainerStatus, pod: KubePod) => void = () => {}, restarts = 3): KubePod {
  const pod = podObject({ name: "lab-0", state, restarts });
  const container = pod.status?.containerStatuses?.[0];
  if (container) {
    container.image = "example.org/lab:1";
    change(container, pod);
  }
  return pod;
}

interface Row {
  name: string;
  pod: KubePod;
  reason: string | null;
  /** The message, or a pattern it matches. */
  message: string | RegExp | null;
}

const realistic = (state: RealisticPodState) => realisticJupyterLabPod({ state, name: "jupyter-alice-1" });

describe("podNotReadyReason: each reason kubesub recognises", () => {
  it.each(
    rows<Row>([
      {
        name: "pending on no node: Unschedulable, with the scheduler's message",
        pod: realistic("pending"),
        reason: "Unschedulable",
        message: `Waiting for a node: ${unschedulableMessage}`,
      },
      {
        name: "its init container running: PodInitializing",
        pod: realistic("init"),
        reason: "PodInitializing",
        message: 'Init container "block-cloud-metadata" is running',
      },
      {
        name: "its containers being created: ContainerCreating",
        pod: realistic("creating"),
        reason: "ContainerCreating",
        message: 'Creating container "notebook"',
      },
      {
        name: "running, not ready yet: ContainersNotReady",
        pod: realistic("running"),
        reason: "ContainersNotReady",
        message: 'Containers "notebook", "oauth2-proxy" running but not ready yet',
      },
      { name: "ready: nothing to say", pod: realistic("ready"), reason: null, message: null },
      {
        name: "CrashLoopBackOff, with the last exit code and termination message",
        pod: realistic("crashloop"),
        reason: "CrashLoopBackOff",
        message:
          /^Container "notebook" keeps exiting: its last run ended with exit code 1 \(Error\): Traceback .*ModuleNotFoundError: No module named 'jupyterlab'; restarted 4 times, waiting to be started again$/s,
      },
      {
        name: "ImagePullBackOff, with the image",
        pod: realistic("imagepull"),
        reason: "ImagePullBackOff",
        message: `Cannot pull image "${notebookImage}" for container "notebook": Back-off pulling image "${notebookImage}"`,
      },
      {
        name: "OOMKilled",
        pod: realistic("oomkilled"),
        reason: "OOMKilled",
        message: 'Container "notebook" was killed for using more memory than its limit (exit code 137)',
      },
      { name: "succeeded: nothing to say", pod: realistic("succeeded"), reason: null, message: null },
      {
        name: "failed: Error, with the exit code",
        pod: realistic("failed"),
        reason: "Error",
        message: 'Container "notebook" exited with code 1 (Error)',
      },
      { name: "being deleted: nothing to say (its status is Terminating)", pod: realistic("terminating"), reason: null, message: null },
      {
        name: "ErrImagePull, with the image and the runtime's message",
        pod: fixture({ stuck: "ErrImagePull" }, (c) => {
          c.state = {
            waiting: { reason: "ErrImagePull", message: 'failed to pull and unpack image "example.org/lab:1": not found' },
          };
        }),
        reason: "ErrImagePull",
        message:
          'Cannot pull image "example.org/lab:1" for container "main": failed to pull and unpack image "example.org/lab:1": not found',
      },
      {
        name: "InvalidImageName",
        pod: fixture({ stuck: "InvalidImageName" }),
        reason: "InvalidImageName",
        message: 'Cannot pull image "example.org/lab:1" for container "main": InvalidImageName (test)',
      },
      {
        name: "CreateContainerConfigError, with the kubelet's message",
        pod: fixture({ stuck: "CreateContainerConfigError" }, (c) => {
          c.state = { waiting: { reason: "CreateContainerConfigError", message: 'secret "jupyter-token" not found' } };
        }),
        reason: "CreateContainerConfigError",
        message: 'Container "main" cannot start (CreateContainerConfigError): secret "jupyter-token" not found',
      },
      {
        name: "CreateContainerError",
        pod: fixture({ stuck: "CreateContainerError" }),
        reason: "CreateContainerError",
        message: 'Container "main" cannot start (CreateContainerError): CreateContainerError (test)',
      },
      {
        name: "RunContainerError",
        pod: fixture({ stuck: "RunContainerError" }),
        reason: "RunContainerError",
        message: 'Container "main" cannot start (RunContainerError): RunContainerError (test)',
      },
      {
        name: "a CrashLoopBackOff whose last run was OOMKilled: OOMKilled, its cause",
        pod: fixture({ stuck: "CrashLoopBackOff" }, (c) => {
          c.lastState = { terminated: { exitCode: 137, reason: "OOMKilled" } };
        }),
        reason: "OOMKilled",
        message:
          'Container "main" was killed for using more memory than its limit (exit code 137), restarted 3 times, waiting to be started again',
      },
      {
        name: "Evicted: the pod's own reason and message",
        pod: fixture("failed", (_c, pod) => {
          pod.status = { ...pod.status, reason: "Evicted", message: "The node was low on resource: memory. Container main was using 9Gi." };
        }),
        reason: "Evicted",
        message: "The node was low on resource: memory. Container main was using 9Gi.",
      },
      {
        name: "SchedulingGated",
        pod: {
          ...podObject({ name: "lab-0" }),
          status: {
            phase: "Pending",
            conditions: [
              {
                type: "PodScheduled",
                status: "False",
                reason: "SchedulingGated",
                message: "Scheduling is blocked due to non-empty scheduling gates",
              },
            ],
          },
        },
        reason: "SchedulingGated",
        message: "Waiting for a node: Scheduling is blocked due to non-empty scheduling gates",
      },
      {
        name: "a reason kubesub does not know: as the kubelet says it",
        pod: fixture({ stuck: "ContainerStatusUnknown" }),
        reason: "ContainerStatusUnknown",
        message: 'Container "main" is waiting (ContainerStatusUnknown): ContainerStatusUnknown (test)',
      },
      { name: "just created, not seen by the scheduler: nothing to say", pod: podFixture("team-a", "new"), reason: null, message: null },
    ]),
  )("%s", (_name, { pod, reason, message }) => {
    const got = served(pod);
    expect(got.reason).toBe(reason);
    if (message instanceof RegExp) expect(got.message).toMatch(message);
    else expect(got.message).toBe(message);
    // The slim cache keeps all it needs: the same as from the full pod.
    expect(podNotReadyReason(pod)).toEqual(got);
  });
});

describe("podNotReadyReason: precedence", () => {
  const twoContainers = (
    main: KubeContainerStatus["state"],
    sidecar: KubeContainerStatus["state"],
    lastState?: KubeContainerStatus["lastState"],
  ) => {
    const pod = podObject({ name: "lab-0", state: "running" });
    pod.status = {
      ...pod.status,
      containerStatuses: [
        { name: "main", image: "example.org/lab:1", ready: false, restartCount: 2, state: main, lastState },
        { name: "sidecar", image: "example.org/proxy:1", ready: false, restartCount: 0, state: sidecar },
      ],
    };
    return pod;
  };
  it.each(
    rows<{ name: string; pod: KubePod; reason: string }>([
      {
        name: "a crash beats an image that cannot be pulled, whichever container comes first",
        pod: twoContainers({ waiting: { reason: "ImagePullBackOff" } }, { waiting: { reason: "CrashLoopBackOff" } }),
        reason: "CrashLoopBackOff",
      },
      {
        name: "an image that cannot be pulled beats a container being created",
        pod: twoContainers({ waiting: { reason: "ContainerCreating" } }, { waiting: { reason: "ErrImagePull" } }),
        reason: "ErrImagePull",
      },
      {
        name: "a container that cannot start beats one running but not ready",
        pod: twoContainers({ running: {} }, { waiting: { reason: "CreateContainerConfigError" } }),
        reason: "CreateContainerConfigError",
      },
      {
        name: "between equals, the first container",
        pod: twoContainers({ waiting: { reason: "ErrImagePull" } }, { waiting: { reason: "ImagePullBackOff" } }),
        reason: "ErrImagePull",
      },
      {
        name: "OOMKilled as the last run beats another container's CrashLoopBackOff",
        pod: twoContainers(
          { waiting: { reason: "CrashLoopBackOff" } },
          { waiting: { reason: "CrashLoopBackOff" } },
          { terminated: { exitCode: 137, reason: "OOMKilled" } },
        ),
        reason: "OOMKilled",
      },
    ]),
  )("%s", (_name, { pod, reason }) => {
    expect(served(pod).reason).toBe(reason);
  });

  it("a stuck init container beats the main container waiting for it", () => {
    const pod = podObject({ name: "lab-0", state: "scheduled" });
    pod.status = {
      ...pod.status,
      initContainerStatuses: [
        {
          name: "fetch",
          ready: false,
          restartCount: 5,
          state: { waiting: { reason: "CrashLoopBackOff" } },
          lastState: { terminated: { exitCode: 2 } },
        },
      ],
      containerStatuses: [{ name: "main", ready: false, restartCount: 0, state: { waiting: { reason: "PodInitializing" } } }],
    };
    expect(served(pod)).toEqual({
      reason: "CrashLoopBackOff",
      message: 'Init container "fetch" keeps exiting: its last run ended with exit code 2; restarted 5 times, waiting to be started again',
    });
  });
});

describe("an IDE's reason", () => {
  const labelled = (...pods: KubePod[]) => toIde("KUBESUB_LABELS/lab", "team-a", pods.map(joined), undefined, userLabel) as IDE;
  const ideLabels = { "kubesub.io/ide": "jupyterlab", "kubesub.io/ide-name": "lab" };

  it("is its pod's; the scheduler's message for one waiting for a node", () => {
    const ide = labelled(realisticJupyterLabPod({ state: "pending", name: "lab" }));
    expect(ide).toMatchObject({ status: "PENDING", reason: "Unschedulable", message: `Waiting for a node: ${unschedulableMessage}` });
  });

  it("is the most telling of its pods', introduced by the pod's name", () => {
    const ide = labelled(
      podObject({ name: "lab-0", state: "creating", labels: ideLabels }),
      podObject({ name: "lab-1", state: { stuck: "ImagePullBackOff" }, labels: ideLabels }),
    );
    expect(ide).toMatchObject({
      status: "FAILED",
      reason: "ImagePullBackOff",
      message: 'Pod lab-1: Cannot pull the image for container "main": ImagePullBackOff (test)',
    });
  });

  it("is nothing when it is READY, though another pod crashes", () => {
    const ide = labelled(
      podObject({ name: "lab-0", state: "ready", labels: ideLabels }),
      podObject({ name: "lab-1", state: { stuck: "CrashLoopBackOff" }, labels: ideLabels }),
    );
    expect(ide).toMatchObject({ status: "READY", reason: null, message: null });
  });

  it("of a Kubeflow Notebook without a pod that says why: what the notebook-controller copied into the Notebook's status", () => {
    const notebook = notebookObject({ name: "nb", user: "alice" }) as KubePod;
    notebook.status = {
      conditions: [{ type: "Ready", status: "False", reason: "ContainersNotReady", message: "containers with unready status: [nb]" }],
      containerState: { waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "example.org/nb:2"' } },
    } as KubePod["status"];
    const ide = (pods: KubePod[]) => toIde("KUBEFLOW_NOTEBOOK/nb", "team-a", pods.map(joined), slimNotebook(notebook), userLabel) as IDE;
    expect(ide([])).toMatchObject({ status: "PENDING", reason: "ImagePullBackOff", message: 'Back-off pulling image "example.org/nb:2"' });
    // Its pod, when it says why, is fresher.
    expect(ide([notebookPod("nb", { state: "unscheduled" })])).toMatchObject({ reason: "Unschedulable", message: "Waiting for a node" });
    // Only conditions left: the first that is not True.
    delete (notebook.status as { containerState?: unknown }).containerState;
    expect(ide([])).toMatchObject({ reason: "ContainersNotReady", message: "containers with unready status: [nb]" });
  });

  it("is nothing when it is STOPPED", () => {
    const notebook = notebookObject({ name: "nb", stopped: true });
    const ide = toIde(
      "KUBEFLOW_NOTEBOOK/nb",
      "team-a",
      [joined(notebookPod("nb", { state: { stuck: "CrashLoopBackOff" } }))],
      notebook,
      userLabel,
    );
    expect(ide).toMatchObject({ status: "STOPPED", reason: null, message: null });
  });
});

describe("a Dask cluster's reason", () => {
  const cluster = (phase: string, ...pods: KubePod[]) =>
    toDaskCluster(daskClusterObject({ name: "analysis", phase, replicas: 2 }), pods.map(joined), userLabel);
  const scheduler = (state: PodState) => daskPod({ name: "analysis-scheduler", cluster: "analysis", component: "scheduler", state });
  const worker = (name: string, state: PodState) =>
    daskPod({ name, cluster: "analysis", component: "worker", workerGroup: "analysis-default", state });

  it("is nothing when its scheduler and workers are ready", () => {
    expect(cluster("Running", scheduler("ready"), worker("w-1", "ready"))).toMatchObject({ reason: null, message: null });
  });

  it("is the most telling of its pods', introduced by the pod", () => {
    expect(cluster("Running", scheduler("ready"), worker("w-1", "ready"), worker("w-2", "unscheduled"))).toMatchObject({
      reason: "Unschedulable",
      message: "Worker pod w-2: Waiting for a node",
    });
    expect(cluster("Pending", scheduler("creating"), worker("w-1", { stuck: "CrashLoopBackOff" }))).toMatchObject({
      reason: "CrashLoopBackOff",
      message: 'Worker pod w-1: Container "main" keeps exiting, restarted 0 times, waiting to be started again',
    });
  });

  it("is its scheduler's between equals", () => {
    expect(cluster("Pending", worker("w-1", "creating"), scheduler("creating"))).toMatchObject({
      reason: "ContainerCreating",
      message: 'Scheduler pod analysis-scheduler: Creating container "main"',
    });
  });

  it("is Error when the operator says so and no pod says more", () => {
    expect(cluster("Error")).toMatchObject({ reason: "Error", message: "The Dask operator set the cluster's phase to Error" });
  });
});
