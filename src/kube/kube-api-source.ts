import { ApiException, CustomObjectsApi, HttpMethod, type KubeConfig, RequestContext, Watch } from "@kubernetes/client-node";
import { Agent, type Dispatcher, fetch } from "undici";
import type { Clock } from "../clock.ts";
import { ApiDiscovery, type DiscoveryGet } from "./discovery.ts";
import { KubeApiError } from "./errors.ts";
import type { SourceFactory, SourceHints } from "./informer-registry.ts";
import { allNamespaces, type ListPage, type ListWatchSource, type WatchEvent, type WatchOptions } from "./list-watch-source.ts";
import { decodeList, decodeStatus, protobufMediaType } from "./protobuf.ts";
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
   * LIST pages in flight at once, for every resource and namespace together, and the HTTP/1.1
   * connections they share (closed when idle; see sharePools): a LIST asks for its next page
   * while it reads one, so 2 keep one LIST streaming, and kubesub's connections to the apiserver
   * at a handful even when many informers start at once. Default 2.
   */
  maxConcurrentLists?: number;
  /** How long discovery of a custom resource's group and version is believed (ApiDiscovery). Default 10 s. */
  discoveryTtlMs?: number;
  /** Times discovery. Default systemClock. */
  clock?: Clock;
  /** Told about every request sent to the apiserver: a LIST page, a WATCH, a discovery GET. */
  onRequest?: (verb: "list" | "watch" | "discovery") => void;
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
  const maxConcurrentLists = options.maxConcurrentLists ?? 2;
  sharePools(kubeConfig, maxConcurrentLists);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const pageSize = options.pageSize ?? 500;
  const minTimeout = options.minWatchTimeoutSeconds ?? 300;
  const watcher = new Watch(kubeConfig);
  // The field is private in client-node's typings and fixed at 30 s, shorter than the interval of
  // the apiserver's bookmarks; without this, every quiet watch would be cut every 30 s.
  Object.assign(watcher, { requestTimeoutMs: options.clientInactivityTimeoutMs ?? 100_000 });

  const listSlots = new Slots(maxConcurrentLists);
  const discover = discoveryGet(custom);
  const discovery = new ApiDiscovery(
    (path) => {
      options.onRequest?.("discovery");
      return discover(path);
    },
    { ttlMs: options.discoveryTtlMs, clock: options.clock },
  );

  // A resource with a protobuf decoder (SourceHints) is listed in protobuf: for pods, the decoder
  // reads what the cache keeps and steps over the rest (managedFields, env, volumes), so that a
  // page of large pods costs a fraction of parsing it as JSON. Other pages come as JSON.
  return <T extends KubeObject>(type: ResourceType, namespace: string, hints: SourceHints = {}): ListWatchSource<T> => {
    const scope = namespace === allNamespaces ? "" : `/namespaces/${namespace}`;
    const path =
      type.group === "" ? `/api/${type.version}${scope}/${type.plural}` : `/apis/${type.group}/${type.version}${scope}/${type.plural}`;
    const where = namespace === allNamespaces ? "all namespaces" : namespace;
    const decoder = hints.protobufDecoder;
    const what = `list ${resourceName(type)} in ${where}`;
    /** One page as it came: its items still encoded (protobuf) or parsed (JSON), and the token of the next. */
    const fetchPage = async (continueToken: string | undefined, signal: AbortSignal): Promise<FetchedPage<T>> => {
      const query = new URLSearchParams({ limit: String(pageSize) });
      if (continueToken) query.set("continue", continueToken);
      const body = await listSlots.run(() => {
        options.onRequest?.("list");
        return getBody(kubeConfig, `${path}?${query}`, decoder ? protobufMediaType : "application/json", signal, what);
      });
      if (decoder) {
        const page = decodeList(body);
        return { resourceVersion: page.resourceVersion, continueToken: page.continueToken, items: () => page.items.map(decoder) as T[] };
      }
      const page = JSON.parse(body.toString("utf8")) as { items?: T[]; metadata?: { resourceVersion?: string; continue?: string } };
      const items = page.items ?? [];
      return {
        resourceVersion: page.metadata?.resourceVersion ?? "",
        continueToken: page.metadata?.continue || undefined,
        items: () => items,
      };
    };

    return {
      description: `${resourceName(type)} in ${where}`,
      async *list(signal: AbortSignal): AsyncIterable<ListPage<T>> {
        // A custom resource that is not installed fails here, learned once per group and version.
        await discovery.ensureServed(type);
        const fetch = (continueToken: string | undefined) => {
          const fetched = fetchPage(continueToken, signal).catch((error: unknown) => {
            throw toKubeApiError(error, what);
          });
          // Awaited below, or dropped when the reader stops early: never an unhandled rejection.
          fetched.catch(() => {});
          return fetched;
        };
        // The next page is asked for as soon as its token is known, before this page's items are
        // decoded and transformed: the apiserver encodes one while kubesub reads the other.
        let next: Promise<FetchedPage<T>> | undefined = fetch(undefined);
        while (next) {
          if (signal.aborted) throw new KubeApiError("list aborted");
          const page: FetchedPage<T> = await next;
          next = page.continueToken ? fetch(page.continueToken) : undefined;
          yield { items: page.items(), resourceVersion: page.resourceVersion };
        }
      },
      watch(watchOptions: WatchOptions<T>): Promise<void> {
        options.onRequest?.("watch");
        return watchPath(watcher, path, minTimeout, watchOptions as unknown as WatchOptions<KubeObject>);
      },
    };
  };
}

