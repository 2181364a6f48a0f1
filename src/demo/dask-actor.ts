import { daskLabels } from "../domain/dask.ts";
import type { KubePod } from "../domain/pod.ts";
import type { MemoryCluster } from "../kube/memory-cluster.ts";
import { daskAutoscalerResource, daskClusterResource, daskJobResource, daskWorkerGroupResource, podResource } from "../kube/resources.ts";
import type { KubeObject } from "../kube/types.ts";
import { pendingPod, run, schedule } from "./pod-fixtures.ts";

type DaskObject = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

/** The demo's Dask clusters and their owners: one per demo user. */
export const demoDaskClusters = [
  { name: "analysis", user: "carol" },
  { name: "forecast", user: "alice" },
  { name: "genomics", user: "bob" },
  { name: "reporting", user: "dan" },
] as const;

const maxWorkers = 4;

interface Tracked {
  name: string;
  user: string;
  workers: string[];
}

/**
 * The Dask operator's world in one project: a DaskCluster per demo user, whose DaskAutoscaler
 * moves the worker count (rewriting its cooldown annotation on every step, which clients never
 * see), worker pods that follow, and a DaskJob that runs to completion and is submitted again.
 * Worker groups and autoscalers carry no user label of their own, as the operator makes them.
 */
export class DaskActor {
  private readonly cluster: MemoryCluster;
  private readonly namespace: string;
  private readonly userLabel: string;
  private readonly clusters: Tracked[] = demoDaskClusters.map(({ name, user }) => ({ name, user, workers: [] }));
  private serial = 0;
  private jobRun = 0;
  private jobStage: "none" | "JobCreated" | "ClusterCreated" | "Running" | "Successful" = "none";

  constructor(cluster: MemoryCluster, namespace: string, userLabel: string) {
    this.cluster = cluster;
    this.namespace = namespace;
    this.userLabel = userLabel;
  }

  seed(): void {
    const { namespace } = this;
    for (const dask of this.clusters) {
      const { name } = dask;
      this.cluster.create(daskClusterResource, {
        apiVersion: "kubernetes.dask.org/v1",
        kind: "DaskCluster",
        metadata: { name, namespace, labels: { [this.userLabel]: dask.user } },
        spec: { worker: { replicas: 2 }, scheduler: {} },
        status: { phase: "Running" },
      } as DaskObject);
      this.cluster.create(daskWorkerGroupResource, {
        apiVersion: "kubernetes.dask.org/v1",
        kind: "DaskWorkerGroup",
        metadata: { name: `${name}-default`, namespace, labels: { [daskLabels.cluster]: name } },
        spec: { cluster: name, worker: { replicas: 2 } },
      } as DaskObject);
      this.cluster.create(daskAutoscalerResource, {
        apiVersion: "kubernetes.dask.org/v1",
        kind: "DaskAutoscaler",
        metadata: { name, namespace },
        spec: { cluster: name, minimum: 1, maximum: maxWorkers },
      } as DaskObject);
      this.createPod(dask, `${name}-scheduler`, "scheduler", true);
      for (let i = 0; i < 2; i += 1) this.addWorker(dask, true);
    }
  }

  /**
   * Every cluster changes what its owner sees (a worker becomes ready, or the autoscaler moves the
   * worker count), and now and then the DaskJob moves on.
   */
  step(random: () => number): void {
    for (const dask of this.clusters) {
      this.churnCooldown(dask);
      if (random() < 0.5 && this.readyAWorker(dask)) continue;
      this.scale(dask, random);
    }
    if (random() < 0.5) this.advanceJob();
  }

  /** The autoscaler rewrites this annotation every few seconds; it is not served, so never delivered. */
  private churnCooldown(dask: Tracked): void {
    this.cluster.update(daskAutoscalerResource, this.namespace, dask.name, (a: DaskObject) => {
      a.metadata = { ...a.metadata, annotations: { "kubernetes.dask.org/cooldown-until": new Date(Date.now() + 5_000).toISOString() } };
    });
  }

