// What e2e test files use of the control plane that test/e2e/global-setup.ts started (or of the
// existing cluster named by KUBESUB_E2E_KUBECONFIG): clients per user, a namespace per test, and
// the process-level faults (restart, stop, pause an apiserver; compact etcd).
import { randomBytes } from "node:crypto";
import { ApiException, CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { inject, vi } from "vitest";
import { callControlPlane } from "./control-plane-endpoint.ts";
import { kubeConfigFor, kubeRequest, sumMetric } from "./control-plane-kube.ts";

/** Users of the static token file: admin is in system:masters; alice in team-a, bob in team-b, carol in no group. */
export type UserName = "admin" | "alice" | "bob" | "carol";
/** "main" is the apiserver kubesub watches; "writer" a second one on the same etcd. */
export type ApiServerName = "main" | "writer";

export interface ControlEndpointInfo {
  url: string;
  token: string;
}

export interface InstalledCrds {
  /** The directory the CRDs came from: ../shared/crds or test/fixtures/crds. */
  origin: string;
  resources: { group: string; version: string; plural: string; kind: string }[];
}

/** What the global setup hands to test files (through vitest's provide/inject; JSON only). */
export interface ControlPlaneInfo {
  /** True when running against KUBESUB_E2E_KUBECONFIG: no processes to restart, pause or compact. */
  external: boolean;
  /** Admin kubeconfig (local: contexts admin, alice, bob, carol, and NAME@writer). */
  kubeconfigPath: string;
  /** Apiserver URLs; against an existing cluster both are its server. */
  apiServers: Record<ApiServerName, string>;
  /** CA bundle of the local apiservers. */
  caPem: string | undefined;
  /** Bearer tokens of the local users. */
  tokens: Record<UserName, string> | undefined;
  /** The local etcd's client URL (its v3 JSON gateway is under /v3/). */
  etcdUrl: string | undefined;
  control: ControlEndpointInfo | undefined;
  crds: InstalledCrds;
}

declare module "vitest" {
  export interface ProvidedContext {
    controlPlane: ControlPlaneInfo;
  }
}

/** A namespace of one test; delete() removes what the test left in it, then the namespace. */
export interface TestNamespace {
  readonly name: string;
  delete(): Promise<void>;
}

export interface WatchCountFilter {
  resource: string;
  /** "" for the core group (default). */
  group?: string;
  /** "namespace" (default), "cluster" or "resource" (a watch on one named object). */
  scope?: string;
}

/**
 * The control plane as a test file sees it. Methods that need processes (restart, stop, pause,
 * compaction) throw against an existing cluster; guard those tests with
 * `it.skipIf(!controlPlane().isLocal)`.
 */
export class ControlPlane {
  readonly info: ControlPlaneInfo;
  private readonly configs = new Map<string, KubeConfig>();

  constructor(info: ControlPlaneInfo) {
    this.info = info;
  }

  get isLocal(): boolean {
    return !this.info.external;
  }

  /** Cached per (user, apiserver); see kubeConfigFor. */
  kubeConfig(user: UserName = "admin", apiServer: ApiServerName = "main"): KubeConfig {
    const key = `${user}@${apiServer}`;
    let config = this.configs.get(key);
    if (!config) {
      config = kubeConfigFor(this.info, user, apiServer);
      this.configs.set(key, config);
    }
    return config;
  }

  core(user: UserName = "admin", apiServer: ApiServerName = "main"): CoreV1Api {
    return this.kubeConfig(user, apiServer).makeApiClient(CoreV1Api);
  }

  custom(user: UserName = "admin", apiServer: ApiServerName = "main"): CustomObjectsApi {
    return this.kubeConfig(user, apiServer).makeApiClient(CustomObjectsApi);
  }

  /** Creates `${prefix}-${6 hex}` through the writer apiserver, which no fault test stops. */
  async createNamespace(prefix: string): Promise<TestNamespace> {
    const name = `${prefix}-${randomBytes(3).toString("hex")}`;
    await this.core("admin", "writer").createNamespace({ body: { metadata: { name, labels: { "kubesub.io/e2e": "true" } } } });
    return { name, delete: () => this.deleteNamespace(name) };
  }

  /**
   * Deletes the pods (grace 0) and custom objects of the installed CRDs, then the namespace. The
   * local control plane has no controller-manager, whose namespace controller would otherwise
   * remove the "kubernetes" finalizer; here the test does it, and waits until the namespace is gone.
   */
  async deleteNamespace(name: string): Promise<void> {
    const core = this.core("admin", "writer");
    const custom = this.custom("admin", "writer");
    const ignoreNotFound = (error: unknown) => {
      if (!(error instanceof ApiException && error.code === 404)) throw error;
    };
    await core.deleteCollectionNamespacedPod({ namespace: name, gracePeriodSeconds: 0 }).catch(ignoreNotFound);
    for (const r of this.info.crds.resources) {
      await custom
        .deleteCollectionNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: name })
        .catch(ignoreNotFound);
    }
    await core.deleteNamespace({ name, gracePeriodSeconds: 0 }).catch(ignoreNotFound);
    if (this.info.external) return;
    await core.replaceNamespaceFinalize({ name, body: { metadata: { name }, spec: { finalizers: [] } } }).catch(ignoreNotFound);
    await vi.waitFor(
      async () => {
        const gone = await core.readNamespace({ name }).then(
          () => false,
          (error: unknown) => error instanceof ApiException && error.code === 404,
        );
        if (!gone) throw new Error(`namespace ${name} still exists`);
      },
      { timeout: 10_000, interval: 50 },
    );
  }

  /** Stops and starts the apiserver (same flags, port and etcd); resolves once it is ready again. */
  restartApiServer(name: ApiServerName = "main"): Promise<unknown> {
    return this.control(`/apiservers/${name}/restart`);
  }

  /**
   * SIGTERM: a graceful stop (open watches end normally within about a second; SIGKILL after
   * 10 s). Resolves once the process has exited.
   */
  stopApiServer(name: ApiServerName = "main"): Promise<unknown> {
    return this.control(`/apiservers/${name}/stop`);
  }

  /** SIGKILL: a crash; clients see their connections reset. Resolves once the process has exited. */
  killApiServer(name: ApiServerName = "main"): Promise<unknown> {
    return this.control(`/apiservers/${name}/kill`);
  }

  /** Resolves once /readyz is 200 and the default namespace exists. */
  startApiServer(name: ApiServerName = "main"): Promise<unknown> {
    return this.control(`/apiservers/${name}/start`);
  }

  /** SIGSTOP: connections stay open and the kernel still accepts new ones, but nothing answers. */
  pauseApiServer(name: ApiServerName = "main"): Promise<unknown> {
    return this.control(`/apiservers/${name}/pause`);
  }

  /** SIGCONT. */
  resumeApiServer(name: ApiServerName = "main"): Promise<unknown> {
    return this.control(`/apiservers/${name}/resume`);
  }

  /** Both apiservers running and not paused. A no-op against an existing cluster. */
  async reset(): Promise<void> {
    if (this.info.control) await this.control("/reset");
  }

  /**
   * Compacts etcd at its current revision (physically), through etcd's v3 JSON gateway, so that
   * every older resourceVersion is gone from etcd. Returns that revision.
   */
  async compactEtcd(): Promise<number> {
    const etcd = this.info.etcdUrl;
    if (!etcd) throw new Error("compaction needs the local control plane");
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${etcd}${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
      const json = (await response.json()) as { header?: { revision?: string }; message?: string };
      if (!response.ok) throw new Error(`etcd ${path}: ${json.message ?? response.status}`);
      return json;
    };
    // A range over key "\0" reads nothing but carries the store's current revision in its header.
    const { header } = await post("/v3/kv/range", { key: Buffer.from("\0").toString("base64"), limit: 1 });
    const revision = Number(header?.revision);
    if (!Number.isFinite(revision)) throw new Error("etcd returned no revision");
    await post("/v3/kv/compaction", { revision: String(revision), physical: true });
    return revision;
  }

  /** The apiserver's /metrics, as admin. */
  async metrics(apiServer: ApiServerName = "main"): Promise<string> {
    const response = await kubeRequest(this.kubeConfig("admin", apiServer), "/metrics");
    if (response.status !== 200) throw new Error(`GET /metrics: ${response.status} ${response.body.slice(0, 200)}`);
    return response.body;
  }

  /**
   * Open WATCH requests on the apiserver for a resource, from the stable gauge
   * apiserver_longrunning_requests{verb="WATCH",group,resource,scope} (summed over versions). v1.36
   * no longer exposes apiserver_registered_watchers. The apiserver's own loopback informers count
   * too (with scope "cluster"), so compare with a baseline.
   */
  async openWatches(filter: WatchCountFilter, apiServer: ApiServerName = "main"): Promise<number> {
    return sumMetric(await this.metrics(apiServer), "apiserver_longrunning_requests", {
      verb: "WATCH",
      group: filter.group ?? "",
      resource: filter.resource,
      scope: filter.scope ?? "namespace",
    });
  }

  private async control(path: string): Promise<unknown> {
    if (!this.info.control) throw new Error(`${path} needs the local control plane (not KUBESUB_E2E_KUBECONFIG)`);
    return callControlPlane(this.info.control, path);
  }
}

let shared: ControlPlane | undefined;

/** The control plane of this run (from the global setup). */
export function controlPlane(): ControlPlane {
  shared ??= new ControlPlane(inject("controlPlane"));
  return shared;
}
