import { parseArgs } from "node:util";
import { z } from "zod";
import type { IDEConvention } from "./domain/ide.ts";
import { defaultSettings, type KubesubSettings } from "./options.ts";

const { security } = defaultSettings;
/** "KUBESUB_LABELS" as a flag value: "kubesub-labels". */
const conventionName = (convention: IDEConvention) => convention.toLowerCase().replaceAll("_", "-");

/**
 * Every setting, with its flag, its environment variable and its default (kubesub's own from
 * defaultSettings in options.ts, the process's here). A flag wins over the environment; `--help`
 * prints this table.
 */
const settings = {
  host: { env: "KUBESUB_HOST", default: "127.0.0.1", help: "Address to listen on; 0.0.0.0 in a container" },
  port: { env: "KUBESUB_PORT", default: "4000", help: "Port to listen on" },
  demo: { env: "KUBESUB_DEMO", default: "false", help: "Serve the embedded demo cluster even when a kubeconfig exists", boolean: true },
  kubeconfig: {
    env: "KUBECONFIG",
    default: "",
    help: "Kubeconfig file; else ~/.kube/config, then the in-cluster service account, else the demo",
  },
  "log-level": { env: "KUBESUB_LOG_LEVEL", default: "info", help: "trace, debug, info, warn, error or fatal" },
  "user-label": { env: "KUBESUB_USER_LABEL", default: defaultSettings.userLabel, help: "Pod label whose value names the owning user" },
  "queue-size": {
    env: "KUBESUB_QUEUE_SIZE",
    default: String(defaultSettings.queueSize),
    help: "Live events kept in order for a subscriber that reads slowly; past this many its waiting changes are coalesced, one event per object",
  },
  "max-buffered-bytes": {
    env: "KUBESUB_MAX_BUFFERED_BYTES",
    default: String(defaultSettings.maxBufferedBytes),
    help: "Bytes of events a stream's connection may hold that its client has not read; past this the stream ends with OVERFLOW (resume with the last cursor to lose nothing)",
  },
  "history-size": {
    env: "KUBESUB_HISTORY_SIZE",
    default: String(defaultSettings.historySize),
    help: "Recent changes each shared view keeps, at most, so that a stream can resume after a cursor; 0 keeps none",
  },
  "history-age": {
    env: "KUBESUB_HISTORY_AGE_MS",
    default: String(defaultSettings.historyAgeMs),
    help: "Milliseconds a view keeps a change for streams that resume; an older cursor gets a fresh snapshot",
  },
  "history-linger": {
    env: "KUBESUB_HISTORY_LINGER_MS",
    default: String(defaultSettings.historyLingerMs),
    help: "Milliseconds a view and its history (and so its informers) outlive its last subscriber, so that a lone client that reconnects resumes; 0 closes it at once",
  },
  "ide-conventions": {
    env: "KUBESUB_IDE_CONVENTIONS",
    default: defaultSettings.ideConventions.map(conventionName).join(","),
    help: "IDE conventions to recognise, comma-separated: kubesub-labels, kubeflow-notebook, jupyterhub",
  },
  "sync-timeout": {
    env: "KUBESUB_SYNC_TIMEOUT_MS",
    default: String(defaultSettings.syncTimeoutMs),
    help: "Milliseconds a stream or query waits for its informers to sync before it reports what it cannot read",
  },
  "informer-linger": {
    env: "KUBESUB_INFORMER_LINGER_MS",
    default: String(defaultSettings.informerLingerMs),
    help: "Milliseconds an informer outlives its last subscriber",
  },
  "watch-scope": {
    env: "KUBESUB_WATCH_SCOPE",
    default: defaultSettings.watchScope,
    help: "cluster: one list and watch per resource for all projects (fewest apiserver connections; needs cluster-wide list and watch); namespace: one per resource and project (per-namespace Roles suffice)",
  },
  "lazy-informers": {
    env: "KUBESUB_LAZY_INFORMERS",
    default: "false",
    help: "Start each informer with its first subscriber, not at start. By default, in cluster scope, every informer runs from the start: a replica is ready once it has read the cluster, and a client that moves to it from another replica resumes there without a snapshot",
    boolean: true,
  },
  "watch-inactivity-timeout": {
    env: "KUBESUB_WATCH_INACTIVITY_TIMEOUT_MS",
    default: String(defaultSettings.watchInactivityTimeoutMs),
    help: "Milliseconds of silence after which a watch is presumed dead and restarted",
  },
  "retry-max": {
    env: "KUBESUB_RETRY_MAX_MS",
    default: String(defaultSettings.retryMaxMs),
    help: "Longest wait between retries of a failed list or watch (a newly installed CRD is noticed within this or the 10 s discovery is believed, whichever is longer)",
  },
  "shutdown-timeout": {
    env: "KUBESUB_SHUTDOWN_TIMEOUT_MS",
    default: String(defaultSettings.shutdownTimeoutMs),
    help: "Milliseconds to finish open streams on SIGTERM before closing connections",
  },
  "demo-interval": { env: "KUBESUB_DEMO_INTERVAL_MS", default: "2000", help: "Milliseconds between steps of the demo cluster's scenario" },
  auth: {
    env: "KUBESUB_AUTH",
    default: "",
    help: "kubernetes (bearer tokens checked by the apiserver's TokenReview), oidc (bearer JWTs verified locally against an issuer's keys: --oidc-*), proxy-header (user and groups from the headers of an authenticating proxy that proves itself with a shared secret: --proxy-*) or none; default: kubernetes with a cluster, none with the demo",
  },
  authz: {
    env: "KUBESUB_AUTHZ",
    default: "rbac",
    help: "rbac (every read asked of the apiserver by SubjectAccessReview, for the caller's user and groups) or self (a caller reads only objects whose --user-label is its own name, in the projects its token or groups grant: --self-*; decided locally)",
  },
  "oidc-issuer-url": {
    env: "KUBESUB_OIDC_ISSUER_URL",
    default: "",
    help: "--auth oidc: the iss every token must carry; its keys are found at <issuer>/.well-known/openid-configuration unless --oidc-discovery-url or --oidc-jwks-url say where",
  },
  "oidc-discovery-url": {
    env: "KUBESUB_OIDC_DISCOVERY_URL",
    default: "",
    help: "--auth oidc: where to read the issuer's discovery document instead (an in-cluster address of the issuer, say)",
  },
  "oidc-jwks-url": {
    env: "KUBESUB_OIDC_JWKS_URL",
    default: "",
    help: "--auth oidc: the issuer's JWKS, read directly without discovery",
  },
  "oidc-ca-file": {
    env: "KUBESUB_OIDC_CA_FILE",
    default: "",
    help: "--auth oidc: PEM CA bundle for the discovery and JWKS servers; default the system's CAs",
  },
  "oidc-audience": {
    env: "KUBESUB_OIDC_AUDIENCE",
    default: "",
    help: "--auth oidc: audiences a token's aud must name one of, comma-separated (the apiserver's --oidc-client-id)",
  },
  "oidc-username-claim": { env: "KUBESUB_OIDC_USERNAME_CLAIM", default: "sub", help: "--auth oidc: the claim naming the user" },
  "oidc-username-prefix": {
    env: "KUBESUB_OIDC_USERNAME_PREFIX",
    default: "",
    help: "--auth oidc: put before every user name (oidc: say), so that it cannot pass for a user of another authenticator",
  },
  "oidc-groups-claim": {
    env: "KUBESUB_OIDC_GROUPS_CLAIM",
    default: "groups",
    help: "--auth oidc: the claim listing the groups (a string or an array of strings)",
  },
  "oidc-groups-prefix": { env: "KUBESUB_OIDC_GROUPS_PREFIX", default: "", help: "--auth oidc: put before every group" },
  "oidc-clock-skew": {
    env: "KUBESUB_OIDC_CLOCK_SKEW_MS",
    default: "30000",
    help: "--auth oidc: milliseconds of leeway for exp and nbf; a stream ends this long after its token's exp",
  },
  "proxy-user-header": {
    env: "KUBESUB_PROXY_USER_HEADER",
    default: "kubeflow-userid",
    help: "--auth proxy-header: the header naming the user (Kubeflow's gateway sets kubeflow-userid)",
  },
  "proxy-groups-header": {
    env: "KUBESUB_PROXY_GROUPS_HEADER",
    default: "kubeflow-groups",
    help: "--auth proxy-header: the header listing the groups, comma-separated or repeated; empty for none",
  },
  "proxy-secret-header": {
    env: "KUBESUB_PROXY_SECRET_HEADER",
    default: "x-kubesub-proxy-secret",
    help: "--auth proxy-header: the header in which the proxy sends the shared secret",
  },
  "proxy-secret-file": {
    env: "KUBESUB_PROXY_SECRET_FILE",
    default: "",
    help: "--auth proxy-header: file holding the shared secret (required); without it a request gets 401 whatever user header it carries",
  },
  "self-projects-claim": {
    env: "KUBESUB_SELF_PROJECTS_CLAIM",
    default: "projects",
    help: "--authz self with --auth oidc: the token claim listing the projects (namespaces) the caller may read",
  },
  "self-project-group-prefix": {
    env: "KUBESUB_SELF_PROJECT_GROUP_PREFIX",
    default: "project:",
    help: "--authz self: a group named this prefix and a namespace (project:team-a) grants that project; empty for none",
  },
  "self-admin-group": {
    env: "KUBESUB_SELF_ADMIN_GROUP",
    default: "",
    help: "--authz self: members of this group read every project and every user's objects; none by default",
  },
  "allow-unauthenticated-on-non-loopback": {
    env: "KUBESUB_ALLOW_UNAUTHENTICATED_ON_NON_LOOPBACK",
    default: "false",
    help: "Let --auth none listen on an address other than loopback (everyone who can reach it sees everything kubesub can)",
    boolean: true,
  },
  "access-recheck-interval": {
    env: "KUBESUB_ACCESS_RECHECK_INTERVAL_MS",
    default: String(security.recheckIntervalMs),
    help: "Milliseconds between re-checks of an open stream's token and access; 0 turns them off",
  },
  "max-subscriptions": {
    env: "KUBESUB_MAX_SUBSCRIPTIONS",
    default: String(security.maxSubscriptions),
    help: "Open streams this process holds, for everyone together",
  },
  "max-subscriptions-per-identity": {
    env: "KUBESUB_MAX_SUBSCRIPTIONS_PER_IDENTITY",
    default: String(security.maxSubscriptionsPerIdentity),
    help: "Open streams one identity may hold",
  },
  "max-body-bytes": { env: "KUBESUB_MAX_BODY_BYTES", default: String(security.maxBodyBytes), help: "Largest request body accepted" },
  "max-depth": { env: "KUBESUB_MAX_DEPTH", default: String(security.limits.maxDepth), help: "Deepest selection an operation may have" },
  "max-aliases": { env: "KUBESUB_MAX_ALIASES", default: String(security.limits.maxAliases), help: "Most aliases an operation may use" },
  "max-tokens": {
    env: "KUBESUB_MAX_TOKENS",
    default: String(security.limits.maxTokens),
    help: "Most tokens an operation's document may have",
  },
  "max-cost": {
    env: "KUBESUB_MAX_COST",
    default: String(security.limits.maxCost),
    help: "Highest cost (graphql-armor's estimate) an operation may have",
  },
  graphiql: { env: "KUBESUB_GRAPHIQL", default: String(security.graphiql), help: "Serve GraphiQL at /graphql (true or false)" },
  introspection: {
    env: "KUBESUB_INTROSPECTION",
    default: String(security.introspection),
    help: "Answer introspection queries (true or false)",
  },
  "stream-token-key-file": {
    env: "KUBESUB_STREAM_TOKEN_KEY_FILE",
    default: "",
    help: "File holding the key (at least 32 characters) that signs single connection mode's reservation tokens, the same for every replica; without it a random key per process, and single connection mode then needs one replica or session affinity",
  },
  "cors-origins": {
    env: "KUBESUB_CORS_ORIGINS",
    default: security.corsOrigins.join(","),
    help: "Origins allowed to call kubesub from a browser, comma-separated (https://ui.example.org); none by default",
  },
} as const;

