// A real nginx (Debian's package) in front of kubesub replicas, routed as deploy/'s ingress-nginx
// overlay routes: /graphql/stream (single connection mode) by a consistent hash of the
// x-graphql-event-stream-token header, everything else spread round-robin; response and request
// buffering off and hour-long read and send timeouts, as Server-Sent Events need. It runs in the
// foreground as a child process, with its configuration, pid file, logs and temporary files in a
// directory of its own, on a free loopback port. (ingress-nginx hashes in Lua over the Endpoints;
// here nginx's own `hash ... consistent` over a static list of replicas, which keep their ports
// when they restart, so nginx is never reloaded.)
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./control-plane-processes.ts";

/** KUBESUB_NGINX, else Debian's /usr/sbin/nginx. */
export const nginxBinary = process.env.KUBESUB_NGINX ?? "/usr/sbin/nginx";

/** Why nginx cannot run here, or undefined when it can. */
export function nginxMissing(): string | undefined {
  return existsSync(nginxBinary)
    ? undefined
    : `nginx is not installed at ${nginxBinary} (apt-get install nginx, as .ci/run does, or set KUBESUB_NGINX)`;
}

export interface NginxOptions {
  /** The replicas, each http://127.0.0.1:PORT; a replica restarted on the same port needs no reload. */
  upstreams: string[];
  /**
   * Parameters of each `server` line of both upstreams: "" is nginx's default passive health check
   * (max_fails=1 fail_timeout=10s: one failed connection shuts the replica out for 10 s);
   * "max_fails=0" never shuts one out (each request still moves on to the next replica when the
   * connection is refused). Default "max_fails=0".
   */
  serverParameters?: string;
}

/** One line of the access log. */
export interface NginxAccess {
  /** Seconds since the epoch, with milliseconds, when the request ended. */
  at: number;
  method: string;
  path: string;
  status: number;
  /** Every replica tried, in order (host:port); several when nginx moved on after a failure. */
  upstreams: string[];
  /** Seconds the request took. */
  seconds: number;
  token: string;
}

export interface RunningNginx {
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  readonly dir: string;
  /** The access log so far, request by request (written as each request ends). */
  accessLog(): NginxAccess[];
  /** The error log so far. */
  errorLog(): string;
  /** The error log's warnings and errors counted by message and replica, e.g. "connect() failed (111: Connection refused) 127.0.0.1:4001": 3. */
  errorCounts(): Record<string, number>;
  /** SIGTERM (nginx's fast shutdown: open connections are closed), then removes its directory. */
  stop(): Promise<void>;
}

/** The configuration: two upstreams over the same replicas, one hashed on the token, one spread. */
export function nginxConfig(dir: string, port: number, options: NginxOptions): string {
  const parameters = options.serverParameters ?? "max_fails=0";
  const servers = options.upstreams.map((origin) => `    server ${new URL(origin).host}${parameters ? ` ${parameters}` : ""};`).join("\n");
  return `
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} info;
events { worker_connections 4096; }
http {
  log_format kubesub '$msec $request_method $uri $status "$upstream_addr" $request_time "$http_x_graphql_event_stream_token"';
  access_log ${join(dir, "access.log")} kubesub;
  client_body_temp_path ${join(dir, "temp", "client-body")};
  proxy_temp_path ${join(dir, "temp", "proxy")};
  fastcgi_temp_path ${join(dir, "temp", "fastcgi")};
  uwsgi_temp_path ${join(dir, "temp", "uwsgi")};
  scgi_temp_path ${join(dir, "temp", "scgi")};

  # /graphql: spread, no affinity (deploy/overlays/ingress-nginx/ingress.yaml).
  upstream kubesub {
${servers}
  }
  # /graphql/stream: a consistent hash of the reservation token's header
  # (ingress-stream.yaml's upstream-hash-by), so that a client's event stream and its operations
  # reach one replica. The PUT that reserves carries no token: every PUT hashes alike.
  upstream kubesub_stream {
    hash $http_x_graphql_event_stream_token consistent;
${servers}
  }

  server {
    listen 127.0.0.1:${port};
    # What Server-Sent Events need (the overlay's annotations): no buffering either way,
    # HTTP/1.1 to the replicas, and read and send timeouts longer than any stream.
    proxy_buffering off;
    proxy_request_buffering off;
    proxy_http_version 1.1;
    proxy_read_timeout 3600s;
    proxy_send_timeout 3600s;
    # A refused connection moves the request on to the next replica (also a POST: nothing was sent).
    proxy_next_upstream error timeout;
    proxy_next_upstream_tries 3;
    proxy_connect_timeout 5s;
    proxy_set_header Host $host;

    location = /graphql/stream {
      proxy_pass http://kubesub_stream;
    }
    location / {
      proxy_pass http://kubesub;
    }
  }
}
`;
}

/** Starts nginx in the foreground and resolves once it accepts connections. */
export async function startNginx(options: NginxOptions, timeoutMs = 10_000): Promise<RunningNginx> {
  const missing = nginxMissing();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), "kubesub-nginx-"));
  // Worker processes run as an unprivileged user when nginx starts as root.
  chmodSync(dir, 0o755);
  for (const temp of ["client-body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, "temp", temp), { recursive: true });
  const port = await freePort();
  const configPath = join(dir, "nginx.conf");
  writeFileSync(configPath, nginxConfig(dir, port, options));
  const errorLogPath = join(dir, "error.log");
  const child: ChildProcess = spawn(nginxBinary, ["-p", dir, "-c", configPath, "-e", errorLogPath, "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  const errorLog = () => (existsSync(errorLogPath) ? readFileSync(errorLogPath, "utf8") : "");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      const why = `nginx did not accept connections within ${timeoutMs} ms (exit ${child.exitCode ?? child.signalCode}): ${stderr}${errorLog()}`;
      await stop();
      throw new Error(why);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    origin: `http://127.0.0.1:${port}`,
    dir,
    accessLog: () => parseAccessLog(join(dir, "access.log")),
    errorLog,
    errorCounts: () => countErrors(errorLog()),
    stop,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function parseAccessLog(path: string): NginxAccess[] {
  if (!existsSync(path)) return [];
  const entries: NginxAccess[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^(\S+) (\S+) (\S+) (\d+) "([^"]*)" (\S+) "([^"]*)"$/.exec(line);
    if (!match) continue;
    const [, at, method, path, status, upstreams, seconds, token] = match as unknown as string[];
    entries.push({
      at: Number(at),
      method: method as string,
      path: path as string,
      status: Number(status),
      // "127.0.0.1:1, 127.0.0.1:2" when it moved on; "-" when no replica was tried.
      upstreams: (upstreams as string) === "-" ? [] : (upstreams as string).split(/, | : /),
      seconds: Number(seconds),
      token: (token as string) === "-" ? "" : (token as string),
    });
  }
  return entries;
}

function countErrors(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of log.split("\n")) {
    const match = /\[(warn|error|crit|alert|emerg)\] \d+#\d+: (?:\*\d+ )?(.*?)(?:,|$)/.exec(line);
    if (!match) continue;
    const upstream = /upstream: "http:\/\/([^/"]+)/.exec(line)?.[1] ?? "";
    const key = `${match[2]}${upstream ? ` ${upstream}` : ""}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
