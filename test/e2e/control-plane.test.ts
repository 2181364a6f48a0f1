// The harness itself: users and RBAC, the CRDs, and the process controls the fault tests rely on.
import { ApiException, AuthenticationV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kubeApiSources } from "../../src/kube/kube-api-source.ts";
import { listAll, type WatchEvent } from "../../src/kube/list-watch-source.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { controlPlane, type TestNamespace, type UserName } from "../helpers/control-plane.ts";
import { kubeConfigFor, kubeRequest } from "../helpers/control-plane-kube.ts";

const cp = controlPlane();
let ns: TestNamespace;

beforeEach(async () => {
  ns = await cp.createNamespace("harness");
});

afterEach(async () => {
  await ns.delete();
});

const status = (promise: Promise<unknown>) =>
  promise.then(
    () => 200,
    (error: unknown) => (error instanceof ApiException ? error.code : Promise.reject(error)),
  );

describe("users and RBAC", () => {
  it.skipIf(!cp.isLocal)("the token users authenticate with their groups, and RBAC decides what they may do", async () => {
    const groups = async (user: UserName) => {
      const review = await cp.kubeConfig(user).makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
      return review.status?.userInfo;
    };
    expect(await groups("admin")).toMatchObject({ username: "admin", groups: expect.arrayContaining(["system:masters"]) });
    expect(await groups("alice")).toMatchObject({ username: "alice", groups: expect.arrayContaining(["team-a", "system:authenticated"]) });
    expect(await groups("bob")).toMatchObject({ username: "bob", groups: expect.arrayContaining(["team-b"]) });
    expect((await groups("carol"))?.groups).toEqual(["system:authenticated"]);

    const listPods = (user: UserName) => status(cp.core(user).listNamespacedPod({ namespace: ns.name }));
    expect(await listPods("admin")).toBe(200);
    expect(await listPods("alice")).toBe(403);

    // Group team-a may read pods in this namespace: alice (in team-a) can, bob and carol cannot.
    const rbac = cp.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns.name,
      body: { metadata: { name: "pod-reader" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns.name,
      body: {
        metadata: { name: "team-a-reads-pods" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "team-a" }],
      },
    });
    expect({ alice: await listPods("alice"), bob: await listPods("bob"), carol: await listPods("carol") }).toEqual({
      alice: 200,
      bob: 403,
      carol: 403,
    });

    const stranger = kubeConfigFor(
      { ...cp.info, tokens: { ...(cp.info.tokens as Record<UserName, string>), carol: "not-a-token" } },
      "carol",
    );
    expect((await kubeRequest(stranger, `/api/v1/namespaces/${ns.name}/pods`)).status).toBe(401);
  });
});

describe("custom resources", () => {
  it(`the CRDs are served, and kubesub's list-watch source lists and watches their objects`, async () => {
    const kinds = cp.info.crds.resources.map((r) => `${r.kind}.${r.group}/${r.version}`).sort();
    expect(kinds).toEqual(
      [
        "DaskAutoscaler.kubernetes.dask.org/v1",
        "DaskCluster.kubernetes.dask.org/v1",
        "DaskJob.kubernetes.dask.org/v1",
        "DaskWorkerGroup.kubernetes.dask.org/v1",
        "Notebook.kubeflow.org/v1",
      ].sort(),
    );
    const custom = cp.custom();
    const sources = kubeApiSources(kubeConfigFor(cp.info));
    for (const type of cp.info.crds.resources.filter((r) => r.kind === "DaskCluster" || r.kind === "Notebook")) {
      const create = (name: string) =>
        custom.createNamespacedCustomObject({
          group: type.group,
          version: type.version,
          plural: type.plural,
          namespace: ns.name,
          body: { apiVersion: `${type.group}/${type.version}`, kind: type.kind, metadata: { name }, spec: minimalSpec(type.kind) },
        }) as Promise<KubeObject>;
      await create("first");
      const source = sources(type, ns.name);
      const controller = new AbortController();
      const list = await listAll(source, controller.signal);
      expect(list.items.map((o) => o.metadata?.name)).toEqual(["first"]);

      const events: WatchEvent<KubeObject>[] = [];
      let arrived: () => void = () => {};
      const added = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      const watching = source.watch({
        resourceVersion: list.resourceVersion,
        signal: controller.signal,
        onEvent: (event) => {
          events.push(event);
          if (event.type === "ADDED") arrived();
        },
      });
      const second = await create("second");
      await Promise.race([added, new Promise((_, reject) => setTimeout(() => reject(new Error(`no ADDED for ${type.kind}`)), 10_000))]);
      controller.abort();
      await watching;
      expect(events.filter((e) => e.type !== "BOOKMARK")).toEqual([
        {
          type: "ADDED",
          object: expect.objectContaining({
            metadata: expect.objectContaining({ name: "second", resourceVersion: second.metadata?.resourceVersion }),
          }),
        },
      ]);
    }
  });
});

/** The smallest spec the upstream schemas accept (the fixtures accept anything). */
function minimalSpec(kind: string): unknown {
  const container = { name: "main", image: "example.org/main:1" };
  if (kind === "Notebook") return { template: { spec: { containers: [container] } } };
  return {
    scheduler: { spec: { containers: [container] }, service: { ports: [{ name: "comm", port: 8786 }] } },
    worker: { replicas: 1, spec: { containers: [container] } },
  };
}

describe("process controls", () => {
  it.skipIf(!cp.isLocal)("an apiserver restart keeps its URL, flags and data; compaction removes etcd's older revisions", async () => {
    const core = cp.core("admin", "writer");
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: "before" } } });
    const { pid } = (await cp.restartApiServer("writer")) as { pid: number };
    expect(pid).toBeGreaterThan(0);
    expect((await core.readNamespacedConfigMap({ namespace: ns.name, name: "before" })).metadata?.name).toBe("before");
    expect(await status(cp.core("alice", "writer").listNamespacedPod({ namespace: ns.name }))).toBe(403);

    const revision = await cp.compactEtcd();
    const readAt = async (at: number) => {
      const response = await fetch(`${cp.info.etcdUrl}/v3/kv/range`, {
        method: "POST",
        body: JSON.stringify({ key: "AA==", revision: String(at) }),
      });
      return ((await response.json()) as { message?: string }).message ?? "ok";
    };
    expect(await readAt(revision)).toBe("ok");
    expect(await readAt(revision - 1)).toContain("required revision has been compacted");
  });
});
