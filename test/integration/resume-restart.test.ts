// Resuming on a process that was not running when the client's stream started: the only replica
// restarted, and every replica restarted in turn. A stream that ends with SHUTTING_DOWN carries its
// views' position then, with a digest of each resource's objects in the project; a process whose
// cache holds the same objects vouches that nothing changed, however it started, and one whose
// cache differs sends a fresh snapshot rather than guess.
import { createClient } from "graphql-sse";
import { afterEach, describe, expect, it } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import { type RunningKubesub, startKubesub } from "../helpers/kubesub-server.ts";
import { podFixture } from "../helpers/pods.ts";
import { Inbox } from "../helpers/streams.ts";

const document = /* GraphQL */ `
  subscription Pods($project: String!, $after: String) {
    podEvents(project: $project, after: $after) {
      __typename
      ... on PodAdded { cursor pod { name phase } }
      ... on PodUpdated { cursor pod { name phase } }
      ... on PodDeleted { cursor pod { name } }
      ... on InitialStateComplete { count resumed cursor }
      ... on StreamError { code cursor }
    }
  }
`;

interface PodEvent {
  __typename: string;
  cursor: string;
  count?: number;
  resumed?: boolean;
  code?: string;
  pod?: { name: string; phase?: string };
}

const cluster = new MemoryCluster();
const replicas: RunningKubesub[] = [];
const disposers: (() => void)[] = [];

afterEach(async () => {
  for (const dispose of disposers.splice(0)) dispose();
  await Promise.all(replicas.splice(0).map((replica) => replica.close()));
});

async function replica(): Promise<RunningKubesub> {
  // As deployed: in cluster scope every informer runs from the start.
  const started = await startKubesub((type, namespace) => cluster.source(type, namespace), { lazyInformers: false });
  replicas.push(started);
  return started;
}

async function stop(running: RunningKubesub): Promise<void> {
  replicas.splice(replicas.indexOf(running), 1);
  await running.close();
}

/** What the cluster holds, by project, pod name -> phase: what every client's state must end equal to. */
const truth: Record<string, Record<string, string>> = {};

function createPod(project: string, name: string, phase: string): void {
  cluster.create(podResource, { ...podFixture(project, name), status: { phase } });
  truth[project] = { ...truth[project], [name]: phase.toUpperCase() };
}

function setPhase(project: string, name: string, phase: string): void {
  cluster.update<KubePod>(podResource, project, name, (pod) => {
    pod.status = { ...pod.status, phase };
  });
  truth[project] = { ...truth[project], [name]: phase.toUpperCase() };
}

function deletePod(project: string, name: string): void {
  cluster.delete(podResource, project, name);
  const { [name]: _gone, ...rest } = truth[project] ?? {};
  truth[project] = rest;
}

/**
 * A client of one project's pods that follows its stream from replica to replica: it keeps the
 * pods it was sent and the last cursor, and counts the snapshots (resumed: false) it got.
 */
class Follower {
  readonly project: string;
  state: Record<string, string> = {};
  /** What a subscription sent before its InitialStateComplete: a snapshot, or the changes missed. */
  private opening: PodEvent[] | undefined;
  cursor: string | undefined;
  snapshots = 0;
  resumes = 0;
  events = new Inbox<PodEvent>();

  constructor(project: string) {
    this.project = project;
  }

  /** Subscribes on a replica, after the last cursor if any; resolves with its InitialStateComplete. */
  async follow(on: RunningKubesub): Promise<PodEvent> {
    const events = new Inbox<PodEvent>((e) => `${e.__typename} ${e.pod?.name ?? e.code ?? e.resumed}`);
    this.events = events;
    this.opening = [];
    const client = createClient({ url: `${on.origin}/graphql/stream`, retryAttempts: 0 });
    const dispose = client.subscribe<{ podEvents: PodEvent }>(
      { query: document, variables: { project: this.project, after: this.cursor ?? null } },
      {
        next: ({ data }) => {
          if (!data) return;
          this.handle(data.podEvents);
          events.push(data.podEvents);
        },
        error: (error) => events.end(error),
        complete: () => events.end(),
      },
    );
    disposers.push(() => {
      dispose();
      client.dispose();
    });
    return (await events.take({ until: (e) => e.__typename === "InitialStateComplete" })).at(-1) as PodEvent;
  }

  private handle(event: PodEvent): void {
    this.cursor = event.cursor;
    if (event.__typename === "InitialStateComplete") {
      if (event.resumed) this.resumes += 1;
      else {
        this.snapshots += 1;
        this.state = {};
      }
      for (const missed of this.opening ?? []) this.apply(missed);
      this.opening = undefined;
    } else if (this.opening) this.opening.push(event);
    else this.apply(event);
  }

  private apply(event: PodEvent): void {
    const name = event.pod?.name ?? "";
    if (event.__typename === "PodAdded" || event.__typename === "PodUpdated") this.state[name] = event.pod?.phase ?? "";
    if (event.__typename === "PodDeleted") delete this.state[name];
  }

