import { describe, expect, it } from "vitest";
import { type IDE, type IDEConvention, ideConventions, ideKeyOfPod, notebookKey, toIde } from "../../src/domain/ide.ts";
import type { KubePod } from "../../src/domain/pod.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { joined, type NotebookSpec, notebookObject, notebookPod, type PodSpec, podObject, rows } from "../helpers/ide-dask-fixtures.ts";
import { userLabel } from "../helpers/settings.ts";

const all = new Set<IDEConvention>(ideConventions);
const without = (...disabled: IDEConvention[]) => new Set(ideConventions.filter((c) => !disabled.includes(c)));

const labelled = (kind: string, spec: Partial<PodSpec> = {}) =>
  podObject({ name: "ide-pod", ...spec, labels: { "kubesub.io/ide": kind, ...spec.labels } });
const hubPod = (spec: Partial<PodSpec> = {}) =>
  podObject({ name: "jupyter-alice", ...spec, labels: { component: "singleuser-server", app: "jupyterhub", ...spec.labels } });

/**
 * The IDE these pods (and notebook) make, the way the IDE view builds it: the key the first pod's
 * convention gives (every pod must agree), or the notebook's key when there is no pod.
 */
function ideOf(pods: KubePod[], notebook?: KubeObject, enabled: ReadonlySet<IDEConvention> = all): IDE | undefined {
  const keys = new Set(pods.map((pod) => ideKeyOfPod(pod, enabled)));
  if (notebook) keys.add(notebookKey(notebook));
  expect(keys.size, "the pods and notebook of one IDE share its key").toBe(1);
  const [key] = keys;
  if (key === undefined) return undefined;
  return toIde(key, "team-a", pods.map(joined), notebook, userLabel);
}

describe("ideKeyOfPod", () => {
  it.each(
    rows<{ name: string; pod: KubePod; enabled?: ReadonlySet<IDEConvention>; key: string | undefined }>([
      { name: "kubesub label, named after the pod", pod: labelled("jupyterlab"), key: "KUBESUB_LABELS/ide-pod" },
      { name: "kubesub label, rstudio", pod: labelled("rstudio"), key: "KUBESUB_LABELS/ide-pod" },
      {
        name: "kubesub label grouped by kubesub.io/ide-name",
        pod: labelled("vscode", { labels: { "kubesub.io/ide-name": "shared" } }),
        key: "KUBESUB_LABELS/shared",
      },
      { name: "kubesub label with a kind kubesub does not know", pod: labelled("emacs"), key: undefined },
      { name: "kubesub label naming an Object.prototype member", pod: labelled("constructor"), key: undefined },
      { name: "Kubeflow: the pod's notebook-name label", pod: notebookPod("nb-carol"), key: "KUBEFLOW_NOTEBOOK/nb-carol" },
      { name: "JupyterHub: component=singleuser-server", pod: hubPod(), key: "JUPYTERHUB/jupyter-alice" },
      { name: "another component", pod: hubPod({ labels: { component: "hub" } }), key: undefined },
      { name: "a pod of no convention", pod: podObject({ name: "etl-1", labels: { app: "etl" } }), key: undefined },
      {
        name: "kubesub labels come first when a pod has several conventions' labels",
        pod: labelled("rstudio", { labels: { "notebook-name": "nb", component: "singleuser-server" } }),
        key: "KUBESUB_LABELS/ide-pod",
      },
      {
        name: "Kubeflow comes before JupyterHub",
        pod: notebookPod("nb", { labels: { component: "singleuser-server" } }),
        key: "KUBEFLOW_NOTEBOOK/nb",
      },
      { name: "disabled kubesub labels", pod: labelled("jupyterlab"), enabled: without("KUBESUB_LABELS"), key: undefined },
      { name: "disabled Kubeflow", pod: notebookPod("nb-carol"), enabled: without("KUBEFLOW_NOTEBOOK"), key: undefined },
      { name: "disabled JupyterHub", pod: hubPod(), enabled: without("JUPYTERHUB"), key: undefined },
      {
        name: "a disabled convention leaves the pod to the next enabled one",
        pod: labelled("rstudio", { labels: { "notebook-name": "nb" } }),
        enabled: without("KUBESUB_LABELS"),
        key: "KUBEFLOW_NOTEBOOK/nb",
      },
    ]),
  )("%s", (_name, { pod, enabled, key }) => {
    expect(ideKeyOfPod(pod, enabled ?? all)).toBe(key);
  });
});

describe("toIde: kubesub labels", () => {
  it.each([
    { label: "jupyterlab", kind: "JUPYTERLAB" },
    { label: "rstudio", kind: "RSTUDIO" },
    { label: "vscode", kind: "VSCODE" },
  ])("kubesub.io/ide=$label is a $kind IDE named after its pod, owned by the pod's user", ({ label, kind }) => {
    const ide = ideOf([labelled(label, { user: "alice", state: "ready", resourceVersion: "17" })]);
    expect(ide).toMatchObject({
      name: "ide-pod",
      project: "team-a",
      kind,
      user: "alice",
      status: "READY",
      ready: true,
      convention: "KUBESUB_LABELS",
      resourceVersion: "17",
    });
    expect(ide?.pods.map((p) => p.name)).toEqual(["ide-pod"]);
  });

  it("groups the pods sharing kubesub.io/ide-name into one IDE: status, restarts, startedAt and resourceVersion over all", () => {
    const group = { "kubesub.io/ide-name": "lab" };
    const ide = ideOf([
      labelled("jupyterlab", { name: "lab-server", user: "bob", labels: group, state: "ready", restarts: 2, resourceVersion: "9" }),
      labelled("jupyterlab", {
        name: "lab-kernel",
        user: "bob",
        labels: group,
        state: { stuck: "CrashLoopBackOff" },
        restarts: 5,
        resourceVersion: "12",
      }),
      labelled("jupyterlab", {
        name: "lab-old",
        user: "bob",
        labels: group,
        state: "ready",
        restarts: 1,
        deleting: true,
        resourceVersion: "10",
      }),
    ]);
    expect(ide).toMatchObject({
      name: "lab",
      kind: "JUPYTERLAB",
      user: "bob",
      status: "READY",
      ready: true,
      restarts: 8,
      resourceVersion: "12",
    });
    expect(ide?.startedAt).toBe("2024-05-01T10:00:00.000Z");
    expect(ide?.pods.map((p) => p.name).sort()).toEqual(["lab-kernel", "lab-old", "lab-server"]);
  });

  it("has no IDE without pods", () => {
    expect(toIde("KUBESUB_LABELS/gone", "team-a", [], undefined, userLabel)).toBeUndefined();
  });

  it("has a null user when the pod carries no user label", () => {
    expect(ideOf([labelled("vscode")])?.user).toBeNull();
  });
});

