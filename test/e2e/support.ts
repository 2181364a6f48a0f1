// Shared parts of the e2e scenarios: kubesub on the control plane, a recording GraphQL-over-SSE
// subscriber, and pod writes through the Kubernetes API.
import type { CoreV1Api, V1Pod, V1PodStatus } from "@kubernetes/client-node";
import { type Client, createClient, type ExecutionResult } from "graphql-sse";
import { type KubeApiSourceOptions, kubeApiSources } from "../../src/kube/kube-api-source.ts";
import type { KubesubOverrides } from "../../src/options.ts";
import type { ControlPlane } from "../helpers/control-plane.ts";
import { kubeConfigFor } from "../helpers/control-plane-kube.ts";
import { type RunningKubesub, startKubesub } from "../helpers/kubesub-server.ts";
import { userLabel } from "../helpers/settings.ts";
import { Inbox } from "../helpers/streams.ts";

export const podEventsDocument = /* GraphQL */ `
  subscription Pods($project: String!, $user: String, $selector: LabelSelectorInput) {
    podEvents(project: $project, user: $user, selector: $selector) {
      __typename
      ... on PodAdded { cause resourceVersion pod { name user phase status ready reason message restarts labels { key value } } }
      ... on PodUpdated { changedFields resourceVersion pod { name user phase status ready reason message restarts labels { key value } } previous { phase status reason restarts } }
      ... on PodDeleted { cause resourceVersion pod { name user } }
      ... on InitialStateComplete { count resourceVersion }
      ... on StreamError { code message retryable }
    }
  }
`;

export interface PodView {
  name: string;
  user?: string | null;
  phase?: string;
  status?: string;
  ready?: boolean;
  reason?: string | null;
  message?: string | null;
  restarts?: number;
  labels?: { key: string; value: string }[];
}

export interface PodEvent {
  __typename: string;
  cause?: string;
  count?: number;
  code?: string;
  message?: string;
  changedFields?: string[];
  resourceVersion?: string;
  pod?: PodView;
  previous?: PodView;
}

/** "PodAdded:web-1:CLUSTER_CHANGE", "PodUpdated:web-1", "InitialStateComplete:2", "StreamError:OVERFLOW". */
export const summary = (e: PodEvent) => `${e.__typename}:${e.pod?.name ?? e.count ?? e.code ?? e.message}${e.cause ? `:${e.cause}` : ""}`;
export const summaries = (events: PodEvent[]) => events.map(summary);
export const isComplete = (e: PodEvent) => e.__typename === "InitialStateComplete";

/**
 * kubesub's real server over the control plane's main apiserver, as admin, with its own KubeConfig
 * (its own connection pool, as in production).
 */
export function startKubesubOn(
  cp: ControlPlane,
  overrides: KubesubOverrides = {},
  sourceOptions: KubeApiSourceOptions = {},
): Promise<RunningKubesub> {
  return startKubesub(kubeApiSources(kubeConfigFor(cp.info, "admin", "main"), sourceOptions), overrides);
}

export interface TakeOptions {
  count?: number;
  until?: (event: PodEvent) => boolean;
  /** Default 10 s. */
  timeoutMs?: number;
}

export interface Received {
  event: PodEvent;
  /** performance.now() when the event reached the client. */
  at: number;
}

/**
 * One podEvents subscription through a real graphql-sse client, read continuously in the
 * background so that every event is stamped when it arrives. take() hands out events in order,
 * each once, with a bounded wait.
 */
export class PodEventStream {
  private readonly inbox = new Inbox<Received>((r) => summary(r.event));
  private readonly client: Client;
  private readonly iterator: AsyncIterableIterator<ExecutionResult<{ podEvents: PodEvent }>>;

  /**
   * retryAttempts is 0: if the SSE connection to kubesub breaks, the stream ends and take() throws,
   * so a test that reads on has proved the connection held.
   */
  constructor(
    origin: string,
    variables: Record<string, unknown>,
    options: { singleConnection?: boolean; headers?: Record<string, string> } = {},
  ) {
    const single = options.singleConnection ?? false;
    this.client = createClient({
      url: `${origin}${single ? "/graphql/stream" : "/graphql"}`,
      singleConnection: single,
      retryAttempts: 0,
      headers: options.headers,
    });
    this.iterator = this.client.iterate({ query: podEventsDocument, variables }) as AsyncIterableIterator<
      ExecutionResult<{ podEvents: PodEvent }>
    >;
    void this.pump();
  }

  /** Every event received, taken or not, with its arrival time. */
  get received(): Received[] {
    return this.inbox.items;
  }

  /** Waits for `count` more events, or until `until` accepts one (inclusive); rejects after timeoutMs. */
  async take(options: TakeOptions): Promise<PodEvent[]> {
    return (await this.takeReceived(options)).map((r) => r.event);
  }

  /** take(), with each event's arrival time. */
  takeReceived(options: TakeOptions): Promise<Received[]> {
    const { until } = options;
    return this.inbox.take({
      count: options.count,
      until: until && ((r) => until(r.event)),
      timeoutMs: options.timeoutMs ?? 10_000,
    });
  }

  /** Events received and not yet taken. */
  get untaken(): PodEvent[] {
    return this.inbox.untaken.map((r) => r.event);
  }

  close(): void {
    void this.iterator.return?.();
    this.client.dispose();
  }

