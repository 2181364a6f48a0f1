import { ideKindLabel } from "../domain/ide.ts";
import type { KubePod } from "../domain/pod.ts";
import type { MemoryCluster } from "../kube/memory-cluster.ts";
import { podResource } from "../kube/resources.ts";
import { DaskActor } from "./dask-actor.ts";
import { KubeflowActor } from "./kubeflow-actor.ts";
import { complete, crash, pendingPod, run, schedule, terminate } from "./pod-fixtures.ts";

export const demoProjects = ["team-a", "team-b", "data-science"] as const;
export const demoUsers = ["alice", "bob", "carol", "dan"] as const;

interface Workload {
  prefix: string;
  containers: string[];
  labels: (user: string) => Record<string, string>;
}

/** IDE pods of all three kinds, under kubesub's labels and JupyterHub's. */
const ideWorkloads: Workload[] = [
  { prefix: "jupyter", containers: ["notebook"], labels: () => ({ [ideKindLabel]: "jupyterlab" }) },
  { prefix: "rstudio", containers: ["rstudio"], labels: () => ({ [ideKindLabel]: "rstudio" }) },
  { prefix: "vscode", containers: ["code-server"], labels: () => ({ [ideKindLabel]: "vscode" }) },
  // JupyterHub's KubeSpawner pods.
  { prefix: "hub", containers: ["notebook"], labels: (user) => ({ component: "singleuser-server", "hub.jupyter.org/username": user }) },
];

/** A plain batch pod, no IDE: it runs to completion and is cleaned up. */
const jobWorkload: Workload = { prefix: "etl", containers: ["job", "sidecar"], labels: () => ({ app: "etl" }) };

type Stage = "pending" | "scheduled" | "running" | "restarted" | "crashlooping" | "completed" | "terminating";

interface Tracked {
  namespace: string;
  user: string;
  name: string;
  workload: Workload;
  stage: Stage;
  /** Pods with a crashy fate go to CrashLoopBackOff; the others' containers just exit and restart. */
  crashy: boolean;
}

export interface DemoScenarioOptions {
  cluster: MemoryCluster;
  userLabel: string;
  /** Most IDE pods a user holds in a project at once. Default 3; the seed gives each user 2. */
  idePodsPerUser?: number;
  /** Random source in [0, 1); inject a seeded one for reproducible tests. Default Math.random. */
  random?: () => number;
}

/**
 * The demo cluster's story: every user has IDE pods in every project that move through their
 * lifecycle on their own: created, Pending, ContainerCreating, Running, a container restarting,
 * CrashLoopBackOff, Terminating, deleted, and replaced by new ones; batch pods run to Completed
 * and go away. data-science also has Kubeflow Notebooks of all three kinds, a Dask cluster whose
 * autoscaler moves its worker count, and a DaskJob that runs to completion, again and again.
 *
 * Each step moves one IDE pod of every user in every project (so a subscription to any project,
 * for any demo user, sees a pod and an IDE change every step), sometimes a batch pod of theirs, a
 * Notebook, and the Dask cluster's workers (which a user filter leaves in, so every user's
 * daskEvents change every step too).
 */
export class DemoScenario {
  private readonly options: DemoScenarioOptions;
  private readonly random: () => number;
  private readonly tracked: Tracked[] = [];
  private timer: NodeJS.Timeout | undefined;
  private serial = 0;
  private readonly kubeflow: KubeflowActor;
  private readonly dask: DaskActor;

  constructor(options: DemoScenarioOptions) {
    this.options = options;
    this.random = options.random ?? Math.random;
    this.kubeflow = new KubeflowActor(options.cluster, "data-science", options.userLabel);
    this.dask = new DaskActor(options.cluster, "data-science", options.userLabel);
  }

  /**
   * Fills every project with running IDE pods, two per user, of every workload between them, so
   * that the first subscription has something to show.
   */
  seed(): void {
    this.kubeflow.seed();
    this.dask.seed();
    for (const namespace of demoProjects) {
      for (const [i, user] of demoUsers.entries()) {
        for (const workload of [ideWorkloads[(2 * i) % ideWorkloads.length], ideWorkloads[(2 * i + 1) % ideWorkloads.length]]) {
          const pod = this.create(namespace, user, workload as Workload);
          this.advance(pod);
          this.advance(pod);
        }
      }
    }
  }

