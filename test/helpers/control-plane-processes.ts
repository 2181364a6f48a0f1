// The local control plane of the e2e suite: etcd and kube-apiserver processes in a temporary
// directory, like controller-runtime's envtest. Runs in vitest's main process (global setup), which
// owns the processes for the whole run; test files reach it through control-plane-endpoint.ts.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ApiServerName, ControlPlaneInfo, UserName } from "./control-plane.ts";

export interface ControlPlaneBinaries {
  kubeApiServer: string;
  etcd: string;
}

/**
 * KUBESUB_KUBE_APISERVER and KUBESUB_ETCD when both are set, else whatever
 * tools/control-plane/build.sh prints (it returns at once when the binaries are cached; a cold
 * build takes minutes and logs its progress on stderr, which is passed through).
 */
export function resolveBinaries(env: NodeJS.ProcessEnv = process.env): ControlPlaneBinaries {
  if (env.KUBESUB_KUBE_APISERVER && env.KUBESUB_ETCD) {
    return { kubeApiServer: env.KUBESUB_KUBE_APISERVER, etcd: env.KUBESUB_ETCD };
  }
  const script = fileURLToPath(new URL("../../tools/control-plane/build.sh", import.meta.url));
  const output = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const value = (name: string) => {
    const line = output.split("\n").find((l) => l.startsWith(`${name}=`));
    if (!line) throw new Error(`${script} printed no ${name}= line:\n${output}`);
    return line.slice(name.length + 1).trim();
  };
  return { kubeApiServer: value("KUBESUB_KUBE_APISERVER"), etcd: value("KUBESUB_ETCD") };
}

/**
 * The directory of the Gateway API CRDs (standard channel) that test/e2e/deploy.test.ts installs:
 * KUBESUB_GATEWAY_API_CRDS when set, else what tools/control-plane/gateway-api-crds.sh prints (the
 * copy build.sh cached beside the binaries; fetched through the Go module proxy when missing).
 */
export function resolveGatewayApiCrds(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KUBESUB_GATEWAY_API_CRDS) return env.KUBESUB_GATEWAY_API_CRDS;
  const script = fileURLToPath(new URL("../../tools/control-plane/gateway-api-crds.sh", import.meta.url));
  const output = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const line = output.split("\n").find((l) => l.startsWith("KUBESUB_GATEWAY_API_CRDS="));
  if (!line) throw new Error(`${script} printed no KUBESUB_GATEWAY_API_CRDS= line:\n${output}`);
  return line.slice("KUBESUB_GATEWAY_API_CRDS=".length).trim();
}

/** A free TCP port on 127.0.0.1 (free when asked; the process that binds it comes right after). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * One child process with a fixed command line, that can be started again after it stopped (an
 * apiserver restart keeps its flags and port). stdout and stderr go to an append-only log file.
 *
 * stop() and killNow() also resume a paused (SIGSTOPped) process first: a stopped process does not
 * act on SIGTERM until it is continued.
 */
export class ManagedProcess {
  readonly name: string;
  private readonly binary: string;
  private readonly args: readonly string[];
  readonly logPath: string;
  private child: ChildProcess | undefined;
  private exit: Promise<void> = Promise.resolve();
  private paused = false;

