import type { Logger } from "pino";
import { type Clock, systemClock } from "./clock.ts";
import type { IDEConvention } from "./domain/ide.ts";
import type { InformerRegistryOptions, SourceFactory, WatchScope } from "./kube/informer-registry.ts";
import type { AuthSettings } from "./server/auth/request-authenticator.ts";
import type { Metrics } from "./server/metrics.ts";
import type { QueryLimits } from "./server/use-query-limits.ts";

export interface SecuritySettings {
  /** Access of open streams is re-checked this often; 0: never. */
  recheckIntervalMs: number;
  maxSubscriptions: number;
  maxSubscriptionsPerIdentity: number;
  maxBodyBytes: number;
  limits: QueryLimits;
  graphiql: boolean;
  introspection: boolean;
  corsOrigins: string[];
  /** Operations sent to a single-connection reservation whose stream does not connect within this are ended. Default 30 s. */
  reservationTimeoutMs?: number;
  /**
   * The key that signs single-connection reservation tokens, the same for every replica
   * (--stream-token-key-file). Default: a random key of this process, which only it can verify.
   */
  streamTokenKey?: string;
}

/** What kubesub's settings decide (each is a flag, see config.ts), with its default in defaultSettings. */
export interface KubesubSettings {
  userLabel: string;
  /** Which IDE conventions are recognised. */
  ideConventions: readonly IDEConvention[];
  /** Live events a slow subscriber's queue keeps in order; past this many they are coalesced, one per object (--queue-size). */
  queueSize: number;
  /** Bytes a stream's connection may hold that its client has not read before the stream ends with OVERFLOW (--max-buffered-bytes). */
  maxBufferedBytes: number;
  /** Recent changes each view keeps, at most, for streams that resume after a cursor (--history-size). 0: none. */
  historySize: number;
  /** The oldest change a view keeps for them, in ms (--history-age). */
  historyAgeMs: number;
  /** How long a view and its history outlive its last subscriber, in ms (--history-linger). */
  historyLingerMs: number;
  syncTimeoutMs: number;
  informerLingerMs: number;
  /** One list and watch per resource for the cluster, or per resource and project: see WatchScope. */
  watchScope: WatchScope;
  /**
   * Whether each informer starts with its first subscriber (--lazy-informers). Otherwise, in cluster
   * scope, every informer runs from the start.
   */
  lazyInformers: boolean;
  watchInactivityTimeoutMs: number;
  /** Upper bound of the backoff between failed lists or watches. */
  retryMaxMs: number;
  shutdownTimeoutMs: number;
  security: SecuritySettings;
}

/** Everything createKubesub needs: the settings, and what main.ts wires together. */
export interface KubesubOptions extends KubesubSettings {
  sources: SourceFactory;
  /** Resolves when the cluster's API answers (for /readyz). */
  probeApiServer: () => Promise<void>;
  logger: Logger;
  auth: AuthSettings;
  /** Default: a fresh registry of kubesub's metrics. */
  metrics?: Metrics;
  /** Every timer and timestamp of kubesub's informers, streams and shutdown. Default: systemClock. */
  clock?: Clock;
  /**
   * What each resource's objects are reduced to on arrival, before they are cached. Default:
   * slimTransformFor (src/domain/slim.ts), exactly what the models read; a resource it returns
   * undefined for only loses its managedFields (bench/cache-memory.ts compares the two).
   */
  transformFor?: InformerRegistryOptions["transformFor"];
}

/**
 * The default of every setting: the one place each default value is written. config.ts's flags
 * default to these (and --help and the README show them).
 */
export const defaultSettings: Readonly<KubesubSettings> = {
  userLabel: "kubesub.io/user",
  ideConventions: ["KUBESUB_LABELS", "KUBEFLOW_NOTEBOOK", "JUPYTERHUB"],
  queueSize: 1_000,
  maxBufferedBytes: 1_048_576,
  historySize: 1_000,
  historyAgeMs: 300_000,
  historyLingerMs: 30_000,
  syncTimeoutMs: 30_000,
  informerLingerMs: 30_000,
  watchScope: "cluster",
  lazyInformers: false,
  watchInactivityTimeoutMs: 90_000,
  retryMaxMs: 30_000,
  shutdownTimeoutMs: 10_000,
  security: {
    recheckIntervalMs: 60_000,
    maxSubscriptions: 20_000,
    maxSubscriptionsPerIdentity: 100,
    maxBodyBytes: 65_536,
    limits: { maxDepth: 10, maxAliases: 15, maxTokens: 2_000, maxCost: 5_000 },
    graphiql: true,
    introspection: true,
    corsOrigins: [],
  },
};

/** Security settings to change, field by field; limits too. */
export type SecurityOverrides = Partial<Omit<SecuritySettings, "limits">> & { limits?: Partial<QueryLimits> };

/** Options to change: any field, and security field by field. */
export type KubesubOverrides = Partial<Omit<KubesubOptions, "security">> & { security?: SecurityOverrides };

/** What has no default: where the objects come from, who may read them, where logs go. */
export type KubesubWiring = Pick<KubesubOptions, "sources" | "auth" | "logger">;

/**
 * Complete options: defaultSettings, a probe that answers at once (right for an in-memory cluster;
 * main.ts asks the apiserver) and systemClock, under the given wiring and overrides. security and
 * its limits are merged field by field; an undefined override keeps the default.
 */
export function defaultOptions(options: KubesubWiring & KubesubOverrides): KubesubOptions {
  const { security, ...rest } = definedFields(options);
  const { limits, ...securityRest } = definedFields(security ?? {});
  return {
    ...defaultSettings,
    ideConventions: [...defaultSettings.ideConventions],
    probeApiServer: async () => {},
    clock: systemClock,
    ...(rest as KubesubWiring & Omit<KubesubOverrides, "security">),
    security: {
      ...defaultSettings.security,
      corsOrigins: [...defaultSettings.security.corsOrigins],
      ...securityRest,
      limits: { ...defaultSettings.security.limits, ...definedFields(limits ?? {}) },
    },
  };
}

function definedFields<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}