describe("toIde: Kubeflow Notebook", () => {
  const notebook = (spec: Omit<NotebookSpec, "name"> = {}) => notebookObject({ name: "nb-carol", user: "carol", ...spec });
  const pod = (spec: Omit<PodSpec, "name"> = {}) => notebookPod("nb-carol", spec);

  it.each([
    { serverType: "jupyter", kind: "JUPYTERLAB" },
    { serverType: "group-one", kind: "VSCODE" },
    { serverType: "group-two", kind: "RSTUDIO" },
    { serverType: undefined, kind: "JUPYTERLAB" },
  ])("server-type $serverType is $kind", ({ serverType, kind }) => {
    expect(ideOf([pod({ state: "ready" })], notebook({ serverType }))).toMatchObject({
      name: "nb-carol",
      kind,
      convention: "KUBEFLOW_NOTEBOOK",
      status: "READY",
    });
  });

  it.each([
    ["a server-type kubesub does not know", "group-three"],
    ["a server-type naming an Object.prototype member", "toString"],
  ])("is no IDE with %s", (_name, serverType) => {
    expect(ideOf([pod()], notebook({ serverType }))).toBeUndefined();
  });

  it.each(
    rows<{ name: string; spec: Omit<NotebookSpec, "name">; podUser?: string; user: string | null }>([
      { name: "the Notebook's user label", spec: { user: "carol", creator: "someone@example.org" }, podUser: "mallory", user: "carol" },
      {
        name: "else the creator annotation",
        spec: { user: undefined, creator: "carol@example.org" },
        podUser: "mallory",
        user: "carol@example.org",
      },
      { name: "else nobody (the pod's label does not count)", spec: { user: undefined }, podUser: "mallory", user: null },
    ]),
  )("user: %s", (_name, { spec, podUser, user }) => {
    expect(ideOf([pod({ user: podUser })], notebook(spec))?.user).toBe(user);
  });

  it.each([
    ["with a Ready pod", [pod({ state: "ready" })]],
    ["with its pod being deleted", [pod({ state: "ready", deleting: true })]],
    ["with no pod", []],
  ])("kubeflow-resource-stopped makes it STOPPED %s", (_name, pods) => {
    expect(ideOf(pods, notebook({ stopped: true }))).toMatchObject({ status: "STOPPED", ready: false });
  });

  it("a Notebook without a pod yet is a PENDING IDE", () => {
    expect(ideOf([], notebook())).toMatchObject({ name: "nb-carol", status: "PENDING", pods: [], startedAt: null });
  });

  it("pods without their Notebook are no IDE", () => {
    expect(ideOf([pod({ state: "ready" })])).toBeUndefined();
  });

  it("its resourceVersion is the highest of the Notebook's and its pods'", () => {
    expect(ideOf([pod({ resourceVersion: "99" })], notebook({ resourceVersion: "100" }))?.resourceVersion).toBe("100");
    expect(ideOf([pod({ resourceVersion: "101" })], notebook({ resourceVersion: "100" }))?.resourceVersion).toBe("101");
  });
});

describe("toIde: JupyterHub", () => {
  it.each(
    rows<{ name: string; spec: Partial<PodSpec>; user: string | null }>([
      {
        name: "the hub.jupyter.org/username annotation",
        spec: { annotations: { "hub.jupyter.org/username": "alice" }, labels: { "hub.jupyter.org/username": "alice-label" }, user: "x" },
        user: "alice",
      },
      {
        name: "else the hub.jupyter.org/username label",
        spec: { labels: { "hub.jupyter.org/username": "alice" }, user: "x" },
        user: "alice",
      },
      { name: "else kubesub's user label", spec: { user: "alice" }, user: "alice" },
      { name: "else nobody", spec: {}, user: null },
    ]),
  )("a single-user server is a JUPYTERLAB IDE named after its pod; user from %s", (_name, { spec, user }) => {
    expect(ideOf([hubPod({ state: "creating", ...spec })])).toMatchObject({
      name: "jupyter-alice",
      kind: "JUPYTERLAB",
      convention: "JUPYTERHUB",
      status: "STARTING",
      user,
    });
  });
});

describe("disabled conventions", () => {
  it.each<[IDEConvention, KubePod]>([
    ["KUBESUB_LABELS", labelled("jupyterlab", { state: "ready" })],
    ["JUPYTERHUB", hubPod({ state: "ready" })],
    ["KUBEFLOW_NOTEBOOK", notebookPod("nb-carol", { state: "ready" })],
  ])("a pod of disabled %s is not an IDE", (convention, pod) => {
    expect(ideKeyOfPod(pod, without(convention))).toBeUndefined();
  });
});
