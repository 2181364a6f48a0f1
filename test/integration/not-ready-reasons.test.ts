// Why a pod or an IDE is not ready, as a UI gets it: the real server over real HTTP, graphql-sse
// clients, an in-memory cluster in which the tests play the scheduler and the kubelet.
import { type Client, createClient, type ExecutionResult } from "graphql-sse";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import type { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import { podObject, setPodState } from "../helpers/ide-dask-fixtures.ts";
import { type RunningKubesub, startOnMemoryCluster } from "../helpers/kubesub-server.ts";
import { take } from "../helpers/streams.ts";

const project = "team-a";
const schedulerMessage = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found.";

const podEventsDocument = /* GraphQL */ `
  subscription Pods($project: String!) {
    podEvents(project: $project) {
      __typename
      ... on PodAdded { pod { name status reason message } }
      ... on PodUpdated { changedFields pod { name status reason message } previous { reason message } }
      ... on InitialStateComplete { count }
    }
  }
`;

const ideEventsDocument = /* GraphQL */ `
  subscription Ides($project: String!) {
    ideEvents(project: $project) {
      __typename
      ... on IDEAdded { ide { name status reason message } }
      ... on IDEUpdated { changedFields ide { name status reason message } previous { reason } }
      ... on InitialStateComplete { count }
    }
  }
`;

interface Why {
  name: string;
  status: string;
  reason: string | null;
  message: string | null;
}
interface Event {
  __typename: string;
  changedFields?: string[];
  pod?: Why;
  ide?: Why;
  previous?: Partial<Why>;
}
type Result = ExecutionResult<Record<string, Event>>;

let kubesub: RunningKubesub & { cluster: MemoryCluster };
const clients: Client[] = [];

beforeEach(async () => {
  kubesub = await startOnMemoryCluster();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.dispose();
  await kubesub.close();
});

/** The events of a subscription, each as the one field of its data. */
async function* subscribe(query: string): AsyncGenerator<Event> {
  const client = createClient({ url: `${kubesub.origin}/graphql`, retryAttempts: 0 });
  clients.push(client);
  for await (const result of client.iterate({ query, variables: { project } }) as AsyncIterableIterator<Result>) {
    yield Object.values(result.data ?? {})[0] as Event;
  }
}

const untilComplete = { until: (e: Event) => e.__typename === "InitialStateComplete" };

/** A JupyterLab pod under kubesub's labels that the scheduler found no node for. */
function unschedulablePod(): KubePod {
  const pod = podObject({ name: "lab-alice", labels: { "kubesub.io/ide": "jupyterlab" } });
  pod.status = {
    phase: "Pending",
    conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: schedulerMessage }],
  };
  return pod;
}

describe("reason and message", () => {
  it("a pod going into CrashLoopBackOff: PodUpdated names reason and message, with the last exit code and termination message", async () => {
    kubesub.cluster.create(podResource, podObject({ name: "worker-1", state: "running" }));
    const stream = subscribe(podEventsDocument);
    const [added] = await take(stream, untilComplete);
    expect(added?.pod).toMatchObject({
      name: "worker-1",
      reason: "ContainersNotReady",
      message: 'Container "main" running but not ready yet',
    });

    kubesub.cluster.update<KubePod>(podResource, project, "worker-1", (pod) => {
      setPodState(pod, { stuck: "CrashLoopBackOff" }, 3);
      const [main] = pod.status?.containerStatuses ?? [];
      if (main) main.lastState = { terminated: { exitCode: 2, reason: "Error", message: "config.yaml: no such file or directory" } };
    });
    const [updated] = await take(stream, { count: 1 });
    expect(updated?.__typename).toBe("PodUpdated");
    expect(updated?.changedFields).toEqual(expect.arrayContaining(["status", "reason", "message"]));
    expect(updated?.pod).toMatchObject({
      status: "CrashLoopBackOff",
      reason: "CrashLoopBackOff",
      message:
        'Container "main" keeps exiting: its last run ended with exit code 2 (Error): config.yaml: no such file or directory; restarted 3 times, waiting to be started again',
    });
    expect(updated?.previous).toEqual({ reason: "ContainersNotReady", message: 'Container "main" running but not ready yet' });
    await stream.return(undefined);
  });

  it("an IDE stuck Unschedulable says so with the scheduler's message, in ides and ideEvents, and the change once a node takes it", async () => {
    kubesub.cluster.create(podResource, unschedulablePod());
    const stream = subscribe(ideEventsDocument);
    const [added] = await take(stream, untilComplete);
    const stuck = { name: "lab-alice", status: "PENDING", reason: "Unschedulable", message: `Waiting for a node: ${schedulerMessage}` };
    expect(added?.ide).toEqual(stuck);

    const response = await fetch(`${kubesub.origin}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ ides(project: "${project}") { name status reason message } }` }),
    });
    expect(await response.json()).toEqual({ data: { ides: [stuck] } });

    kubesub.cluster.update<KubePod>(podResource, project, "lab-alice", (pod) => setPodState(pod, "creating"));
    const [updated] = await take(stream, { count: 1 });
    expect(updated?.changedFields).toEqual(expect.arrayContaining(["status", "reason", "message"]));
    expect(updated?.ide).toEqual({
      name: "lab-alice",
      status: "STARTING",
      reason: "ContainerCreating",
      message: 'Creating container "main"',
    });
    expect(updated?.previous).toEqual({ reason: "Unschedulable" });
    await stream.return(undefined);
  });
});
