import { ideKindLabel } from "../domain/ide.ts";
import type { KubePod } from "../domain/pod.ts";
import type { MemoryCluster } from "../kube/memory-cluster.ts";
import { podResource } from "../kube/resources.ts";
import { DaskActor } from "./dask-actor.ts";
import { KubeflowActor } from "./kubeflow-actor.ts";
import { crash, pendingPod, run, schedule, terminate } from "./pod-fixtures.ts";

export const demoProjects = ["team-a", "team-b", "data-science"] as const;
export const demoUsers = ["alice", "bob", "carol", "dan"] as const;

const workloads: { prefix: string; containers: string[]; labels: (user: string) => Record<string, string> }[] = [
  { prefix: "jupyter", containers: ["notebook"], labels: () => ({ [ideKindLabel]: "jupyterlab" }) },
  { prefix: "rstudio", containers: ["rstudio"], labels: () => ({ [ideKindLabel]: "rstudio" }) },
  { prefix: "vscode", containers: ["code-server"], labels: () => ({ [ideKindLabel]: "vscode" }) },
  // JupyterHub's KubeSpawner pods.
  { prefix: "hub", containers: ["notebook"], labels: (user) => ({ component: "singleuser-server", "hub.jupyter.org/username": user }) },
  { prefix: "etl", containers: ["job", "sidecar"], labels: () => ({ app: "etl" }) },
];

type Stage = "pending" | "scheduled" | "running" | "restarted" | "crashlooping" | "terminating";

interface Tracked {
  namespace: string;
  name: string;
  stage: Stage;
  /** Pods with a crashy fate go to CrashLoopBackOff; the others restart once at most. */
  crashy: boolean;
}

export interface DemoScenarioOptions {
  cluster: MemoryCluster;
  userLabel: string;
  /** Pods kept alive per project. Default 4. */
  podsPerProject?: number;
  /** Random source in [0, 1); inject a seeded one for reproducible tests. Default Math.random. */
  random?: () => number;
}

/**
 * The demo cluster's story: a few projects, each with users' IDE and job pods that move through
 * their lifecycle on their own: created, Pending, ContainerCreating, Running, a container
 * restarting, CrashLoopBackOff, Terminating, deleted, and replaced by new ones. data-science also
 * has Kubeflow Notebooks of all three kinds, a Dask cluster whose autoscaler moves its worker
 * count, and a DaskJob that runs to completion, again and again.
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

  /** Fills every project with running pods, so the first subscription has something to show. */
  seed(): void {
    this.kubeflow.seed();
    this.dask.seed();
    const perProject = this.options.podsPerProject ?? 4;
    for (const namespace of demoProjects) {
      for (let i = 0; i < perProject; i += 1) {
        const pod = this.create(namespace);
        this.advance(pod);
        this.advance(pod);
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

  /** One change somewhere in the cluster. */
  step(): void {
    const actor = this.random();
    if (actor < 0.2) {
      this.kubeflow.step(this.random);
      return;
    }
    if (actor < 0.4) {
      this.dask.step(this.random);
      return;
    }
    const perProject = this.options.podsPerProject ?? 4;
    const short = demoProjects.find((ns) => this.tracked.filter((t) => t.namespace === ns).length < perProject);
    if (short && this.random() < 0.5) {
      this.create(short);
      return;
    }
    const pod = this.tracked[Math.floor(this.random() * this.tracked.length)];
    if (pod) this.advance(pod);
  }

  private create(namespace: string): Tracked {
    const workload = workloads[Math.floor(this.random() * workloads.length)];
    const user = demoUsers[Math.floor(this.random() * demoUsers.length)];
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
    const tracked: Tracked = { namespace, name, stage: "pending", crashy: this.random() < 0.3 };
    this.tracked.push(tracked);
    return tracked;
  }

  private advance(pod: Tracked): void {
    const { cluster } = this.options;
    const update = (mutate: (p: KubePod) => void) => cluster.update<KubePod>(podResource, pod.namespace, pod.name, mutate);
    const now = new Date();
    switch (pod.stage) {
      case "pending":
        update((p) => schedule(p, `node-${1 + Math.floor(this.random() * 3)}`));
        pod.stage = "scheduled";
        return;
      case "scheduled":
        update((p) => run(p, now));
        pod.stage = "running";
        return;
      case "running": {
        const roll = this.random();
        if (roll < 0.4) {
          update((p) => crash(p, pod.crashy ? "CrashLoopBackOff" : undefined));
          pod.stage = pod.crashy ? "crashlooping" : "restarted";
        } else if (roll < 0.6) {
          update((p) => terminate(p, now));
          pod.stage = "terminating";
        }
        return;
      }
      case "restarted":
      case "crashlooping":
        if (this.random() < 0.5) {
          update((p) => run(p, now));
          pod.stage = "running";
        } else {
          update((p) => terminate(p, now));
          pod.stage = "terminating";
        }
        return;
      case "terminating":
        cluster.delete(podResource, pod.namespace, pod.name);
        this.tracked.splice(this.tracked.indexOf(pod), 1);
        return;
    }
  }
}