  /** To a worker count other than the current one, between 1 and maxWorkers. */
  private scale(dask: Tracked, random: () => number): void {
    const current = dask.workers.length;
    const desired = 1 + ((current + Math.floor(random() * (maxWorkers - 1))) % maxWorkers);
    this.cluster.update(daskClusterResource, this.namespace, dask.name, (c: DaskObject) => {
      c.spec = { ...c.spec, worker: { replicas: desired } };
    });
    this.cluster.update(daskWorkerGroupResource, this.namespace, `${dask.name}-default`, (g: DaskObject) => {
      g.spec = { ...g.spec, worker: { replicas: desired } };
    });
    while (dask.workers.length < desired) this.addWorker(dask, false);
    while (dask.workers.length > desired) {
      const worker = dask.workers.pop();
      if (worker) this.cluster.delete(podResource, this.namespace, worker);
    }
  }

  /** Whether a worker was still starting (and now runs). */
  private readyAWorker(dask: Tracked): boolean {
    for (const worker of dask.workers) {
      const pod = this.cluster.get<KubePod>(podResource, this.namespace, worker);
      if (pod && pod.status?.phase !== "Running") {
        this.cluster.update<KubePod>(podResource, this.namespace, worker, (p) => run(p, new Date()));
        return true;
      }
    }
    return false;
  }

  private advanceJob(): void {
    const job = "nightly-etl";
    const runner = `${job}-runner`;
    const now = new Date().toISOString();
    const setStatus = (status: Record<string, unknown>) =>
      this.cluster.update(daskJobResource, this.namespace, job, (j: DaskObject) => {
        j.status = { ...j.status, ...status };
      });
    switch (this.jobStage) {
      case "none":
      case "Successful":
        if (this.jobStage === "Successful") {
          this.cluster.delete(daskJobResource, this.namespace, job);
          this.cluster.delete(podResource, this.namespace, runner);
        }
        this.jobRun += 1;
        this.cluster.create(daskJobResource, {
          apiVersion: "kubernetes.dask.org/v1",
          kind: "DaskJob",
          metadata: { name: job, namespace: this.namespace, labels: { [this.userLabel]: "dan", run: String(this.jobRun) } },
          spec: { job: {}, cluster: {} },
          status: { jobStatus: "JobCreated" },
        } as DaskObject);
        this.jobStage = "JobCreated";
        return;
      case "JobCreated":
        setStatus({ jobStatus: "ClusterCreated", clusterName: job });
        this.jobStage = "ClusterCreated";
        return;
      case "ClusterCreated":
        this.cluster.create(
          podResource,
          pendingPod({
            namespace: this.namespace,
            name: runner,
            user: "dan",
            userLabel: this.userLabel,
            labels: { [daskLabels.cluster]: job, [daskLabels.component]: "job-runner" },
            containers: ["job"],
          }),
        );
        this.cluster.update<KubePod>(podResource, this.namespace, runner, (p) => {
          schedule(p, "node-3");
          run(p, new Date());
        });
        setStatus({ jobStatus: "Running", startTime: now, jobRunnerPodName: runner });
        this.jobStage = "Running";
        return;
      case "Running":
        this.cluster.update<KubePod>(podResource, this.namespace, runner, (p) => {
          p.status = { ...p.status, phase: "Succeeded", conditions: [{ type: "Ready", status: "False" }] };
        });
        setStatus({ jobStatus: "Successful", endTime: now });
        this.jobStage = "Successful";
        return;
    }
  }

  private addWorker(dask: Tracked, ready: boolean): void {
    this.serial += 1;
    const name = `${dask.name}-default-worker-${this.serial.toString(36).padStart(3, "0")}`;
    dask.workers.push(name);
    this.createPod(dask, name, "worker", ready);
  }

  private createPod(dask: Tracked, name: string, component: "scheduler" | "worker", ready: boolean): void {
    const labels: Record<string, string> = { [daskLabels.cluster]: dask.name, [daskLabels.component]: component };
    if (component === "worker") labels[daskLabels.workerGroup] = `${dask.name}-default`;
    this.cluster.create(
      podResource,
      pendingPod({ namespace: this.namespace, name, user: dask.user, userLabel: this.userLabel, labels, containers: [component] }),
    );
    this.cluster.update<KubePod>(podResource, this.namespace, name, (p) => {
      schedule(p, "node-1");
      if (ready) run(p, new Date());
    });
  }
}