  constructor(name: string, binary: string, args: readonly string[], logPath: string) {
    this.name = name;
    this.binary = binary;
    this.args = args;
    this.logPath = logPath;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get isPaused(): boolean {
    return this.running && this.paused;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.child?.pid})`);
    const log = openSync(this.logPath, "a");
    try {
      writeFileSync(log, `\n--- ${new Date().toISOString()} starting ${this.name}\n`);
      const child = spawn(this.binary, this.args, { stdio: ["ignore", log, log] });
      this.child = child;
      this.paused = false;
      this.exit = new Promise((resolve) => {
        child.once("exit", () => resolve());
        // A spawn failure (ENOENT, EACCES) emits "error" and no "exit".
        child.once("error", () => resolve());
      });
    } finally {
      closeSync(log);
    }
  }

  pause(): void {
    this.signal("SIGSTOP");
    this.paused = true;
  }

  resume(): void {
    this.signal("SIGCONT");
    this.paused = false;
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves once the process has exited. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return this.exit;
    this.resume();
    this.signal("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    });
    const forced = await Promise.race([this.exit.then(() => false), timedOut]);
    clearTimeout(timer);
    if (forced) {
      this.signal("SIGKILL");
      await this.exit;
    }
  }

  /** SIGKILL (a crash); resolves once the process has exited. */
  async kill(): Promise<void> {
    this.killNow();
    await this.exit;
  }

  /** Synchronous SIGKILL, for process exit and signal handlers, where nothing async runs any more. */
  killNow(): void {
    if (!this.running) return;
    this.signal("SIGCONT");
    this.signal("SIGKILL");
  }

  /** Resolves when the current process exits. */
  exited(): Promise<void> {
    return this.exit;
  }

  /** The last lines of the log, for error messages. */
  logTail(lines = 30): string {
    if (!existsSync(this.logPath)) return "(no log)";
    return readFileSync(this.logPath, "utf8").split("\n").slice(-lines).join("\n");
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || !this.running) return;
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }
}

/** Polls check() until it returns true; fails after timeoutMs, or at once when the process died. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; process?: ManagedProcess },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (options.process && !options.process.running) {
      throw new Error(`${options.process.name} exited while waiting for ${what}; log tail:\n${options.process.logTail()}`);
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
  const tail = options.process ? `; ${options.process.name} log tail:\n${options.process.logTail()}` : "";
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what} (last error: ${String(lastError)})${tail}`);
}

