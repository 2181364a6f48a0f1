import { afterEach, describe, expect, it, vi } from "vitest";
import { type Config, ConfigError, helpText, loadConfig } from "../../src/config.ts";
import { defaultSettings } from "../../src/options.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

/** loadConfig that must return a Config (not the --help undefined). */
function load(argv: string[], env: Record<string, string> = {}): Config {
  const config = loadConfig(argv, env);
  if (!config) throw new Error("expected a config, got --help");
  return config;
}

function configError(argv: string[], env: Record<string, string> = {}): ConfigError {
  try {
    loadConfig(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("has documented defaults with no flags and an empty environment", () => {
    expect(load([], {})).toEqual({
      host: "127.0.0.1",
      port: 4000,
      demo: false,
      kubeconfig: undefined,
      streamTokenKeyFile: undefined,
      logLevel: "info",
      userLabel: "kubesub.io/user",
      ideConventions: ["KUBESUB_LABELS", "KUBEFLOW_NOTEBOOK", "JUPYTERHUB"],
      queueSize: 1000,
      maxBufferedBytes: 1_048_576,
      historySize: 1000,
      historyAgeMs: 300_000,
      historyLingerMs: 30_000,
      syncTimeoutMs: 30_000,
      informerLingerMs: 30_000,
      watchScope: "cluster",
      lazyInformers: false,
      watchInactivityTimeoutMs: 90_000,
      retryMaxMs: 30_000,
      shutdownTimeoutMs: 10_000,
      demoIntervalMs: 2_000,
      auth: undefined,
      allowUnauthenticatedOnNonLoopback: false,
      access: {
        authz: "rbac",
        oidc: {
          issuer: undefined,
          discoveryUrl: undefined,
          jwksUrl: undefined,
          caFile: undefined,
          audiences: [],
          usernameClaim: "sub",
          usernamePrefix: "",
          groupsClaim: "groups",
          groupsPrefix: "",
          clockSkewMs: 30_000,
        },
        proxy: {
          userHeader: "kubeflow-userid",
          groupsHeader: "kubeflow-groups",
          secretHeader: "x-kubesub-proxy-secret",
          secretFile: undefined,
        },
        self: { projectsClaim: "projects", projectGroupPrefix: "project:", adminGroup: "" },
      },
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
    } satisfies Config);
  });

  it("defaults kubesub's own settings to defaultSettings, where each default is written once", () => {
    const {
      host,
      port,
      demo,
      kubeconfig,
      streamTokenKeyFile,
      logLevel,
      demoIntervalMs,
      auth,
      allowUnauthenticatedOnNonLoopback,
      access,
      ...settings
    } = load([], {});
    expect(settings).toEqual(defaultSettings);
  });

  it("reads --auth oidc and its claim mapping, and refuses it without an issuer or an audience", () => {
    const config = load(
      [
        "--auth",
        "oidc",
        "--oidc-issuer-url",
        "https://issuer.example.org",
        "--oidc-audience",
        "kubesub, other",
        "--oidc-username-claim",
        "email",
      ],
      { KUBESUB_OIDC_GROUPS_PREFIX: "oidc:", KUBESUB_OIDC_JWKS_URL: "https://keys.example.org/jwks" },
    );
    expect(config.auth).toBe("oidc");
    expect(config.access.oidc).toMatchObject({
      issuer: "https://issuer.example.org",
      jwksUrl: "https://keys.example.org/jwks",
      audiences: ["kubesub", "other"],
      usernameClaim: "email",
      groupsPrefix: "oidc:",
    });
    expect(configError(["--auth", "oidc"]).message).toBe("--auth oidc needs --oidc-issuer-url and --oidc-audience; see --help");
    expect(configError(["--oidc-issuer-url", "not a url"]).message).toContain("--oidc-issuer-url (KUBESUB_OIDC_ISSUER_URL)");
  });

  it("reads --auth proxy-header with lower-cased header names, and refuses it without a secret file", () => {
    const config = load([
      "--auth",
      "proxy-header",
      "--proxy-user-header",
      "X-Forwarded-User",
      "--proxy-secret-file",
      "/etc/kubesub/secret",
    ]);
    expect(config.access.proxy).toEqual({
      userHeader: "x-forwarded-user",
      groupsHeader: "kubeflow-groups",
      secretHeader: "x-kubesub-proxy-secret",
      secretFile: "/etc/kubesub/secret",
    });
    expect(configError(["--auth", "proxy-header"]).message).toBe("--auth proxy-header needs --proxy-secret-file; see --help");
    expect(configError(["--proxy-user-header", "bad header"]).message).toContain("must be a header name");
  });

  it("reads --authz self and its project mapping", () => {
    const config = load(["--authz", "self", "--self-admin-group", "platform-admins"], { KUBESUB_SELF_PROJECT_GROUP_PREFIX: "ns:" });
    expect(config.access.authz).toBe("self");
    expect(config.access.self).toEqual({ projectsClaim: "projects", projectGroupPrefix: "ns:", adminGroup: "platform-admins" });
    expect(configError(["--authz", "abac"]).message).toContain("--authz (KUBESUB_AUTHZ)");
  });

  it("takes an empty environment variable as unset", () => {
    expect(load([], { KUBESUB_PORT: "", KUBESUB_INFORMER_LINGER_MS: "" })).toMatchObject({ port: 4000, informerLingerMs: 30_000 });
  });

  it.each([
    {
      argv: ["--auth", "none", "--cors-origins", "https://ui.example.org, http://localhost:5173"],
      auth: "none",
      origins: ["https://ui.example.org", "http://localhost:5173"],
    },
    { argv: ["--auth", "kubernetes"], auth: "kubernetes", origins: [] },
  ])("reads --auth and --cors-origins from $argv", ({ argv, auth, origins }) => {
    const config = load(argv, {});
    expect(config.auth).toBe(auth);
    expect(config.security.corsOrigins).toEqual(origins);
  });

  it.each([
    { argv: ["--auth", "basic"], variable: "KUBESUB_AUTH" },
    { argv: ["--cors-origins", "*"], variable: "KUBESUB_CORS_ORIGINS" },
    { argv: ["--graphiql", "maybe"], variable: "KUBESUB_GRAPHIQL" },
  ])("refuses $argv, naming $variable", ({ argv, variable }) => {
    expect(configError(argv, {}).message).toContain(variable);
  });

  it("does not read process.env when given an environment", () => {
    vi.stubEnv("KUBESUB_PORT", "9999");
    expect(load([], {}).port).toBe(4000);
    vi.unstubAllEnvs();
  });

  it.each<{ setting: keyof Config; flag: string; env: string; flagValue: string; envValue: string; fromFlag: unknown; fromEnv: unknown }>([
    { setting: "host", flag: "--host", env: "KUBESUB_HOST", flagValue: "0.0.0.0", envValue: "::1", fromFlag: "0.0.0.0", fromEnv: "::1" },
    { setting: "port", flag: "--port", env: "KUBESUB_PORT", flagValue: "8080", envValue: "9090", fromFlag: 8080, fromEnv: 9090 },
    {
      setting: "logLevel",
      flag: "--log-level",
      env: "KUBESUB_LOG_LEVEL",
      flagValue: "debug",
      envValue: "warn",
      fromFlag: "debug",
      fromEnv: "warn",
    },
    {
      setting: "userLabel",
      flag: "--user-label",
      env: "KUBESUB_USER_LABEL",
      flagValue: "example.org/owner",
      envValue: "owner",
      fromFlag: "example.org/owner",
      fromEnv: "owner",
    },
    { setting: "queueSize", flag: "--queue-size", env: "KUBESUB_QUEUE_SIZE", flagValue: "5", envValue: "7", fromFlag: 5, fromEnv: 7 },
    {
      setting: "maxBufferedBytes",
      flag: "--max-buffered-bytes",
      env: "KUBESUB_MAX_BUFFERED_BYTES",
      flagValue: "65536",
      envValue: "4096",
      fromFlag: 65536,
      fromEnv: 4096,
    },
    {
      setting: "historySize",
      flag: "--history-size",
      env: "KUBESUB_HISTORY_SIZE",
      flagValue: "0",
      envValue: "50",
      fromFlag: 0,
      fromEnv: 50,
    },
    {
      setting: "historyAgeMs",
      flag: "--history-age",
      env: "KUBESUB_HISTORY_AGE_MS",
      flagValue: "60000",
      envValue: "1000",
      fromFlag: 60_000,
      fromEnv: 1_000,
    },
    {
      setting: "historyLingerMs",
      flag: "--history-linger",
      env: "KUBESUB_HISTORY_LINGER_MS",
      flagValue: "0",
      envValue: "5000",
      fromFlag: 0,
      fromEnv: 5_000,
    },
    {
      setting: "kubeconfig",
      flag: "--kubeconfig",
      env: "KUBECONFIG",
      flagValue: "/etc/kube/a",
      envValue: "/etc/kube/b",
      fromFlag: "/etc/kube/a",
      fromEnv: "/etc/kube/b",
    },
    {
      setting: "informerLingerMs",
      flag: "--informer-linger",
      env: "KUBESUB_INFORMER_LINGER_MS",
      flagValue: "0",
      envValue: "5000",
      fromFlag: 0,
      fromEnv: 5000,
    },
    {
      setting: "ideConventions",
      flag: "--ide-conventions",
      env: "KUBESUB_IDE_CONVENTIONS",
      flagValue: "jupyterhub",
      envValue: "kubesub-labels, Kubeflow-Notebook",
      fromFlag: ["JUPYTERHUB"],
      fromEnv: ["KUBESUB_LABELS", "KUBEFLOW_NOTEBOOK"],
    },
    {
      setting: "retryMaxMs",
      flag: "--retry-max",
      env: "KUBESUB_RETRY_MAX_MS",
      flagValue: "5000",
      envValue: "60000",
      fromFlag: 5_000,
      fromEnv: 60_000,
    },
    {
      setting: "watchInactivityTimeoutMs",
      flag: "--watch-inactivity-timeout",
      env: "KUBESUB_WATCH_INACTIVITY_TIMEOUT_MS",
      flagValue: "120000",
      envValue: "60000",
      fromFlag: 120_000,
      fromEnv: 60_000,
    },
  ])("$flag beats $env, which beats the default", ({ setting, flag, env, flagValue, envValue, fromFlag, fromEnv }) => {
    expect(load([flag, flagValue], { [env]: envValue })[setting]).toEqual(fromFlag);
    expect(load([`${flag}=${flagValue}`], { [env]: envValue })[setting]).toEqual(fromFlag);
    expect(load([], { [env]: envValue })[setting]).toEqual(fromEnv);
  });

  it.each<{ argv: string[]; env: Record<string, string>; expected: boolean }>([
    { argv: ["--demo"], env: {}, expected: true },
    { argv: [], env: { KUBESUB_DEMO: "true" }, expected: true },
    { argv: [], env: { KUBESUB_DEMO: "1" }, expected: true },
    { argv: [], env: { KUBESUB_DEMO: "0" }, expected: false },
    { argv: [], env: { KUBESUB_DEMO: "" }, expected: false },
    { argv: ["--demo"], env: { KUBESUB_DEMO: "false" }, expected: true },
  ])("demo: $argv with $env is $expected", ({ argv, env, expected }) => {
    expect(load(argv, env).demo).toBe(expected);
  });

  it("treats an empty KUBECONFIG as unset", () => {
    expect(load([], { KUBECONFIG: "" }).kubeconfig).toBeUndefined();
  });

  it.each<{ argv: string[]; env: Record<string, string>; flag: string; variable: string; value: string }>([
    { argv: ["--port", "70000"], env: {}, flag: "--port", variable: "KUBESUB_PORT", value: "70000" },
    { argv: ["--port", "http"], env: {}, flag: "--port", variable: "KUBESUB_PORT", value: "http" },
    { argv: [], env: { KUBESUB_PORT: "-1" }, flag: "--port", variable: "KUBESUB_PORT", value: "-1" },
    { argv: ["--log-level", "verbose"], env: {}, flag: "--log-level", variable: "KUBESUB_LOG_LEVEL", value: "verbose" },
    { argv: [], env: { KUBESUB_DEMO: "yes" }, flag: "--demo", variable: "KUBESUB_DEMO", value: "yes" },
    { argv: ["--user-label", "a b"], env: {}, flag: "--user-label", variable: "KUBESUB_USER_LABEL", value: "a b" },
    { argv: ["--queue-size", "0"], env: {}, flag: "--queue-size", variable: "KUBESUB_QUEUE_SIZE", value: "0" },
    { argv: ["--queue-size", "1.5"], env: {}, flag: "--queue-size", variable: "KUBESUB_QUEUE_SIZE", value: "1.5" },
    { argv: ["--max-buffered-bytes", "0"], env: {}, flag: "--max-buffered-bytes", variable: "KUBESUB_MAX_BUFFERED_BYTES", value: "0" },
    { argv: ["--history-size=-1"], env: {}, flag: "--history-size", variable: "KUBESUB_HISTORY_SIZE", value: "-1" },
    { argv: [], env: { KUBESUB_HISTORY_AGE_MS: "0" }, flag: "--history-age", variable: "KUBESUB_HISTORY_AGE_MS", value: "0" },
    { argv: [], env: { KUBESUB_SYNC_TIMEOUT_MS: "0" }, flag: "--sync-timeout", variable: "KUBESUB_SYNC_TIMEOUT_MS", value: "0" },
    {
      argv: ["--informer-linger=-5"],
      env: {},
      flag: "--informer-linger",
      variable: "KUBESUB_INFORMER_LINGER_MS",
      value: "-5",
    },
    { argv: ["--host", ""], env: {}, flag: "--host", variable: "KUBESUB_HOST", value: "" },
    { argv: [], env: { KUBESUB_DEMO_INTERVAL_MS: "soon" }, flag: "--demo-interval", variable: "KUBESUB_DEMO_INTERVAL_MS", value: "soon" },
    { argv: ["--ide-conventions", "vscode"], env: {}, flag: "--ide-conventions", variable: "KUBESUB_IDE_CONVENTIONS", value: "vscode" },
    { argv: ["--ide-conventions", ""], env: {}, flag: "--ide-conventions", variable: "KUBESUB_IDE_CONVENTIONS", value: "" },
    { argv: ["--retry-max", "0"], env: {}, flag: "--retry-max", variable: "KUBESUB_RETRY_MAX_MS", value: "0" },
  ])("rejects $flag = $value, naming the flag and $variable", ({ argv, env, flag, variable, value }) => {
    const error = configError(argv, env);
    expect(error.message).toContain(`${flag} (${variable}) = "${value}"`);
  });

  it("reports every invalid setting at once", () => {
    const error = configError(["--port", "x"], { KUBESUB_QUEUE_SIZE: "none" });
    expect(error.message).toContain("--port (KUBESUB_PORT)");
    expect(error.message).toContain("--queue-size (KUBESUB_QUEUE_SIZE)");
  });

  it.each([
    { name: "an unknown flag", argv: ["--prot", "4000"] },
    { name: "a positional argument", argv: ["serve"] },
    { name: "a string flag without a value", argv: ["--port"] },
    { name: "a value for a boolean flag", argv: ["--demo=yes"] },
  ])("rejects $name, pointing to --help", ({ argv }) => {
    expect(configError(argv).message).toContain("see --help");
  });

  it.each([["--help"], ["-h"], ["--port", "not-checked", "--help"]])("returns undefined for %j after printing the help", (...argv) => {
    const print = vi.spyOn(console, "log").mockImplementation(() => {});
    expect(loadConfig(argv, {})).toBeUndefined();
    expect(print).toHaveBeenCalledWith(helpText());
  });

  it("lists every flag with its environment variable in the help", () => {
    const help = helpText();
    for (const [flag, variable] of [
      ["--port <value>", "KUBESUB_PORT"],
      ["--demo ", "KUBESUB_DEMO"],
      ["--kubeconfig <value>", "KUBECONFIG"],
      ["--watch-inactivity-timeout <value>", "KUBESUB_WATCH_INACTIVITY_TIMEOUT_MS"],
      ["--authz <value>", "KUBESUB_AUTHZ"],
      ["--oidc-issuer-url <value>", "KUBESUB_OIDC_ISSUER_URL"],
      ["--proxy-secret-file <value>", "KUBESUB_PROXY_SECRET_FILE"],
      ["--self-admin-group <value>", "KUBESUB_SELF_ADMIN_GROUP"],
      ["--help, -h", ""],
    ]) {
      const line = help.split("\n").find((l) => l.trimStart().startsWith(flag));
      expect(line, flag).toBeDefined();
      expect(line).toContain(variable);
    }
  });
});
