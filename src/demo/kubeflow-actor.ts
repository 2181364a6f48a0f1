import type { KubePod } from "../domain/pod.ts";
import type { MemoryCluster } from "../kube/memory-cluster.ts";
import { notebookResource, podResource } from "../kube/resources.ts";
import type { KubeObject } from "../kube/types.ts";
import { pendingPod, run, schedule } from "./pod-fixtures.ts";

const stoppedAnnotation = "kubeflow-resource-stopped";

/**
 * Kubeflow Notebooks as the notebook-controller runs them: a Notebook, and a pod <name>-0 labelled
 * notebook-name that starts, becomes ready, and goes away when the Notebook is stopped.
 */
export class KubeflowActor {
  private readonly cluster: MemoryCluster;
  private readonly namespace: string;
  private readonly notebooks: { name: string; user: string; serverType: string; stage: "starting" | "scheduled" | "running" | "stopped" }[];
  private readonly userLabel: string;

  constructor(cluster: MemoryCluster, namespace: string, userLabel: string) {
    this.cluster = cluster;
    this.namespace = namespace;
    this.userLabel = userLabel;
    this.notebooks = [
      { name: "nb-carol", user: "carol", serverType: "jupyter", stage: "starting" },
      { name: "code-dan", user: "dan", serverType: "group-one", stage: "starting" },
      { name: "rstudio-alice", user: "alice", serverType: "group-two", stage: "starting" },
    ];
  }

  seed(): void {
    for (const nb of this.notebooks) {
      const notebook: KubeObject = {
        apiVersion: "kubeflow.org/v1",
        kind: "Notebook",
        metadata: {
          name: nb.name,
          namespace: this.namespace,
          labels: { [this.userLabel]: nb.user },
          annotations: { "notebooks.kubeflow.org/server-type": nb.serverType, "notebooks.kubeflow.org/creator": `${nb.user}@example.org` },
        },
      };
      this.cluster.create(notebookResource, notebook);
      this.createPod(nb.name, nb.user);
    }
  }

  /** Moves one notebook a step: schedule, run, stop (pod deleted) or start again. */
  step(random: () => number): void {
    const nb = this.notebooks[Math.floor(random() * this.notebooks.length)];
    if (!nb) return;
    const pod = `${nb.name}-0`;
    switch (nb.stage) {
      case "starting":
        this.cluster.update<KubePod>(podResource, this.namespace, pod, (p) => schedule(p, "node-2"));
        nb.stage = "scheduled";
        return;
      case "scheduled":
        this.cluster.update<KubePod>(podResource, this.namespace, pod, (p) => run(p, new Date()));
        nb.stage = "running";
        return;
      case "running":
        if (random() < 0.3) {
          this.cluster.update(notebookResource, this.namespace, nb.name, (n: KubeObject) => {
            n.metadata = { ...n.metadata, annotations: { ...n.metadata?.annotations, [stoppedAnnotation]: new Date().toISOString() } };
          });
          this.cluster.delete(podResource, this.namespace, pod);
          nb.stage = "stopped";
        }
        return;
      case "stopped":
        this.cluster.update(notebookResource, this.namespace, nb.name, (n: KubeObject) => {
          const { [stoppedAnnotation]: _removed, ...annotations } = n.metadata?.annotations ?? {};
          n.metadata = { ...n.metadata, annotations };
        });
        this.createPod(nb.name, nb.user);
        nb.stage = "starting";
        return;
    }
  }

  private createPod(name: string, user: string): void {
    const pod = pendingPod({
      namespace: this.namespace,
      name: `${name}-0`,
      user,
      userLabel: this.userLabel,
      labels: { "notebook-name": name, statefulset: name },
      containers: [name],
    });
    this.cluster.create(podResource, pod);
  }
}
