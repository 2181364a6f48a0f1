import { ApiException, CoreV1Api, CustomObjectsApi, type KubeConfig, Watch } from "@kubernetes/client-node";
import type { Clock } from "../clock.ts";
import { ApiDiscovery, type DiscoveryGet } from "./discovery.ts";
import { KubeApiError } from "./errors.ts";
import type { SourceFactory } from "./informer-registry.ts";
import { allNamespaces, type ListResult, type ListWatchSource, type WatchEvent, type WatchOptions } from "./list-watch-source.ts";
import { type KubeObject, type ResourceType, resourceName } from "./types.ts";

export interface KubeApiSourceOptions {
  /** LIST page size; pages are joined with continue tokens. Default 500, as client-go. */
  pageSize?: number;
  /**
   * Server-side watch timeout is drawn uniformly from [min, 2 * min) seconds, so that watches of
   * many replicas do not all end at once (client-go's minWatchTimeout is 5 minutes). Default 300.
   */
  minWatchTimeoutSeconds?: number;
  /**
   * client-node's Watch aborts a connection that is silent this long. The reflector has its own
   * inactivity timeout; keep this one longer so that the reflector's fires first. Default 100 s.
   */
  clientInactivityTimeoutMs?: number;
  /**
   * LIST pages in flight at once, for every resource and namespace together. Each needs a
   * connection of client-node's pool, which keeps it open a while after; with cluster-scope
   * watches (one connection each), this keeps kubesub's connections to the apiserver at a handful
   * even when many informers start at once. Default 3.
   */
  maxConcurrentLists?: number;
  /** How long discovery of a custom resource's group and version is believed (ApiDiscovery). Default 10 s. */
  discoveryTtlMs?: number;
  /** Times discovery. Default systemClock. */
  clock?: Clock;
  /** Told about every request sent to the apiserver: a LIST page, a WATCH, a discovery GET. */
  onRequest?: (verb: "list" | "watch" | "discovery") => void;
}

interface ListPage {
  items: KubeObject[];
  metadata?: { resourceVersion?: string; _continue?: string; continue?: string };
}

/**
 * List-watch sources on the Kubernetes API through @kubernetes/client-node: the generated list
 * APIs (CoreV1Api for pods, CustomObjectsApi for custom resources) and its Watch class with
 * bookmarks.
 *
 * Objects from LIST come through client-node's model classes (timestamps as Date), objects from
 * WATCH as plain JSON (timestamps as strings); the domain layer accepts both.
 */
export function kubeApiSources(kubeConfig: KubeConfig, options: KubeApiSourceOptions = {}): SourceFactory {
  sharePools(kubeConfig);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const pageSize = options.pageSize ?? 500;
  const minTimeout = options.minWatchTimeoutSeconds ?? 300;
  const watcher = new Watch(kubeConfig);
  // The field is private in client-node's typings and fixed at 30 s, shorter than the interval of
  // the apiserver's bookmarks; without this, every quiet watch would be cut every 30 s.
  Object.assign(watcher, { requestTimeoutMs: options.clientInactivityTimeoutMs ?? 100_000 });

  const listSlots = new Slots(options.maxConcurrentLists ?? 3);
  const discover = discoveryGet(custom);
  const discovery = new ApiDiscovery(
    (path) => {
      options.onRequest?.("discovery");
      return discover(path);
    },
    { ttlMs: options.discoveryTtlMs, clock: options.clock },
  );
  const listPage = (type: ResourceType, namespace: string, continueToken: string | undefined): Promise<ListPage> =>
    listSlots.run(() => {
      options.onRequest?.("list");
      return listPageNow(type, namespace, continueToken);
    });
  const listPageNow = (type: ResourceType, namespace: string, continueToken: string | undefined): Promise<ListPage> => {
    const page = { limit: pageSize, _continue: continueToken };
    const everywhere = namespace === allNamespaces;
    if (type.group === "" && type.plural === "pods") {
      return (everywhere ? core.listPodForAllNamespaces(page) : core.listNamespacedPod({ ...page, namespace })) as Promise<ListPage>;
    }
    if (type.group === "" && type.plural === "namespaces") return core.listNamespace(page) as Promise<ListPage>;
    if (type.group === "") throw new Error(`core resource ${type.plural} has no list API wired in kube-api-source`);
    const resource = { ...page, group: type.group, version: type.version, plural: type.plural };
    return everywhere ? custom.listClusterCustomObject(resource) : custom.listNamespacedCustomObject({ ...resource, namespace });
  };

  return <T extends KubeObject>(type: ResourceType, namespace: string): ListWatchSource<T> => {
    const scope = namespace === allNamespaces ? "" : `/namespaces/${namespace}`;
    const path =
      type.group === "" ? `/api/${type.version}${scope}/${type.plural}` : `/apis/${type.group}/${type.version}${scope}/${type.plural}`;
    const where = namespace === allNamespaces ? "all namespaces" : namespace;
    return {
      description: `${resourceName(type)} in ${where}`,
      async list(signal: AbortSignal): Promise<ListResult<T>> {
        const items: KubeObject[] = [];
        let continueToken: string | undefined;
        let resourceVersion = "";
        // A custom resource that is not installed fails here, learned once per group and version.
        await discovery.ensureServed(type);
        do {
          if (signal.aborted) throw new KubeApiError("list aborted");
          const page = await listPage(type, namespace, continueToken).catch((error: unknown) => {
            throw toKubeApiError(error, `list ${resourceName(type)} in ${where}`);
          });
          items.push(...page.items);
          resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
          continueToken = page.metadata?._continue ?? page.metadata?.continue ?? undefined;
        } while (continueToken);
        return { items: items as T[], resourceVersion };
      },
      watch(watchOptions: WatchOptions<T>): Promise<void> {
        options.onRequest?.("watch");
        return watchPath(watcher, path, minTimeout, watchOptions as unknown as WatchOptions<KubeObject>);
      },
    };
  };
}

