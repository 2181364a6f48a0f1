import { describe, expect, it } from "vitest";
import { type IDE, ideChangedFields, toIde } from "../../src/domain/ide.ts";
import type { KubePod } from "../../src/domain/pod.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { annotate, joined, notebookObject, notebookPod, podObject, rows, setPodState } from "../helpers/ide-dask-fixtures.ts";
import { userLabel } from "../helpers/settings.ts";

/** An object rewritten by the apiserver: a copy, changed by mutate, under a newer resourceVersion. */
function rewrite<T extends KubeObject>(object: T, mutate: (copy: T) => void = () => {}): T {
  const copy = structuredClone(object);
  mutate(copy);
  copy.metadata = { ...copy.metadata, resourceVersion: String(Number(object.metadata?.resourceVersion ?? "0") + 1) };
  return copy;
}

const labelledIde = (pods: KubePod[]): IDE => toIde("KUBESUB_LABELS/lab", "team-a", pods.map(joined), undefined, userLabel) as IDE;
const notebookIde = (pods: KubePod[], notebook: KubeObject): IDE =>
  toIde("KUBEFLOW_NOTEBOOK/nb", "team-a", pods.map(joined), notebook, userLabel) as IDE;

const group = { "kubesub.io/ide": "jupyterlab", "kubesub.io/ide-name": "lab" };
const server = podObject({ name: "lab-server", user: "alice", labels: group, state: "running", resourceVersion: "10" });
const kernel = podObject({ name: "lab-kernel", user: "alice", labels: group, state: "ready", resourceVersion: "11" });
const notebook = notebookObject({ name: "nb", user: "carol", serverType: "jupyter", resourceVersion: "20" });
const notebookServer = notebookPod("nb", { state: "running", resourceVersion: "15" });

describe("ideChangedFields", () => {
  it.each(
    rows<{ name: string; before: () => IDE; after: () => IDE; changed: string[] }>([
      {
        name: "a pod rewritten with nothing new (resourceVersion only)",
        before: () => labelledIde([server]),
        after: () => labelledIde([rewrite(server)]),
        changed: [],
      },
      {
        name: "a pod's annotations changed",
        before: () => labelledIde([server]),
        after: () => labelledIde([rewrite(server, (p) => annotate(p, { "kubectl.kubernetes.io/restartedAt": "now" }))]),
        changed: [],
      },
      {
        name: "the Notebook rewritten with nothing new",
        before: () => notebookIde([notebookServer], notebook),
        after: () => notebookIde([notebookServer], rewrite(notebook)),
        changed: [],
      },
      {
        name: "an unrelated Notebook annotation changed",
        before: () => notebookIde([notebookServer], notebook),
        after: () =>
          notebookIde(
            [notebookServer],
            rewrite(notebook, (n) => annotate(n, { "notebooks.kubeflow.org/last-activity": "now" })),
          ),
        changed: [],
      },
      {
        name: "its pod became Ready",
        before: () => labelledIde([server]),
        after: () => labelledIde([rewrite(server, (p) => setPodState(p, "ready"))]),
        changed: ["status", "ready", "reason", "message", "pods"],
      },
      {
        name: "its Notebook's pod became Ready",
        before: () => notebookIde([notebookServer], notebook),
        after: () => notebookIde([rewrite(notebookServer, (p) => setPodState(p, "ready"))], notebook),
        changed: ["status", "ready", "reason", "message", "pods"],
      },
      {
        name: "a container restarted",
        before: () => labelledIde([server]),
        after: () => labelledIde([rewrite(server, (p) => setPodState(p, "running", 1))]),
        changed: ["restarts", "pods"],
      },
      {
        name: "a second pod joined the group (status already READY)",
        before: () => labelledIde([kernel]),
        after: () => labelledIde([kernel, podObject({ name: "lab-server", user: "alice", labels: group, resourceVersion: "12" })]),
        changed: ["pods"],
      },
      {
        name: "the Notebook was stopped",
        before: () => notebookIde([rewrite(notebookServer, (p) => setPodState(p, "ready"))], notebook),
        after: () =>
          notebookIde(
            [rewrite(notebookServer, (p) => setPodState(p, "ready"))],
            rewrite(notebook, (n) => annotate(n, { "kubeflow-resource-stopped": "2024-05-01T12:00:00Z" })),
          ),
        changed: ["status", "ready"],
      },
      {
        name: "the Notebook's user label changed",
        before: () => notebookIde([notebookServer], notebook),
        after: () =>
          notebookIde(
            [notebookServer],
            rewrite(notebook, (n) => {
              n.metadata = { ...n.metadata, labels: { [userLabel]: "dan" } };
            }),
          ),
        changed: ["user"],
      },
    ]),
  )("%s", (_name, { before, after, changed }) => {
    const old = before();
    const next = after();
    expect(ideChangedFields(old, next)).toEqual(changed);
    if (changed.length === 0) expect(next.resourceVersion).not.toBe(old.resourceVersion);
  });
});
