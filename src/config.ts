import { parseArgs } from "node:util";
import { z } from "zod";
import type { IDEConvention } from "./domain/ide.ts";

/**
 * Every setting, with its flag, its environment variable and its default. A flag wins over the
 * environment; `--help` prints this table.
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
  "user-label": { env: "KUBESUB_USER_LABEL", default: "kubesub.io/user", help: "Pod label whose value names the owning user" },
  "queue-size": {
    env: "KUBESUB_QUEUE_SIZE",
    default: "1000",
    help: "Live events buffered per subscriber before its stream ends with OVERFLOW",
  },
  "ide-conventions": {
    env: "KUBESUB_IDE_CONVENTIONS",
    default: "kubesub-labels,kubeflow-notebook,jupyterhub",
    help: "IDE conventions to recognise, comma-separated: kubesub-labels, kubeflow-notebook, jupyterhub",
  },
  "sync-timeout": { env: "KUBESUB_SYNC_TIMEOUT_MS", default: "30000", help: "Milliseconds a stream waits for its informer's first sync" },
  "informer-linger": { env: "KUBESUB_INFORMER_LINGER_MS", default: "30000", help: "Milliseconds an informer outlives its last subscriber" },
  "watch-inactivity-timeout": {
    env: "KUBESUB_WATCH_INACTIVITY_TIMEOUT_MS",
    default: "90000",
    help: "Milliseconds of silence after which a watch is presumed dead and restarted",
  },
  "retry-max": {
    env: "KUBESUB_RETRY_MAX_MS",
    default: "30000",
    help: "Longest wait between retries of a failed list or watch (a missing CRD is retried this often)",
  },
  "shutdown-timeout": {
    env: "KUBESUB_SHUTDOWN_TIMEOUT_MS",
    default: "10000",
    help: "Milliseconds to finish open streams on SIGTERM before closing connections",
  },
  "demo-interval": { env: "KUBESUB_DEMO_INTERVAL_MS", default: "2000", help: "Milliseconds between steps of the demo cluster's scenario" },
} as const;

type SettingName = keyof typeof settings;

const milliseconds = z.coerce.number().int().min(1);
const schema = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  demo: z.enum(["true", "false", "1", "0", ""]).transform((v) => v === "true" || v === "1"),
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
  "sync-timeout": milliseconds,
  "informer-linger": z.coerce.number().int().min(0),
  "watch-inactivity-timeout": milliseconds,
  "retry-max": milliseconds,
  "shutdown-timeout": milliseconds,
  "demo-interval": milliseconds,
});

export interface Config {
  host: string;
  port: number;
  demo: boolean;
  kubeconfig: string | undefined;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  userLabel: string;
  ideConventions: IDEConvention[];
  queueSize: number;
  syncTimeoutMs: number;
  informerLingerMs: number;
  watchInactivityTimeoutMs: number;
  retryMaxMs: number;
  shutdownTimeoutMs: number;
  demoIntervalMs: number;
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
    raw[name] = flag !== undefined ? String(flag) : (env[s.env] ?? s.default);
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
  return {
    host: v.host,
    port: v.port,
    demo: v.demo,
    kubeconfig: v.kubeconfig,
    logLevel: v["log-level"],
    userLabel: v["user-label"],
    ideConventions: v["ide-conventions"],
    queueSize: v["queue-size"],
    syncTimeoutMs: v["sync-timeout"],
    informerLingerMs: v["informer-linger"],
    watchInactivityTimeoutMs: v["watch-inactivity-timeout"],
    retryMaxMs: v["retry-max"],
    shutdownTimeoutMs: v["shutdown-timeout"],
    demoIntervalMs: v["demo-interval"],
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
