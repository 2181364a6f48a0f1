// deploy/ proven on the real control plane: the manifests are accepted by the apiserver, and
// kubesub run with exactly the identity they create (its ServiceAccount's token from the
// TokenRequest API) serves every subscription, and can do nothing more.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ApiException, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { createClient } from "graphql-sse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeApiSources } from "../../src/kube/kube-api-source.ts";
import { TokenReviewAuthenticator } from "../../src/server/auth/authenticator.ts";
import { SubjectAccessReviewAuthorizer } from "../../src/server/auth/authorizer.ts";
import { controlPlane, type TestNamespace } from "../helpers/control-plane.ts";
import { type RunningKubesub, startKubesub } from "../helpers/kubesub-server.ts";
import { take } from "../helpers/streams.ts";

const run = promisify(execFile);
const cp = controlPlane();
const kubectl = (...args: string[]) =>
  run("kubectl", ["--kubeconfig", cp.info.kubeconfigPath, ...args], { cwd: new URL("../..", import.meta.url).pathname });

/** A KubeConfig that authenticates with a bearer token against the main apiserver. */
function kubeConfigWithToken(token: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromClusterAndUser(
    { name: "main", server: cp.info.apiServers.main, caData: Buffer.from(cp.info.caPem ?? "").toString("base64"), skipTLSVerify: false },
    { name: "kubesub", token },
  );
  return config;
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 0,
    (error: unknown) => (error instanceof ApiException ? error.code : -1),
  );

describe.skipIf(cp.info.external)("deploy/ on the real control plane", () => {
  let namespace: TestNamespace;
  let kubesubToken: string;
  let kubesub: RunningKubesub;

  beforeAll(async () => {
    namespace = await cp.createNamespace("deploy");
    // alice (group team-a) may follow the test namespace, through the viewer role the manifests ship.
    await cp
      .kubeConfig("admin")
      .makeApiClient(RbacAuthorizationV1Api)
      .createNamespacedRoleBinding({
        namespace: namespace.name,
        body: {
          metadata: { name: "team-a-viewers" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "kubesub-viewer" },
          subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "team-a" }],
        },
      });
  });

  afterAll(async () => {
    await kubesub?.close();
    await kubectl("delete", "-k", "deploy/base", "--ignore-not-found", "--wait=false").catch(() => {});
    await cp
      .core("admin")
      .replaceNamespaceFinalize({ name: "kubesub", body: { metadata: { name: "kubesub" }, spec: { finalizers: [] } } })
      .catch(() => {});
    await namespace?.delete();
  });

  it("kubectl apply --dry-run=server -k deploy/base and the ingress-nginx overlay are accepted", async () => {
    // A server-side dry run checks namespaced objects against their namespace, so it must exist.
    await kubectl("apply", "-f", "deploy/base/namespace.yaml");
    for (const dir of ["deploy/base", "deploy/overlays/ingress-nginx"]) {
      const { stdout } = await kubectl("apply", "--dry-run=server", "-k", dir);
      expect(stdout).toContain("deployment.apps/kubesub created (server dry run)");
    }
  });

  it("kubesub with its ServiceAccount's token serves podEvents, ideEvents and daskEvents, and may do nothing more", async () => {
    await kubectl("apply", "-k", "deploy/base");
    const core = cp.core("admin");
    const request = await core.createNamespacedServiceAccountToken({
      name: "kubesub",
      namespace: "kubesub",
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    kubesubToken = request.status?.token ?? "";
    expect(kubesubToken).not.toBe("");
    const identity = kubeConfigWithToken(kubesubToken);

    kubesub = await startKubesub(kubeApiSources(identity), {
      auth: {
        mode: "kubernetes",
        authenticator: new TokenReviewAuthenticator(identity),
        authorizer: new SubjectAccessReviewAuthorizer(identity),
      },
    });
    const client = createClient({
      url: `${kubesub.origin}/graphql`,
      singleConnection: false,
      retryAttempts: 0,
      headers: { Authorization: `Bearer ${cp.info.tokens?.alice}` },
    });
    try {
      for (const query of [
        `subscription { podEvents(project: "${namespace.name}") { __typename ... on ResourceUnavailable { reason message } } }`,
        `subscription { ideEvents(project: "${namespace.name}") { __typename ... on ResourceUnavailable { reason message } } }`,
        `subscription { daskEvents(project: "${namespace.name}") { __typename ... on ResourceUnavailable { reason message } } }`,
      ]) {
        const stream = client.iterate({ query });
        const events = await take(stream, { until: (r) => JSON.stringify(r).includes("InitialStateComplete"), timeoutMs: 15_000 });
        // Every resource readable with kubesub's own RBAC: no ResourceUnavailable before the marker.
        expect(events.map((r) => (r.data as Record<string, { __typename: string }>) && Object.values(r.data ?? {})[0])).toEqual([
          { __typename: "InitialStateComplete" },
        ]);
        await stream.return?.();
      }
    } finally {
      client.dispose();
    }
    // The namespaces it watches to tell a project's streams of its deletion: listed with that RBAC too.
    const namespaces = kubesub.app.registry.snapshot().find((entry) => entry.key === "namespaces/*")?.informer;
    expect(namespaces?.hasSynced).toBe(true);
    expect(namespaces?.status.lastError).toBeUndefined();

    // Nothing more: no writes, no Secrets.
    const asKubesub = identity.makeApiClient(CoreV1Api);
    expect(
      await refusal(
        asKubesub.createNamespacedPod({
          namespace: namespace.name,
          body: { metadata: { name: "x" }, spec: { containers: [{ name: "x", image: "x" }] } },
        }),
      ),
    ).toBe(403);
    expect(await refusal(asKubesub.listNamespacedSecret({ namespace: namespace.name }))).toBe(403);
    expect(await refusal(asKubesub.readNamespacedPod({ name: "any", namespace: namespace.name }))).toBe(403);
    expect(await refusal(asKubesub.deleteCollectionNamespacedPod({ namespace: namespace.name }))).toBe(403);
  });
});
