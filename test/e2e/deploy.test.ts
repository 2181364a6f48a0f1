// deploy/ proven on the real control plane: the base and the ingress-nginx overlay are accepted by
// the apiserver (server dry run; the gateway-api overlay is built client-side, as this control plane
// has no Gateway API CRDs, and all of it but its HTTPRoutes dry-run on the server), and
// kubesub run with exactly the identity they create (its ServiceAccount's token from the
// TokenRequest API) serves every subscription, and can do nothing more.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ApiException, CoreV1Api, KubeConfig, loadAllYaml, RbacAuthorizationV1Api } from "@kubernetes/client-node";
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

// biome-ignore lint/suspicious/noExplicitAny: manifests as built or returned, checked field by field
type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec: any };

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
      expect(stdout).toContain("horizontalpodautoscaler.autoscaling/kubesub created (server dry run)");
      expect(stdout).toContain("poddisruptionbudget.policy/kubesub created (server dry run)");
    }
    const { stdout } = await kubectl("apply", "--dry-run=server", "-k", "deploy/overlays/ingress-nginx");
    expect(stdout).toContain("service/kubesub-stream created (server dry run)");
    expect(stdout).toContain("ingress.networking.k8s.io/kubesub-stream created (server dry run)");
    expect(stdout).toContain("ingress.networking.k8s.io/kubesub created (server dry run)");
  });

  it("the Deployment as the apiserver keeps it: the key Secret required, preStop sleep within the grace period, spread", async () => {
    await kubectl("apply", "-f", "deploy/base/namespace.yaml");
    // -o json: the objects as the apiserver would store them (unknown fields would have been refused).
    const { stdout } = await kubectl("apply", "--dry-run=server", "-k", "deploy/base", "-o", "json");
    const items = (JSON.parse(stdout) as { items: Manifest[] }).items;
    const deployment = items.find((item) => item.kind === "Deployment") as Manifest;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === "stream-token-key");
    const volume = pod.volumes.find((v: { name: string }) => v.name === "stream-token-key");
    expect(volume.secret.secretName).toBe("kubesub-stream-token-key");
    expect(volume.secret.optional).toBeUndefined();
    expect(env.KUBESUB_STREAM_TOKEN_KEY_FILE).toBe(`${mount.mountPath}/${volume.secret.items[0].path}`);
    // The grace period covers the preStop sleep, kubesub's shutdown timeout and its forced exit 5 s later.
    const preStop = container.lifecycle.preStop.sleep.seconds as number;
    expect(preStop).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStop + Number(env.KUBESUB_SHUTDOWN_TIMEOUT_MS) / 1000 + 5);
    expect(
      pod.topologySpreadConstraints.map((c: { topologyKey: string; whenUnsatisfiable: string }) => [c.topologyKey, c.whenUnsatisfiable]),
    ).toEqual([
      ["topology.kubernetes.io/zone", "ScheduleAnyway"],
      ["kubernetes.io/hostname", "ScheduleAnyway"],
    ]);
    const hpa = items.find((item) => item.kind === "HorizontalPodAutoscaler") as Manifest;
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: "kubesub" });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
  });

  it("the gateway-api overlay: built by kustomize, everything but the HTTPRoutes accepted by the apiserver, the routes pointing at the Service", async () => {
    // This control plane has no Gateway API CRDs, so the HTTPRoutes cannot be dry-run on it: the
    // build is checked client-side (kubectl kustomize) and their references checked here; the
    // rest of the overlay goes through a server dry run.
    await kubectl("apply", "-f", "deploy/base/namespace.yaml");
    const { stdout: built } = await kubectl("kustomize", "deploy/overlays/gateway-api");
    const objects = loadAllYaml(built) as Manifest[];
    const routes = objects.filter((o) => o.kind === "HTTPRoute");
    expect(routes.map((r) => [r.apiVersion, r.metadata.name, r.metadata.namespace])).toEqual([
      ["gateway.networking.k8s.io/v1", "kubesub", "kubesub"],
      ["gateway.networking.k8s.io/v1", "kubesub-stream", "kubesub"],
    ]);
    const services = objects.filter((o) => o.kind === "Service");
    const matches: string[] = [];
    for (const route of routes) {
      for (const rule of route.spec.rules) {
        for (const match of rule.matches) matches.push(`${route.metadata.name} ${match.path.type} ${match.path.value}`);
        for (const ref of rule.backendRefs) {
          const service = services.find((s) => s.metadata.name === ref.name);
          expect(service?.spec.ports.map((p: { port: number }) => p.port)).toContain(ref.port);
        }
        expect(rule.timeouts).toEqual({ request: "0s" });
      }
    }
    expect(matches).toEqual(["kubesub PathPrefix /graphql", "kubesub-stream Exact /graphql/stream"]);

    const rest = objects.filter((o) => o.kind !== "HTTPRoute");
    const dir = await mkdtemp(join(tmpdir(), "kubesub-gateway-"));
    try {
      await writeFile(join(dir, "rest.json"), JSON.stringify({ apiVersion: "v1", kind: "List", items: rest }));
      const { stdout } = await kubectl("apply", "--dry-run=server", "-f", join(dir, "rest.json"));
      expect(stdout).toContain("deployment.apps/kubesub created (server dry run)");
      expect(stdout.trim().split("\n")).toHaveLength(rest.length);
    } finally {
      await rm(dir, { recursive: true, force: true });
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