  /** Waits for the stream to end with SHUTTING_DOWN (its replica going). */
  async shutDown(): Promise<void> {
    const [ended] = await this.events.take({ until: (e) => e.__typename === "StreamError" }).then((e) => e.slice(-1));
    expect(ended?.code).toBe("SHUTTING_DOWN");
  }

  /** Waits until its state shows a pod's phase (or its absence). */
  async shows(name: string, phase: string | undefined): Promise<void> {
    await this.events.take({ until: () => this.state[name] === phase?.toUpperCase() });
  }
}

describe("resuming on a process that started after the stream did", () => {
  it("the only replica restarts: a quiet project's stream resumes with nothing to send (resumed: true)", async () => {
    createPod("quiet", "lab-1", "Running");
    createPod("quiet", "lab-2", "Pending");
    createPod("busy", "etl-1", "Pending");
    const client = new Follower("quiet");
    let first = await replica();
    expect(await client.follow(first)).toMatchObject({ resumed: false, count: 2 });
    setPhase("quiet", "lab-2", "Running");
    await client.shows("lab-2", "Running");

    await stop(first);
    await client.shutDown();
    // While no kubesub runs, other projects change: the new process lists at a later revision.
    setPhase("busy", "etl-1", "Running");
    createPod("busy", "etl-2", "Pending");
    first = await replica();

    expect(await client.follow(first)).toMatchObject({ resumed: true, count: 0 });
    expect(client.state).toEqual(truth.quiet);
    setPhase("quiet", "lab-1", "Succeeded");
    await client.shows("lab-1", "Succeeded");
  });

  it("the only replica restarts and the project changed meanwhile: a fresh snapshot, never a guess", async () => {
    createPod("changed", "lab-1", "Running");
    createPod("changed", "lab-2", "Running");
    const client = new Follower("changed");
    let first = await replica();
    await client.follow(first);
    await stop(first);
    await client.shutDown();
    // A deletion leaves nothing behind in a list: only the digest tells the new process.
    deletePod("changed", "lab-2");
    first = await replica();

    expect(await client.follow(first)).toMatchObject({ resumed: false, count: 1 });
    expect(client.state).toEqual(truth.changed);
  });

  it("a replica whose history covers the cursor sends exactly what was missed, even an object created and deleted meanwhile", async () => {
    createPod("transient", "lab-1", "Running");
    const [a, b] = [await replica(), await replica()];
    // B serves the project already: its view's history covers the client's cursor.
    const other = new Follower("transient");
    await other.follow(b);
    const client = new Follower("transient");
    await client.follow(a);
    await stop(a);
    await client.shutDown();
    // Its net effect is nothing (the digest matches again), but the history has it change by change.
    createPod("transient", "short-lived", "Pending");
    deletePod("transient", "short-lived");
    await other.shows("short-lived", undefined);

    expect(await client.follow(b)).toMatchObject({ resumed: true, count: 2 });
    expect(client.events.items.map((e) => `${e.__typename} ${e.pod?.name ?? ""}`)).toEqual([
      "PodAdded short-lived",
      "PodDeleted short-lived",
      "InitialStateComplete ",
    ]);
    expect(client.state).toEqual(truth.transient);
  });

  it("a rolling restart of three replicas: every stream resumes without a snapshot and ends equal to the cluster", async () => {
    const projects = ["roll-a", "roll-b", "roll-c"];
    for (const project of projects) {
      for (const name of ["p-1", "p-2", "p-3"]) createPod(project, name, "Pending");
    }
    let serving = [await replica(), await replica(), await replica()];
    // Two clients of every project on each replica: each replica holds every project's view.
    const clients = serving.flatMap((running) =>
      projects.flatMap((project) => [new Follower(project), new Follower(project)].map((client) => ({ client, running }))),
    );
    for (const { client, running } of clients) await client.follow(running);

    let moves = 0;
    for (const index of [0, 1, 2]) {
      const going = serving[index] as RunningKubesub;
      // A change while every replica serves: each client gets its project's live.
      for (const project of projects) setPhase(project, `p-${index + 1}`, "Running");
      for (const { client } of clients) await client.shows(`p-${index + 1}`, "Running");

      const moving = clients.filter(({ running }) => running === going);
      await stop(going);
      for (const { client } of moving) await client.shutDown();
      // A change while they are away, on replicas that hold the project's view and its history.
      createPod("roll-a", `away-${index}`, "Running");
      const restarted = await replica();
      serving = serving.map((running) => (running === going ? restarted : running));
      // Each moves to a replica still running (not the one just started), as a proxy would spread them.
      const others = serving.filter((running) => running !== restarted);
      for (const [i, moved] of moving.entries()) {
        moved.running = others[i % others.length] as RunningKubesub;
        expect(await moved.client.follow(moved.running)).toMatchObject({ resumed: true });
        moves += 1;
      }
    }

    createPod("roll-b", "p-4", "Running");
    for (const { client } of clients) {
      if (client.project === "roll-b") await client.shows("p-4", "Running");
      expect(client.state).toEqual(truth[client.project]);
      expect(client.snapshots).toBe(1);
    }
    expect(clients.reduce((sum, { client }) => sum + client.resumes, 0)).toBe(moves);
    expect(moves).toBeGreaterThanOrEqual(3 * 2 * projects.length);
  });
});
