// deploy/ proven on the real control plane: the base and both overlays are accepted by the
// apiserver (server dry run; for the gateway-api overlay's HTTPRoutes, this file installs the Gateway
// API CRDs that tools/control-plane/ caches, and removes them again), and kubesub run with exactly
// the identity they create (its ServiceAccount's token from the TokenRequest API) serves every
// subscription, and can do nothing more.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  KubeConfig,
  loadAllYaml,
  RbacAuthorizationV1Api,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { createClient } from "graphql-sse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeApiSources } from "../../src/kube/kube-api-source.ts";
import { TokenReviewAuthenticator } from "../../src/server/auth/authenticator.ts";
import { SubjectAccessReviewAuthorizer } from "../../src/server/auth/authorizer.ts";
import { controlPlane, type TestNamespace } from "../helpers/control-plane.ts";
import { installCrdObjects } from "../helpers/control-plane-crds.ts";
import { resolveGatewayApiCrds } from "../helpers/control-plane-processes.ts";
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

/**
 * Installs the cached Gateway API CRDs (standard channel) of the given kinds and waits until they
 * are Established and in discovery; returns the names of those it created (not there before).
 */
async function installGatewayApiCrds(kinds: string[]): Promise<string[]> {
  const dir = resolveGatewayApiCrds();
  const crds = readdirSync(dir)
    .filter((file) => file.endsWith(".yaml"))
    .flatMap((file) => loadAllYaml(readFileSync(join(dir, file), "utf8")) as V1CustomResourceDefinition[])
    .filter(
      (o) => o?.kind === "CustomResourceDefinition" && o.spec.group === "gateway.networking.k8s.io" && kinds.includes(o.spec.names.kind),
    );
  expect(crds.map((crd) => crd.spec.names.kind).sort(), `Gateway API CRDs in ${dir}`).toEqual([...kinds].sort());
  const { created } = await installCrdObjects(cp.kubeConfig("admin"), crds);
  return created;
}

/**
 * A server dry run of one HTTPRoute through the API, unknown fields refused (fieldValidation
 * Strict): "" when the apiserver accepts it, else its status code and message.
 */
function httpRouteRefusal(route: Manifest): Promise<string> {
  return cp
    .custom("admin")
    .createNamespacedCustomObject({
      group: "gateway.networking.k8s.io",
      version: "v1",
      namespace: route.metadata.namespace ?? "",
      plural: "httproutes",
      body: route,
      dryRun: "All",
      fieldValidation: "Strict",
    })
    .then(
      () => "",
      (error: unknown) => {
        if (!(error instanceof ApiException)) throw error;
        const status = JSON.parse(String(error.body)) as { message?: string };
        return `${error.code} ${status.message}`;
      },
    );
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
  let gatewayApiCrds: string[] = [];

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
    const crds = cp.kubeConfig("admin").makeApiClient(ApiextensionsV1Api);
    for (const name of gatewayApiCrds) await crds.deleteCustomResourceDefinition({ name }).catch(() => {});
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

  it("the gateway-api overlay, HTTPRoutes included, is accepted by the apiserver with the Gateway API CRDs, the routes pointing at the Service", async () => {
    await kubectl("apply", "-f", "deploy/base/namespace.yaml");
    const { stdout: built } = await kubectl("kustomize", "deploy/overlays/gateway-api");
    const objects = loadAllYaml(built) as Manifest[];
    const gatewayKinds = [...new Set(objects.filter((o) => o.apiVersion.startsWith("gateway.networking.k8s.io/")).map((o) => o.kind))];
    expect(gatewayKinds).toEqual(["HTTPRoute"]);
    gatewayApiCrds = await installGatewayApiCrds(gatewayKinds);

    const { stdout } = await kubectl("apply", "--dry-run=server", "-k", "deploy/overlays/gateway-api");
    expect(stdout).toContain("deployment.apps/kubesub created (server dry run)");
    expect(stdout).toContain("httproute.gateway.networking.k8s.io/kubesub created (server dry run)");
    expect(stdout).toContain("httproute.gateway.networking.k8s.io/kubesub-stream created (server dry run)");
    expect(stdout.trim().split("\n")).toHaveLength(objects.length);

    // -o json: the routes as the apiserver would store them, with the CRD's defaults filled in.
    const { stdout: json } = await kubectl("apply", "--dry-run=server", "-k", "deploy/overlays/gateway-api", "-o", "json");
    const items = (JSON.parse(json) as { items: Manifest[] }).items;
    const routes = items.filter((o) => o.kind === "HTTPRoute");
    expect(routes.map((r) => [r.apiVersion, r.metadata.name, r.metadata.namespace])).toEqual([
      ["gateway.networking.k8s.io/v1", "kubesub", "kubesub"],
      ["gateway.networking.k8s.io/v1", "kubesub-stream", "kubesub"],
    ]);
    const services = items.filter((o) => o.kind === "Service");
    const matches: string[] = [];
    for (const route of routes) {
      expect(route.spec.parentRefs).toEqual([
        { group: "gateway.networking.k8s.io", kind: "Gateway", name: "public", namespace: "gateway-system" },
      ]);
      for (const rule of route.spec.rules) {
        for (const match of rule.matches) matches.push(`${route.metadata.name} ${match.path.type} ${match.path.value}`);
        for (const ref of rule.backendRefs) {
          expect(ref).toMatchObject({ group: "", kind: "Service", weight: 1 });
          const service = services.find((s) => s.metadata.name === ref.name);
          expect(service?.spec.ports.map((p: { port: number }) => p.port)).toContain(ref.port);
        }
        expect(rule.timeouts).toEqual({ request: "0s" });
      }
    }
    expect(matches).toEqual(["kubesub PathPrefix /graphql", "kubesub-stream Exact /graphql/stream"]);

    // The CRD's schema and validation rules are enforced: a broken route is refused.
    const route = objects.find((o) => o.kind === "HTTPRoute") as Manifest;
    const broken = (edit: (backendRef: Record<string, unknown>) => void) => {
      const copy = structuredClone(route);
      edit(copy.spec.rules[0].backendRefs[0]);
      return httpRouteRefusal(copy);
    };
    expect(await httpRouteRefusal(route)).toBe("");
    expect(
      await broken((ref) => {
        delete ref.port;
      }),
    ).toBe(
      '422 HTTPRoute.gateway.networking.k8s.io "kubesub" is invalid: spec.rules[0].backendRefs[0]: Invalid value: Must have port for Service reference',
    );
    expect(
      await broken((ref) => {
        ref.kind = "Service!";
      }),
    ).toBe(
      `422 HTTPRoute.gateway.networking.k8s.io "kubesub" is invalid: spec.rules[0].backendRefs[0].kind: Invalid value: "Service!": spec.rules[0].backendRefs[0].kind in body should match '^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$'`,
    );
    expect(
      await broken((ref) => {
        ref.prot = 80;
      }),
    ).toBe(
      '400 HTTPRoute in version "v1" cannot be handled as a HTTPRoute: strict decoding error: unknown field "spec.rules[0].backendRefs[0].prot"',
    );
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