/** A LIST page fetched, its items decoded on demand (after the next page has been asked for). */
interface FetchedPage<T extends KubeObject> {
  resourceVersion: string;
  continueToken: string | undefined;
  items: () => T[];
}

/**
 * GETs a path of the apiserver with client-node's credentials and connection pool (as its Watch
 * does), and returns the body as it came: the caller decodes it (protobuf or JSON), without
 * client-node's model classes. A status other than 200 throws a KubeApiError with the apiserver's
 * Status (reason, message), whichever encoding it came in.
 */
async function getBody(kubeConfig: KubeConfig, path: string, accept: string, signal: AbortSignal, what: string): Promise<Buffer> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new KubeApiError("the kubeconfig names no cluster server");
  const url = new URL(path, server.endsWith("/") ? server : `${server}/`);
  const context = new RequestContext(url.toString(), HttpMethod.GET);
  await kubeConfig.applySecurityAuthentication(context);
  const response = await fetch(url, {
    // No compression: the apiserver would gzip every page (costing it more CPU than it saves on a
    // cluster network), and kubesub would spend its own on inflating it.
    headers: { ...context.getHeaders(), accept, "accept-encoding": "identity" },
    dispatcher: bulkDispatcher(context.getDispatcher()),
    signal,
  });
  const body = Buffer.from(await response.arrayBuffer());
  if (response.status === 200) return body;
  const status = statusOf(body, response.headers.get("content-type") ?? "");
  throw new KubeApiError(`${what}: ${status.message ?? `HTTP ${response.status}`}`, { statusCode: response.status, reason: status.reason });
}

/** The metav1.Status of an error response, in protobuf or JSON; what can be read of anything else. */
function statusOf(body: Buffer, contentType: string): { message?: string; reason?: string } {
  try {
    if (contentType.startsWith(protobufMediaType)) return decodeStatus(body);
  } catch {
    return { message: `undecodable ${contentType} error body` };
  }
  return parseStatus(body.toString("utf8"));
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
type DispatcherOptions = (cluster: unknown, agentOptions: unknown) => { type: string; connect?: Record<string, unknown> };
const pooled = new WeakSet<KubeConfig>();
/** The HTTP/1.1 pool for bulk reads (LIST pages) beside each shared pool (sharePools). */
const bulkPools = new WeakMap<object, Dispatcher>();

/**
 * client-node 2.0 makes a new connection pool (an undici Agent) for every request it sends, so every
 * LIST, TokenReview and SubjectAccessReview opens a TLS connection of its own, which then idles
 * open a while: hundreds of connections under load. This makes every request sent with this
 * KubeConfig (kubesub's lists and watches, and its authenticator's and authorizer's reviews when
 * they use the same KubeConfig) share one pool per cluster and user, which multiplexes them over
 * one HTTP/2 connection. Credentials travel in each request's headers, so sharing the pool shares
 * no identity. Idempotent.
 *
 * Beside each such pool, one that speaks HTTP/1.1 for LIST pages (bulkDispatcher): over HTTP/2
 * a page of several megabytes comes at the pace of the flow-control window updates that kubesub's
 * event loop sends, and a LIST of 50,000 pods took twice as long as over HTTP/1.1, where the
 * kernel's TCP window keeps the apiserver writing while kubesub decodes the page before. It holds
 * at most bulkConnections connections (requests beyond wait for one), closed when idle.
 */
export function sharePools(kubeConfig: KubeConfig, bulkConnections = 2): void {
  if (pooled.has(kubeConfig)) return;
  pooled.add(kubeConfig);
  const target = kubeConfig as unknown as { createDispatcher: DispatcherFactory; createDispatcherOptions?: DispatcherOptions };
  const create = target.createDispatcher.bind(kubeConfig);
  const pools = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const { name, server } = (cluster ?? {}) as { name?: string; server?: string };
    const key = JSON.stringify([name, server, kubeConfig.getCurrentUser()?.name]);
    if (!pools.has(key)) {
      const shared = create(cluster, agentOptions);
      pools.set(key, shared);
      const options = target.createDispatcherOptions?.call(kubeConfig, cluster, agentOptions);
      if (shared && options?.type === "agent")
        bulkPools.set(shared, new Agent({ connect: options.connect, allowH2: false, connections: bulkConnections }));
    }
    return pools.get(key);
  };
}

/** The HTTP/1.1 pool that goes with a shared pool, for bulk reads; the pool itself when there is none (plain HTTP, a proxy). */
function bulkDispatcher(dispatcher: unknown): Dispatcher | undefined {
  if (dispatcher === undefined || dispatcher === null) return undefined;
  return bulkPools.get(dispatcher) ?? (dispatcher as Dispatcher);
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
