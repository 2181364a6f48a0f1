import type { KubePod } from "../domain/pod.ts";

export interface DemoPodSpec {
  namespace: string;
  name: string;
  user: string;
  userLabel: string;
  /** Extra labels, such as the IDE kind. */
  labels?: Record<string, string>;
  containers: string[];
}

/** A pod as the apiserver stores it right after creation: Pending, not yet scheduled. */
export function pendingPod(spec: DemoPodSpec): KubePod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      labels: { [spec.userLabel]: spec.user, ...spec.labels },
    },
    spec: { containers: spec.containers.map((name) => ({ name, image: `example.org/${name}:1` })) } as KubePod["spec"],
    status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False" }] },
  };
}

type Status = NonNullable<KubePod["status"]>;
type ContainerStatuses = NonNullable<Status["containerStatuses"]>;

function containerNames(pod: KubePod): string[] {
  return ((pod.spec as { containers?: { name: string }[] } | undefined)?.containers ?? []).map((c) => c.name);
}

export function schedule(pod: KubePod, node: string): void {
  pod.spec = { ...pod.spec, nodeName: node };
  pod.status = {
    phase: "Pending",
    conditions: [
      { type: "PodScheduled", status: "True" },
      { type: "Ready", status: "False" },
    ],
    containerStatuses: containerNames(pod).map((name) => ({
      name,
      ready: false,
      restartCount: 0,
      state: { waiting: { reason: "ContainerCreating" } },
    })),
  };
}

export function run(pod: KubePod, now: Date): void {
  const previous = pod.status?.containerStatuses ?? [];
  pod.status = {
    ...pod.status,
    phase: "Running",
    podIP: pod.status?.podIP ?? `10.42.0.${1 + Math.floor(Math.random() * 250)}`,
    startTime: pod.status?.startTime ?? now.toISOString(),
    conditions: [
      { type: "PodScheduled", status: "True" },
      { type: "Ready", status: "True" },
    ],
    containerStatuses: containerNames(pod).map((name) => ({
      name,
      ready: true,
      started: true,
      restartCount: previous.find((c) => c.name === name)?.restartCount ?? 0,
      state: { running: { startedAt: now.toISOString() } },
    })),
  };
}

/** The first container exits and is restarted; waiting says whether the kubelet is backing off. */
export function crash(pod: KubePod, waiting: "CrashLoopBackOff" | undefined): void {
  const statuses: ContainerStatuses = (pod.status?.containerStatuses ?? []).map((c, i) =>
    i === 0
      ? {
          ...c,
          ready: false,
          restartCount: (c.restartCount ?? 0) + 1,
          state: waiting
            ? { waiting: { reason: waiting, message: `back-off restarting failed container ${c.name}` } }
            : { terminated: { reason: "Error", exitCode: 1 } },
        }
      : c,
  );
  pod.status = {
    ...pod.status,
    conditions: [
      { type: "PodScheduled", status: "True" },
      { type: "Ready", status: "False" },
    ],
    containerStatuses: statuses,
  };
}

export function terminate(pod: KubePod, now: Date): void {
  pod.metadata = { ...pod.metadata, deletionTimestamp: now.toISOString() };
}

/** Every container exited 0: the pod Succeeded, which kubectl shows as Completed. */
export function complete(pod: KubePod, now: Date): void {
  pod.status = {
    ...pod.status,
    phase: "Succeeded",
    conditions: [
      { type: "PodScheduled", status: "True" },
      { type: "Ready", status: "False" },
    ],
    containerStatuses: (pod.status?.containerStatuses ?? []).map((c) => ({
      ...c,
      ready: false,
      started: false,
      state: { terminated: { reason: "Completed", exitCode: 0, finishedAt: now.toISOString() } },
    })),
  };
}