/** GET with a bearer token against an apiserver whose certificate chains to caPem. */
export function apiServerGet(url: string, token: string, caPem: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "GET", headers: { authorization: `Bearer ${token}` }, ca: caPem, timeout: 5_000, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

export interface LocalControlPlaneOptions {
  binaries: ControlPlaneBinaries;
  /** Startup bound for each process. Default 60 s (a cold apiserver on 2 busy cores takes ~3-10 s). */
  startTimeoutMs?: number;
  /** Progress lines (process starts and stops, with their durations). Default: none. */
  log?: (message: string) => void;
}

const users: { name: UserName; groups: string[] }[] = [
  { name: "admin", groups: ["system:masters"] },
  { name: "alice", groups: ["team-a"] },
  { name: "bob", groups: ["team-b"] },
  { name: "carol", groups: [] },
];

/**
 * etcd plus two kube-apiservers on it, "main" (the one kubesub watches) and "writer" (a second
 * apiserver for writes while main is stopped or paused; two apiservers on one etcd is an ordinary HA
 * setup). Everything lives in one mkdtemp directory that stop() and killNow() remove.
 *
 * Contract: call stop() (async, graceful) or killNow() (sync, for exit paths) exactly when done;
 * both are idempotent. Apiservers stop before etcd: an apiserver whose etcd is gone hangs in
 * shutdown.
 */
export class LocalControlPlane {
  readonly dir: string;
  readonly tokens: Record<UserName, string>;
  readonly etcdUrl: string;
  private readonly etcd: ManagedProcess;
  private readonly apiServers: Record<ApiServerName, ManagedProcess>;
  private readonly ports: Record<ApiServerName, number>;
  private readonly startTimeoutMs: number;
  private readonly log: (message: string) => void;
  private caPem: string | undefined;
  private removed = false;

  private constructor(dir: string, options: LocalControlPlaneOptions, ports: number[]) {
    const [etcdClient, etcdPeer, etcdMetrics, mainPort, writerPort] = ports as [number, number, number, number, number];
    this.dir = dir;
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.log = options.log ?? (() => {});
    this.tokens = Object.fromEntries(users.map((u) => [u.name, randomBytes(24).toString("hex")])) as Record<UserName, string>;
    this.etcdUrl = `http://127.0.0.1:${etcdClient}`;
    this.ports = { main: mainPort, writer: writerPort };

    // Static token file: token,user,uid,"group1,group2".
    const tokenLines = users.map(
      (u) => `${this.tokens[u.name]},${u.name},${u.name}-uid${u.groups.length ? `,"${u.groups.join(",")}"` : ""}`,
    );
    writeFileSync(join(dir, "tokens.csv"), `${tokenLines.join("\n")}\n`, { mode: 0o600 });
    const { privateKey, publicKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    });
    writeFileSync(join(dir, "sa.key"), privateKey, { mode: 0o600 });
    writeFileSync(join(dir, "sa.pub"), publicKey);

    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    this.etcd = new ManagedProcess(
      "etcd",
      options.binaries.etcd,
      [
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${this.etcdUrl}`,
        `--advertise-client-urls=${this.etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        // Keeps etcd off its default metrics port 2381, so several suites can run side by side.
        `--listen-metrics-urls=http://127.0.0.1:${etcdMetrics}`,
        "--log-level=warn",
      ],
      join(dir, "etcd.log"),
    );
    const apiServer = (name: ApiServerName) =>
      new ManagedProcess(
        `kube-apiserver (${name})`,
        options.binaries.kubeApiServer,
        [
          `--etcd-servers=${this.etcdUrl}`,
          "--bind-address=127.0.0.1",
          "--advertise-address=127.0.0.1",
          `--secure-port=${this.ports[name]}`,
          // Both apiservers share the directory: the first generates a self-signed CA and serving
          // certificate (SANs 127.0.0.1, 10.0.0.1, kubernetes.default...), the second and every
          // restart reuse them, so one CA (the bundle's second certificate) verifies them all.
          `--cert-dir=${join(dir, "certs")}`,
          "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
          `--service-account-key-file=${join(dir, "sa.pub")}`,
          `--service-account-signing-key-file=${join(dir, "sa.key")}`,
          `--token-auth-file=${join(dir, "tokens.csv")}`,
          "--authorization-mode=RBAC",
          // No ServiceAccount admission: pods need no token volume and no controller-manager.
          "--disable-admission-plugins=ServiceAccount",
          // 0 disables the apiserver's periodic etcd compaction (default every 5 min): the only
          // compactions are the ones a test asks for, so no test sees a 410 it did not cause.
          "--etcd-compaction-interval=0",
          "--service-cluster-ip-range=10.0.0.0/24",
          "--allow-privileged=true",
          // Without it the apiserver complains that 127.0.0.1 may not be a "kubernetes" endpoint.
          "--endpoint-reconciler-type=none",
          "--shutdown-delay-duration=0s",
          // Without it, an open watch holds a SIGTERMed apiserver for its whole shutdown timeout
          // (60 s, then "Failed to shutdown server: context deadline exceeded"); with it the
          // apiserver ends its watches and exits in about a second, as an HA setup would want.
          "--shutdown-watch-termination-grace-period=2s",
        ],
        join(dir, `kube-apiserver-${name}.log`),
      );
    this.apiServers = { main: apiServer("main"), writer: apiServer("writer") };
  }

  /**
   * Creates the directory, its keys and token file, and picks the ports; starts nothing. Register
   * exit handlers that call killNow() before start(), so that an interrupted start leaves nothing.
   */
  static async prepare(options: LocalControlPlaneOptions): Promise<LocalControlPlane> {
    const ports = await Promise.all(Array.from({ length: 5 }, () => freePort()));
    const dir = mkdtempSync(join(tmpdir(), "kubesub-e2e-"));
    try {
      return new LocalControlPlane(dir, options, ports);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Starts etcd, then main, then writer, and writes the kubeconfig. On failure, call stop(). */
  async start(): Promise<void> {
    await this.startEtcd();
    await this.startApiServer("main");
    await this.startApiServer("writer");
    this.writeKubeconfig();
  }

  get kubeconfigPath(): string {
    return join(this.dir, "kubeconfig");
  }

  apiServerUrl(name: ApiServerName): string {
    return `https://127.0.0.1:${this.ports[name]}`;
  }

  /** PEM bundle written by the first apiserver: its serving certificate and the CA that signed it. */
  get ca(): string {
    if (!this.caPem) throw new Error("no apiserver has started yet");
    return this.caPem;
  }

  info(): Omit<ControlPlaneInfo, "control" | "crds"> {
    return {
      external: false,
      kubeconfigPath: this.kubeconfigPath,
      apiServers: { main: this.apiServerUrl("main"), writer: this.apiServerUrl("writer") },
      caPem: this.ca,
      tokens: this.tokens,
      etcdUrl: this.etcdUrl,
    };
  }

  apiServer(name: ApiServerName): ManagedProcess {
    return this.apiServers[name];
  }

  async startApiServer(name: ApiServerName): Promise<void> {
    const started = Date.now();
    const server = this.apiServers[name];
    server.start();
    const certPath = join(this.dir, "certs", "apiserver.crt");
    const url = this.apiServerUrl(name);
    await waitUntil(
      `${server.name} /readyz`,
      async () => {
        if (!existsSync(certPath)) return false;
        this.caPem ??= readFileSync(certPath, "utf8");
        return (await apiServerGet(`${url}/readyz`, this.tokens.admin, this.caPem)).status === 200;
      },
      { timeoutMs: this.startTimeoutMs, process: server },
    );
    // /readyz includes the RBAC bootstrap; the default namespace is created by another loop.
    await waitUntil(
      `${server.name}: namespace default`,
      async () => (await apiServerGet(`${url}/api/v1/namespaces/default`, this.tokens.admin, this.caPem)).status === 200,
      { timeoutMs: this.startTimeoutMs, process: server },
    );
    this.log(`${server.name} ready in ${Date.now() - started} ms (pid ${server.pid})`);
  }

  async stopApiServer(name: ApiServerName): Promise<void> {
    const started = Date.now();
    await this.apiServers[name].stop();
    this.log(`${this.apiServers[name].name} stopped in ${Date.now() - started} ms`);
  }

  /** SIGKILL: the apiserver crashes; its connections are reset. */
  async killApiServer(name: ApiServerName): Promise<void> {
    await this.apiServers[name].kill();
    this.log(`${this.apiServers[name].name} killed`);
  }

  /** Stops and starts the apiserver with the same flags and port, on the same etcd. */
  async restartApiServer(name: ApiServerName): Promise<void> {
    await this.stopApiServer(name);
    await this.startApiServer(name);
  }

  /** Both apiservers running and not paused: what every test may assume when it starts. */
  async reset(): Promise<void> {
    for (const name of ["main", "writer"] as const) {
      const server = this.apiServers[name];
      if (server.isPaused) server.resume();
      if (!server.running) await this.startApiServer(name);
    }
  }

  /**
   * Graceful: apiservers, then etcd, then the directory. Idempotent. The SIGKILL bounds keep it
   * well inside vitest's teardownTimeout (10 s).
   */
  async stop(): Promise<void> {
    const started = Date.now();
    await Promise.all(Object.values(this.apiServers).map((p) => p.stop(4_000)));
    await this.etcd.stop(3_000);
    this.removeDir();
    this.log(`control plane stopped and removed in ${Date.now() - started} ms`);
  }

  /** Synchronous: SIGKILL everything and remove the directory. For exit and signal handlers. */
  killNow(): void {
    for (const server of Object.values(this.apiServers)) server.killNow();
    this.etcd.killNow();
    this.removeDir();
  }

  private async startEtcd(): Promise<void> {
    this.etcd.start();
    await waitUntil(
      "etcd /health",
      async () => {
        const response = await fetch(`${this.etcdUrl}/health`, { signal: AbortSignal.timeout(2_000) });
        return response.ok && ((await response.json()) as { health?: string }).health === "true";
      },
      { timeoutMs: this.startTimeoutMs, process: this.etcd },
    );
  }

  private writeKubeconfig(): void {
    const caData = Buffer.from(this.ca).toString("base64");
    const kubeconfig = {
      apiVersion: "v1",
      kind: "Config",
      clusters: (["main", "writer"] as const).map((name) => ({
        name,
        cluster: { server: this.apiServerUrl(name), "certificate-authority-data": caData },
      })),
      users: users.map((u) => ({ name: u.name, user: { token: this.tokens[u.name] } })),
      contexts: users.flatMap((u) => [
        { name: u.name, context: { cluster: "main", user: u.name } },
        { name: `${u.name}@writer`, context: { cluster: "writer", user: u.name } },
      ]),
      "current-context": "admin",
    };
    // JSON is YAML: kubectl and client-node read it as it is.
    writeFileSync(this.kubeconfigPath, JSON.stringify(kubeconfig, null, 2), { mode: 0o600 });
  }

  private removeDir(): void {
    if (this.removed) return;
    this.removed = true;
    // etcd may still be closing files right after a SIGKILL; rmSync retries on ENOTEMPTY/EBUSY.
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }
}
