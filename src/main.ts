import { readFileSync } from "node:fs";
import { VersionApi } from "@kubernetes/client-node";
import { createKubesub } from "./app.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { DemoScenario } from "./demo/scenario.ts";
import { kubeApiSources } from "./kube/kube-api-source.ts";
import { loadKubeConfig } from "./kube/kube-config.ts";
import { MemoryCluster } from "./kube/memory-cluster.ts";
import { createLogger } from "./logger.ts";
import { defaultOptions, type KubesubOptions } from "./options.ts";
import { TokenReviewAuthenticator } from "./server/auth/authenticator.ts";
import { SubjectAccessReviewAuthorizer } from "./server/auth/authorizer.ts";
import { OidcAuthenticator } from "./server/auth/oidc-authenticator.ts";
import type { AuthSettings } from "./server/auth/request-authenticator.ts";
import { SelfAuthorizer } from "./server/auth/self-authorizer.ts";
import { Metrics } from "./server/metrics.ts";

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

// config -> cluster source -> server; signals and shutdown.

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}
if (!config) process.exit(0);

const logger = createLogger(config.logLevel);
const kube = config.demo ? undefined : loadKubeConfig(config.kubeconfig);

let sources: KubesubOptions["sources"];
let probeApiServer: () => Promise<void>;
let demo: DemoScenario | undefined;
let auth: AuthSettings = { mode: "none" };
const metrics = new Metrics();
const authMode = config.auth ?? (kube ? "kubernetes" : "none");
const { access } = config;
if (authMode === "kubernetes" && !kube) {
  logger.fatal("--auth kubernetes needs a cluster to ask; the demo has none (use --auth none with --demo)");
  process.exit(2);
}
if (authMode !== "none" && access.authz === "rbac" && !kube) {
  logger.fatal(`--auth ${authMode} with --authz rbac needs a cluster to ask; the demo has none (use --authz self)`);
  process.exit(2);
}
const unauthenticatedBeyondLoopback = authMode === "none" && !isLoopback(config.host);
if (unauthenticatedBeyondLoopback && !config.allowUnauthenticatedOnNonLoopback) {
  logger.fatal(
    { host: config.host },
    "refusing to serve without authentication on a non-loopback address; use --auth kubernetes, listen on 127.0.0.1, or pass --allow-unauthenticated-on-non-loopback",
  );
  process.exit(2);
}

// What is served comes first in the log: whoever starts kubesub sees at once whether it is the demo.
if (kube) {
  const server = kube.kubeConfig.getCurrentCluster()?.server;
  logger.info({ kubeconfig: kube.origin, server }, "watching the cluster from this kubeconfig");
  sources = kubeApiSources(kube.kubeConfig, { onRequest: (verb) => metrics.apiserverRequests.inc({ verb }) });
  const versions = kube.kubeConfig.makeApiClient(VersionApi);
  probeApiServer = async () => {
    await versions.getCode();
  };
} else {
  logger.info(
    { reason: config.demo ? "--demo" : "no kubeconfig, no in-cluster service account" },
    "serving the embedded demo cluster: projects team-a, team-b and data-science; users alice, bob, carol and dan",
  );
  const cluster = new MemoryCluster();
  demo = new DemoScenario({ cluster, userLabel: config.userLabel });
  demo.seed();
  demo.start(config.demoIntervalMs);
  sources = (type, namespace) => cluster.source(type, namespace);
  probeApiServer = async () => {};
}

if (authMode !== "none") {
  const authorizer =
    access.authz === "self" || !kube
      ? new SelfAuthorizer({ projectGroupPrefix: access.self.projectGroupPrefix, adminGroup: access.self.adminGroup })
      : new SubjectAccessReviewAuthorizer(kube.kubeConfig, {
          onLookup: (hit) => metrics.authCache.inc({ cache: "subjectaccessreview", result: hit ? "hit" : "miss" }),
        });
  if (authMode === "oidc") {
    const { issuer, caFile, ...oidc } = access.oidc;
    auth = {
      mode: "oidc",
      authenticator: new OidcAuthenticator({
        ...oidc,
        issuer: issuer ?? "",
        caPem: caFile === undefined ? undefined : readFileSync(caFile, "utf8"),
        projectsClaim: access.self.projectsClaim,
      }),
      authorizer,
    };
  } else if (authMode === "proxy-header") {
    const { secretFile, ...headers } = access.proxy;
    const secret = readFileSync(secretFile ?? "", "utf8").trim();
    if (secret.length < 16) {
      logger.fatal({ file: secretFile }, "--proxy-secret-file must hold a secret of at least 16 characters");
      process.exit(2);
    }
    auth = { mode: "proxy-header", proxy: { ...headers, secret }, authorizer };
  } else if (kube) {
    auth = {
      mode: "kubernetes",
      authenticator: new TokenReviewAuthenticator(kube.kubeConfig, {
        onLookup: (hit) => metrics.authCache.inc({ cache: "tokenreview", result: hit ? "hit" : "miss" }),
      }),
      authorizer,
    };
  }
} else if (unauthenticatedBeyondLoopback) {
  logger.warn(
    { host: config.host },
    "AUTHENTICATION IS OFF on a non-loopback address: anyone who can reach this port sees everything kubesub's service account can read",
  );
}
const authentication = {
  kubernetes: "callers need a bearer token, checked by TokenReview",
  oidc: `callers need a bearer JWT of ${access.oidc.issuer}, verified locally`,
  "proxy-header": `callers are named by the authenticating proxy's ${access.proxy.userHeader} header, trusted with its shared secret`,
  none: "authentication is off",
}[authMode];
const authorization =
  authMode === "none" ? "" : access.authz === "self" ? "; each reads its own objects in its projects" : "; access is Kubernetes RBAC";
logger.info({ auth: authMode, authz: authMode === "none" ? undefined : access.authz }, `${authentication}${authorization}`);

let streamTokenKey: string | undefined;
if (config.streamTokenKeyFile !== undefined) {
  streamTokenKey = readFileSync(config.streamTokenKeyFile, "utf8").trim();
  if (streamTokenKey.length < 32) {
    logger.fatal({ file: config.streamTokenKeyFile }, "--stream-token-key-file must hold a key of at least 32 characters");
    process.exit(2);
  }
} else {
  logger.info(
    "no --stream-token-key-file: single connection mode's reservations are signed with a random key of this process, so that mode needs one replica or session affinity",
  );
}

// The config holds every setting (its defaults are defaultOptions'); the rest is wired above.
const app = createKubesub(
  defaultOptions({ ...config, sources, probeApiServer, logger, auth, metrics, security: { ...config.security, streamTokenKey } }),
);
const address = await app.listen(config.port, config.host);
const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
logger.info({ graphiql: `http://${host}:${address.port}/graphql` }, "kubesub is serving GraphQL and GraphiQL");

let signals = 0;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    logger.info({ signal }, "shutting down: completing open streams");
    demo?.stop();
    const force = setTimeout(() => {
      logger.error("shutdown took too long; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs + 5_000);
    force.unref();
    app.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