type SettingName = keyof typeof settings;

const milliseconds = z.coerce.number().int().min(1);
const count = z.coerce.number().int().min(1);
const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const optional = z.string().transform((v) => (v === "" ? undefined : v));
const optionalUrl = z
  .string()
  .pipe(z.union([z.literal(""), z.url({ protocol: /^https?$/ })]))
  .transform((v) => (v === "" ? undefined : v));
const list = z.string().transform((v) =>
  v
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== ""),
);
/** An HTTP header name (RFC 9110's token), lower-cased as node:http hands them. */
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "must be a header name")
  .transform((v) => v.toLowerCase());
const schema = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  demo: bool,
  kubeconfig: z.string().transform((v) => (v === "" ? undefined : v)),
  "log-level": z.enum(["trace", "debug", "info", "warn", "error", "fatal"]),
  "user-label": z
    .string()
    .regex(
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
      "must be a label key",
    ),
  "ide-conventions": z
    .string()
    .transform((v) => v.split(",").map((c) => c.trim().toUpperCase().replaceAll("-", "_")))
    .pipe(z.array(z.enum(["KUBESUB_LABELS", "KUBEFLOW_NOTEBOOK", "JUPYTERHUB"])).min(1, "name at least one convention")),
  "queue-size": z.coerce.number().int().min(1),
  "max-buffered-bytes": z.coerce.number().int().min(1),
  "history-size": z.coerce.number().int().min(0),
  "history-age": milliseconds,
  "history-linger": z.coerce.number().int().min(0),
  "sync-timeout": milliseconds,
  "informer-linger": z.coerce.number().int().min(0),
  "watch-scope": z.enum(["cluster", "namespace"]),
  "lazy-informers": bool,
  "watch-inactivity-timeout": milliseconds,
  "retry-max": milliseconds,
  "shutdown-timeout": milliseconds,
  "demo-interval": milliseconds,
  auth: z.enum(["", "kubernetes", "oidc", "proxy-header", "none"]).transform((v) => (v === "" ? undefined : v)),
  authz: z.enum(["rbac", "self"]),
  "oidc-issuer-url": optionalUrl,
  "oidc-discovery-url": optionalUrl,
  "oidc-jwks-url": optionalUrl,
  "oidc-ca-file": optional,
  "oidc-audience": list,
  "oidc-username-claim": z.string().min(1),
  "oidc-username-prefix": z.string(),
  "oidc-groups-claim": z.string(),
  "oidc-groups-prefix": z.string(),
  "oidc-clock-skew": z.coerce.number().int().min(0),
  "proxy-user-header": headerName,
  "proxy-groups-header": z.union([z.literal(""), headerName]),
  "proxy-secret-header": headerName,
  "proxy-secret-file": optional,
  "self-projects-claim": z.string(),
  "self-project-group-prefix": z.string(),
  "self-admin-group": z.string(),
  "allow-unauthenticated-on-non-loopback": bool,
  "access-recheck-interval": z.coerce.number().int().min(0),
  "max-subscriptions": count,
  "max-subscriptions-per-identity": count,
  "max-body-bytes": count,
  "stream-token-key-file": optional,
  "max-depth": count,
  "max-aliases": z.coerce.number().int().min(0),
  "max-tokens": count,
  "max-cost": count,
  graphiql: bool,
  introspection: bool,
  "cors-origins": z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((o) => o.trim())
        .filter((o) => o !== ""),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/ }))),
});