  start(intervalMs: number): void {
    this.timer ??= setInterval(() => this.step(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round of changes: an IDE pod of every user in every project, and more. */
  step(): void {
    this.kubeflow.step(this.random);
    this.dask.step(this.random);
    for (const namespace of demoProjects) {
      for (const user of demoUsers) {
        this.moveIde(namespace, user);
        if (this.random() < 0.3) this.moveJob(namespace, user);
      }
    }
  }

  /** A visible change to one of the user's IDE pods in the project: a new one, or a step of one. */
  private moveIde(namespace: string, user: string): void {
    const mine = this.tracked.filter((t) => t.namespace === namespace && t.user === user && t.workload !== jobWorkload);
    const moves: { weight: number; move: () => void }[] = mine.map((pod) => ({
      // Pods rest in Running longer than in the stages on the way in and out.
      weight: pod.stage === "running" ? 0.4 : 2,
      move: () => this.advance(pod),
    }));
    if (mine.length < (this.options.idePodsPerUser ?? 3)) {
      moves.push({ weight: mine.length === 0 ? 100 : 1, move: () => this.create(namespace, user, this.missingIdeWorkload(namespace)) });
    }
    pickWeighted(moves, this.random())?.move();
  }

  /** The user's batch pod in the project: created, scheduled, run, completed, deleted. */
  private moveJob(namespace: string, user: string): void {
    const job = this.tracked.find((t) => t.namespace === namespace && t.user === user && t.workload === jobWorkload);
    if (job) this.advance(job);
    else this.create(namespace, user, jobWorkload);
  }

  /** A workload no live pod of the project runs, so that every kind stays on show; else any. */
  private missingIdeWorkload(namespace: string): Workload {
    const live = new Set(this.tracked.filter((t) => t.namespace === namespace && t.stage !== "terminating").map((t) => t.workload));
    const missing = ideWorkloads.filter((w) => !live.has(w));
    const from = missing.length > 0 ? missing : ideWorkloads;
    return from[Math.floor(this.random() * from.length)] as Workload;
  }

  private create(namespace: string, user: string, workload: Workload): Tracked {
    this.serial += 1;
    const name = `${workload.prefix}-${user}-${this.serial.toString(36).padStart(4, "0")}`;
    this.options.cluster.create(
      podResource,
      pendingPod({
        namespace,
        name,
        user,
        userLabel: this.options.userLabel,
        labels: workload.labels(user),
        containers: workload.containers,
      }),
    );
    const tracked: Tracked = { namespace, user, name, workload, stage: "pending", crashy: this.random() < 0.3 };
    this.tracked.push(tracked);
    return tracked;
  }

  /** Moves a pod one stage on; every move changes what its Pod (and IDE) shows. */
  private advance(pod: Tracked): void {
    const { cluster } = this.options;
    const update = (mutate: (p: KubePod) => void) => cluster.update<KubePod>(podResource, pod.namespace, pod.name, mutate);
    const now = new Date();
    const stop = () => {
      update((p) => terminate(p, now));
      pod.stage = "terminating";
    };
    switch (pod.stage) {
      case "pending":
        update((p) => schedule(p, `node-${1 + Math.floor(this.random() * 3)}`));
        pod.stage = "scheduled";
        return;
      case "scheduled":
        update((p) => run(p, now));
        pod.stage = "running";
        return;
      case "running":
        if (pod.workload === jobWorkload) {
          update((p) => complete(p, now));
          pod.stage = "completed";
        } else if (this.random() < 0.5) {
          update((p) => crash(p, pod.crashy ? "CrashLoopBackOff" : undefined));
          pod.stage = pod.crashy ? "crashlooping" : "restarted";
        } else {
          stop();
        }
        return;
      case "restarted":
        // The kubelet restarted the container; now and then the user gives up on the pod instead.
        if (this.random() < 0.8) {
          update((p) => run(p, now));
          pod.stage = "running";
        } else {
          stop();
        }
        return;
      case "crashlooping": {
        const roll = this.random();
        if (roll < 0.35) {
          update((p) => crash(p, "CrashLoopBackOff")); // crashed again: one more restart
        } else if (roll < 0.7) {
          update((p) => run(p, now));
          pod.stage = "running";
        } else {
          stop();
        }
        return;
      }
      case "completed":
        stop();
        return;
      case "terminating":
        cluster.delete(podResource, pod.namespace, pod.name);
        this.tracked.splice(this.tracked.indexOf(pod), 1);
        return;
    }
  }
}

/** The entry a roll in [0, 1) lands on, each entry taking its weight's share. */
function pickWeighted<T extends { weight: number }>(entries: T[], roll: number): T | undefined {
  let left = roll * entries.reduce((sum, entry) => sum + entry.weight, 0);
  for (const entry of entries) {
    left -= entry.weight;
    if (left < 0) return entry;
  }
  return entries.at(-1);
}