  private async pump(): Promise<void> {
    try {
      for await (const result of this.iterator) {
        const event: PodEvent = result.errors
          ? { __typename: "GraphQLErrors", message: result.errors.map((e) => e.message).join("; ") }
          : (result.data?.podEvents ?? { __typename: "Empty" });
        this.inbox.push({ event, at: performance.now() });
      }
      this.inbox.end();
    } catch (error) {
      this.inbox.end(error);
    }
  }
}

/**
 * Applies events as a client keeping a map of pods would: name -> the resourceVersion it was last
 * sent. Throws on any event that contradicts what the client was told before: an add of a pod it
 * has, an update or delete of one it does not have, or a resourceVersion that goes backwards (they
 * are etcd revisions here; clients must not compare them, tests may). A delete found by a relist
 * carries the pod's last known state, so its resourceVersion may equal the one the client has.
 */
export function applyEvents(state: Map<string, string>, events: PodEvent[]): Map<string, string> {
  for (const e of events) {
    const name = e.pod?.name;
    if (!name) continue;
    const known = state.get(name);
    const fail = (why: string) => {
      throw new Error(`${summary(e)} at resourceVersion ${e.resourceVersion}: ${why} (client state ${JSON.stringify([...state])})`);
    };
    if (e.__typename === "PodAdded") {
      if (known !== undefined) fail("added, but the client already has it");
    } else if (known === undefined) {
      fail("the client does not have it");
    } else if (Number(e.resourceVersion) < Number(known) || (e.__typename === "PodUpdated" && e.resourceVersion === known)) {
      fail(`older than the ${known} the client has`);
    }
    if (e.__typename === "PodDeleted") state.delete(name);
    else state.set(name, e.resourceVersion ?? "");
  }
  return state;
}

/** The cluster's truth, in the same shape: pod name -> resourceVersion. */
export async function clusterPods(core: CoreV1Api, namespace: string): Promise<Map<string, string>> {
  const list = await core.listNamespacedPod({ namespace });
  return new Map(list.items.map((p) => [p.metadata?.name ?? "", p.metadata?.resourceVersion ?? ""]));
}

export const rv = (pod: V1Pod) => pod.metadata?.resourceVersion ?? "";

// Pod writes. There is no scheduler or kubelet: a pod stays Pending on no node until a test writes
// its status through the status subresource, and a delete with grace 0 removes it at once.

export function createPod(
  core: CoreV1Api,
  namespace: string,
  name: string,
  user: string | undefined,
  labels: Record<string, string> = {},
): Promise<V1Pod> {
  return core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { ...(user ? { [userLabel]: user } : {}), ...labels } },
      spec: { containers: [{ name: "main", image: "example.org/main:1" }] },
    },
  });
}

/**
 * Sets the given top-level status fields (a JSON patch of "add" operations, which also replace), so
 * that what the apiserver set at creation (qosClass) stays.
 */
export function patchPodStatus(core: CoreV1Api, namespace: string, name: string, status: Partial<V1PodStatus>): Promise<V1Pod> {
  const body = Object.entries(status).map(([field, value]) => ({ op: "add", path: `/status/${field}`, value }));
  return core.patchNamespacedPodStatus({ namespace, name, body });
}

/** Sets (or, with undefined, removes) one label. */
export function setLabel(core: CoreV1Api, namespace: string, name: string, key: string, value: string | undefined): Promise<V1Pod> {
  const path = `/metadata/labels/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
  return core.patchNamespacedPod({ namespace, name, body: [value === undefined ? { op: "remove", path } : { op: "add", path, value }] });
}

export function deletePod(core: CoreV1Api, namespace: string, name: string): Promise<V1Pod> {
  return core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
}

const startedAt = new Date("2026-01-01T00:00:00Z");

/** Running and Ready, one container "main" that has restarted `restarts` times. */
export function runningStatus(restarts: number): Partial<V1PodStatus> {
  return {
    phase: "Running",
    conditions: [{ type: "Ready", status: "True" }],
    containerStatuses: [
      {
        name: "main",
        image: "example.org/main:1",
        imageID: "",
        ready: true,
        started: true,
        restartCount: restarts,
        state: { running: { startedAt } },
      },
    ],
  };
}

/**
 * Pending on a node, container "main" waiting because its image cannot be pulled, with the messages
 * the kubelet writes: ErrImagePull on a failed pull, then ImagePullBackOff between retries.
 */
export function imagePullStatus(reason: "ErrImagePull" | "ImagePullBackOff", image: string): Partial<V1PodStatus> {
  const message =
    reason === "ErrImagePull"
      ? `failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`
      : `Back-off pulling image "${image}"`;
  return {
    phase: "Pending",
    conditions: [
      { type: "PodScheduled", status: "True" },
      { type: "Ready", status: "False", reason: "ContainersNotReady" },
    ],
    containerStatuses: [
      { name: "main", image, imageID: "", ready: false, started: false, restartCount: 0, state: { waiting: { reason, message } } },
    ],
  };
}

/** Still phase Running, container "main" waiting in CrashLoopBackOff after `restarts` restarts. */
export function crashLoopStatus(restarts: number): Partial<V1PodStatus> {
  return {
    phase: "Running",
    conditions: [{ type: "Ready", status: "False" }],
    containerStatuses: [
      {
        name: "main",
        image: "example.org/main:1",
        imageID: "",
        ready: false,
        started: false,
        restartCount: restarts,
        state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 10s restarting failed container" } },
        lastState: { terminated: { exitCode: 1, reason: "Error", startedAt, finishedAt: startedAt } },
      },
    ],
  };
}