/** kubesub's settings (KubesubSettings), and the process's: where to listen, what to watch, how to log. */
export interface Config extends KubesubSettings {
  host: string;
  port: number;
  demo: boolean;
  kubeconfig: string | undefined;
  /** Read by main.ts into security.streamTokenKey. */
  streamTokenKeyFile: string | undefined;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  demoIntervalMs: number;
  /** undefined: kubernetes with a cluster, none with the demo. */
  auth: AuthMode | undefined;
  allowUnauthenticatedOnNonLoopback: boolean;
  /** How --auth oidc, --auth proxy-header and --authz self are set up. */
  access: AccessConfig;
}

export type AuthMode = "kubernetes" | "oidc" | "proxy-header" | "none";

/** The flags of the authentication modes and of the authorization policy. */
export interface AccessConfig {
  authz: "rbac" | "self";
  oidc: {
    issuer: string | undefined;
    discoveryUrl: string | undefined;
    jwksUrl: string | undefined;
    caFile: string | undefined;
    audiences: string[];
    usernameClaim: string;
    usernamePrefix: string;
    groupsClaim: string;
    groupsPrefix: string;
    clockSkewMs: number;
  };
  proxy: { userHeader: string; groupsHeader: string; secretHeader: string; secretFile: string | undefined };
  self: { projectsClaim: string; projectGroupPrefix: string; adminGroup: string };
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Returns undefined when --help was asked for (after printing it). Throws ConfigError on bad input. */
export function loadConfig(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Config | undefined {
  const options = Object.fromEntries(
    Object.entries(settings).map(([name, s]) => [name, { type: "boolean" in s ? "boolean" : "string" }]),
  ) as Record<SettingName, { type: "string" | "boolean" }>;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}; see --help`);
  }
  if (parsed.values.help) {
    console.log(helpText());
    return undefined;
  }
  const raw: Record<string, string> = {};
  for (const [name, s] of Object.entries(settings)) {
    const flag = parsed.values[name];
    // An empty variable counts as unset, as in most shells' ${VAR:-default}.
    raw[name] = flag !== undefined ? String(flag) : env[s.env] || s.default;
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0]) as SettingName;
      return `--${name} (${settings[name].env}) = "${raw[name]}": ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  const v = result.data;
  const missing = [
    ...(v.auth === "oidc" && v["oidc-issuer-url"] === undefined ? ["--oidc-issuer-url"] : []),
    ...(v.auth === "oidc" && v["oidc-audience"].length === 0 ? ["--oidc-audience"] : []),
    ...(v.auth === "proxy-header" && v["proxy-secret-file"] === undefined ? ["--proxy-secret-file"] : []),
  ];
  if (missing.length > 0) throw new ConfigError(`--auth ${v.auth} needs ${missing.join(" and ")}; see --help`);
  return {
    host: v.host,
    port: v.port,
    demo: v.demo,
    kubeconfig: v.kubeconfig,
    streamTokenKeyFile: v["stream-token-key-file"],
    logLevel: v["log-level"],
    userLabel: v["user-label"],
    ideConventions: v["ide-conventions"],
    queueSize: v["queue-size"],
    maxBufferedBytes: v["max-buffered-bytes"],
    historySize: v["history-size"],
    historyAgeMs: v["history-age"],
    historyLingerMs: v["history-linger"],
    syncTimeoutMs: v["sync-timeout"],
    informerLingerMs: v["informer-linger"],
    watchScope: v["watch-scope"],
    lazyInformers: v["lazy-informers"],
    watchInactivityTimeoutMs: v["watch-inactivity-timeout"],
    retryMaxMs: v["retry-max"],
    shutdownTimeoutMs: v["shutdown-timeout"],
    demoIntervalMs: v["demo-interval"],
    auth: v.auth,
    allowUnauthenticatedOnNonLoopback: v["allow-unauthenticated-on-non-loopback"],
    access: {
      authz: v.authz,
      oidc: {
        issuer: v["oidc-issuer-url"],
        discoveryUrl: v["oidc-discovery-url"],
        jwksUrl: v["oidc-jwks-url"],
        caFile: v["oidc-ca-file"],
        audiences: v["oidc-audience"],
        usernameClaim: v["oidc-username-claim"],
        usernamePrefix: v["oidc-username-prefix"],
        groupsClaim: v["oidc-groups-claim"],
        groupsPrefix: v["oidc-groups-prefix"],
        clockSkewMs: v["oidc-clock-skew"],
      },
      proxy: {
        userHeader: v["proxy-user-header"],
        groupsHeader: v["proxy-groups-header"],
        secretHeader: v["proxy-secret-header"],
        secretFile: v["proxy-secret-file"],
      },
      self: {
        projectsClaim: v["self-projects-claim"],
        projectGroupPrefix: v["self-project-group-prefix"],
        adminGroup: v["self-admin-group"],
      },
    },
    security: {
      recheckIntervalMs: v["access-recheck-interval"],
      maxSubscriptions: v["max-subscriptions"],
      maxSubscriptionsPerIdentity: v["max-subscriptions-per-identity"],
      maxBodyBytes: v["max-body-bytes"],
      limits: { maxDepth: v["max-depth"], maxAliases: v["max-aliases"], maxTokens: v["max-tokens"], maxCost: v["max-cost"] },
      graphiql: v.graphiql,
      introspection: v.introspection,
      corsOrigins: v["cors-origins"],
    },
  };
}

export function helpText(): string {
  const rows = Object.entries(settings).map(([name, s]) => {
    const flag = "boolean" in s ? `--${name}` : `--${name} <value>`;
    return `  ${flag.padEnd(36)} ${s.env.padEnd(38)} ${s.help}${s.default ? ` (default ${s.default})` : ""}`;
  });
  return [
    "kubesub: Kubernetes changes as GraphQL subscriptions over Server-Sent Events",
    "",
    "Usage: npm start -- [flags]      (or: node src/main.ts [flags])",
    "",
    `  ${"flag".padEnd(36)} ${"environment variable".padEnd(38)} meaning`,
    ...rows,
    `  ${"--help, -h".padEnd(36)} ${"".padEnd(38)} Print this help`,
  ].join("\n");
}