function watchPath(watcher: Watch, path: string, minTimeout: number, options: WatchOptions<KubeObject>): Promise<void> {
  const { signal, onEvent } = options;
  return new Promise<void>((resolve, reject) => {
    let controller: AbortController | undefined;
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      controller?.abort();
      if (error === undefined || error === null || signal.aborted) resolve();
      else reject(toKubeApiError(error, `watch ${path}`));
    };
    // Watch.watch() hands out its AbortController only once the response has started, so an
    // abort during connect settles at once and cancels the request when the controller arrives.
    const onAbort = () => settle();
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", onAbort, { once: true });

    const query = {
      allowWatchBookmarks: true,
      resourceVersion: options.resourceVersion,
      timeoutSeconds: minTimeout + Math.floor(Math.random() * minTimeout),
    };
    const onRaw = (phase: string, object: unknown) => {
      if (settled) return;
      const event = toWatchEvent(phase, object);
      if (event) onEvent(event);
    };
    watcher
      .watch(path, query, onRaw, (error: unknown) => settle(error))
      .then(
        (c) => {
          controller = c;
          if (settled) c.abort();
        },
        (error: unknown) => settle(error),
      );
  });
}

function toWatchEvent(phase: string, object: unknown): WatchEvent<KubeObject> | undefined {
  const value = (object ?? {}) as KubeObject & { code?: number; reason?: string; message?: string };
  switch (phase) {
    case "ADDED":
    case "MODIFIED":
    case "DELETED":
      return { type: phase, object: value };
    case "BOOKMARK":
      return { type: "BOOKMARK", resourceVersion: value.metadata?.resourceVersion ?? "" };
    case "ERROR":
      return { type: "ERROR", status: { code: value.code, reason: value.reason, message: value.message } };
    default:
      return undefined;
  }
}

/** Classifies client-node's errors (ApiException, Watch's statusCode errors, fetch failures). */
export function toKubeApiError(error: unknown, what: string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (error instanceof ApiException) {
    const body = parseStatus(error.body);
    return new KubeApiError(`${what}: ${body.message ?? `HTTP ${error.code}`}`, {
      statusCode: error.code,
      reason: body.reason,
      cause: error,
    });
  }
  const statusCode = (error as { statusCode?: number } | undefined)?.statusCode;
  const message = error instanceof Error ? error.message : String(error);
  return new KubeApiError(`${what}: ${message}`, { statusCode, cause: error });
}

function parseStatus(body: unknown): { message?: string; reason?: string } {
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as { message?: string; reason?: string };
    } catch {
      return { message: body.slice(0, 200) };
    }
  }
  return (body ?? {}) as { message?: string; reason?: string };
}

/** At most `size` tasks run at once; the others wait their turn, in order. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  async run<R>(task: () => Promise<R>): Promise<R> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}

type DispatcherFactory = (cluster: unknown, agentOptions: unknown) => unknown;
const pooled = new WeakSet<KubeConfig>();

/**
 * client-node 2.0 makes a new connection pool (an undici Agent) for every request it sends, so every
 * LIST, TokenReview and SubjectAccessReview opens a TLS connection of its own, which then idles
 * open a while: hundreds of connections under load. This makes every request sent with this
 * KubeConfig (kubesub's lists and watches, and its authenticator's and authorizer's reviews when
 * they use the same KubeConfig) share one pool per cluster and user. Credentials travel in each
 * request's headers, so sharing the pool shares no identity. Idempotent.
 */
export function sharePools(kubeConfig: KubeConfig): void {
  if (pooled.has(kubeConfig)) return;
  pooled.add(kubeConfig);
  const target = kubeConfig as unknown as { createDispatcher: DispatcherFactory };
  const create = target.createDispatcher.bind(kubeConfig);
  const pools = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const { name, server } = (cluster ?? {}) as { name?: string; server?: string };
    const key = JSON.stringify([name, server, kubeConfig.getCurrentUser()?.name]);
    if (!pools.has(key)) pools.set(key, create(cluster, agentOptions));
    return pools.get(key);
  };
}

/** Discovery of custom resources' groups and versions through client-node (credentials, shared pool). */
function discoveryGet(custom: CustomObjectsApi): DiscoveryGet {
  return async (path) => {
    const [, , group, version] = path.split("/");
    try {
      return { status: 200, body: await custom.getAPIResources({ group: group ?? "", version: version ?? "" }) };
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return { status: 404 };
      throw toKubeApiError(error, `discover ${path}`);
    }
  };
}
