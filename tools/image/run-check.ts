// Runs kubesub's image as deploy/base/deployment.yaml runs it, and checks what a cluster would rely on:
//
//   node tools/image/run-check.ts <image>
//
// tools/image/check.sh runs it after the build, with the runtime flags this machine needs in
// KUBESUB_CONTAINER_FLAGS (tools/image/container-flags.sh).
//
// The container gets the Deployment's securityContext (uid and gid, fsGroup as a supplementary
// group, no privilege escalation, every capability dropped, the runtime's default seccomp profile,
// a read-only root filesystem with no writable /tmp: podman's --read-only would add tmpfs mounts
// Kubernetes does not), its memory limit, args, environment and volumes (each Secret as read-only
// files of random content, with the volume's mode and the fsGroup as group; an emptyDir as a tmpfs).
// Two things differ, and are printed: kubesub serves its embedded demo cluster (there is no
// apiserver here), so `--auth kubernetes` (TokenReview) becomes `--auth proxy-header` with a
// shared-secret file (authentication stays on, on 0.0.0.0), and it listens on a free port of the
// host network rather than 4000, which another kubesub on this machine may hold.
//
// Then: the liveness and readiness probes' paths answer 200; the process is uid and gid as set,
// with NoNewPrivs, no effective capability and seccomp filtering (read from the host's /proc);
// writing to / and /tmp fails with EROFS; a podEvents subscription over Server-Sent Events reaches
// InitialStateComplete and a live change; SIGTERM ends that stream with StreamError SHUTTING_DOWN,
// and the process exits 0 within the grace period left after the preStop sleep. Any failure
// throws with what was expected and what was seen, prints the container's log, and exits 1. The
// container and its secret files are removed in every case.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadYaml } from "@kubernetes/client-node";
import { readSse, type SseFrame } from "../../test/helpers/sse.ts";

const run = promisify(execFile);
const image = process.argv[2];
if (!image) {
  console.error("usage: node tools/image/run-check.ts <image>");
  process.exit(2);
}
const containerFlags = (process.env.KUBESUB_CONTAINER_FLAGS ?? "--runtime runc").split(" ").filter(Boolean);
const deploymentFile = new URL("../../deploy/base/deployment.yaml", import.meta.url);

class CheckFailed extends Error {}
function expect(condition: boolean, what: string): asserts condition {
  if (!condition) throw new CheckFailed(what);
}
const started = performance.now();
const seconds = (from: number) => `${((performance.now() - from) / 1000).toFixed(2)} s`;
const say = (line: string) => console.error(`image: ${line}`);

// --- The Deployment, as far as a container runtime can mirror it.

interface Container {
  args?: string[];
  env?: { name: string; value?: string }[];
  ports?: { containerPort: number }[];
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  resources?: { limits?: { memory?: string } };
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    fsGroup?: number;
    seccompProfile?: { type: string };
  };
  containers: Container[];
  volumes?: { name: string; secret?: { defaultMode?: number; items?: { path: string }[] }; emptyDir?: object }[];
}
const deployment = loadYaml<{ spec: { template: { spec: PodSpec } } }>(await readFile(deploymentFile, "utf8"));
const pod = deployment.spec.template.spec;
const [container] = pod.containers;
const podSecurity = pod.securityContext ?? {};
const security = container.securityContext ?? {};
const uid = podSecurity.runAsUser;
const gid = podSecurity.runAsGroup ?? uid;
expect(uid !== undefined && uid !== 0, `the Deployment runs as a non-root runAsUser (it says ${uid})`);
expect(
  (podSecurity.seccompProfile?.type ?? "RuntimeDefault") === "RuntimeDefault",
  `seccompProfile ${podSecurity.seccompProfile?.type} is mirrored (only RuntimeDefault is: podman's default profile)`,
);
const grace = pod.terminationGracePeriodSeconds ?? 30;
const preStopSleep = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
// The grace period counts from the pod's deletion: SIGTERM comes after the preStop sleep.
const exitBudgetMs = (grace - preStopSleep) * 1000;
const probePaths = [container.livenessProbe?.httpGet?.path, container.readinessProbe?.httpGet?.path].filter(
  (path): path is string => path !== undefined,
);
const readinessPath = container.readinessProbe?.httpGet?.path ?? "/healthz";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}
const port = await freePort();
const args = [...(container.args ?? [])];
const portFlag = args.indexOf("--port");
if (portFlag >= 0) args[portFlag + 1] = String(port);
else args.push("--port", String(port));

const scratch = await mkdtemp(join(tmpdir(), "kubesub-image-"));
await chmod(scratch, 0o755);
const proxySecret = randomBytes(24).toString("hex");
const demoOverrides: Record<string, string> = {
  KUBESUB_DEMO: "true",
  KUBESUB_AUTH: "proxy-header",
  KUBESUB_AUTHZ: "self",
  KUBESUB_PROXY_SECRET_FILE: "/etc/kubesub/proxy/secret",
};
const env = new Map((container.env ?? []).map(({ name, value }) => [name, value ?? ""]));
for (const [name, value] of Object.entries(demoOverrides)) env.set(name, value);

/** A Secret volume's files: random content, owned by root and the fsGroup, with its mode. */
async function secretDirectory(name: string, mode: number, paths: string[], content: () => string): Promise<string> {
  const dir = join(scratch, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o755 });
  for (const path of paths) {
    const file = join(dir, path);
    await writeFile(file, content());
    await chown(file, 0, podSecurity.fsGroup ?? 0);
    await chmod(file, mode);
  }
  return dir;
}

const name = `kubesub-image-check-${process.pid}`;
const runArgs = ["run", "--detach", "--name", name, ...containerFlags, "--network", "host", "--stop-timeout", String(grace)];
runArgs.push("--user", `${uid}:${gid}`);
if (podSecurity.fsGroup !== undefined) runArgs.push("--group-add", String(podSecurity.fsGroup));
if (security.allowPrivilegeEscalation === false) runArgs.push("--security-opt", "no-new-privileges");
if (security.readOnlyRootFilesystem) runArgs.push("--read-only", "--read-only-tmpfs=false");
for (const cap of security.capabilities?.drop ?? []) runArgs.push("--cap-drop", cap);
for (const cap of security.capabilities?.add ?? []) runArgs.push("--cap-add", cap);
const memory = container.resources?.limits?.memory;
if (memory)
  runArgs.push(
    "--memory",
    memory.replace(/^(\d+)([KMGT])i$/, (_, n, unit) => `${n}${unit.toLowerCase()}`),
  );
for (const mount of container.volumeMounts ?? []) {
  const volume = pod.volumes?.find((v) => v.name === mount.name);
  if (volume?.secret) {
    const paths = volume.secret.items?.map((item) => item.path) ?? ["key"];
    const dir = await secretDirectory(mount.name, volume.secret.defaultMode ?? 0o644, paths, () => randomBytes(32).toString("hex"));
    runArgs.push("--volume", `${dir}:${mount.mountPath}:ro`);
  } else if (volume?.emptyDir) {
    runArgs.push("--mount", `type=tmpfs,destination=${mount.mountPath},tmpfs-mode=1777`);
  } else {
    throw new CheckFailed(
      `volume ${mount.name} of the Deployment is neither a Secret nor an emptyDir; mirror it in tools/image/run-check.ts`,
    );
  }
}
const proxyDir = await secretDirectory("proxy", 0o440, ["secret"], () => proxySecret);
runArgs.push("--volume", `${proxyDir}:/etc/kubesub/proxy:ro`);
for (const [key, value] of env) runArgs.push("--env", `${key}=${value}`);
runArgs.push(image, ...args);

// --- Run it.

const base = `http://127.0.0.1:${port}`;
const headers = {
  accept: "text/event-stream",
  "content-type": "application/json",
  "kubeflow-userid": "alice",
  "kubeflow-groups": "project:team-a",
  "x-kubesub-proxy-secret": proxySecret,
};
const podman = async (...command: string[]) => (await run("podman", command, { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();

async function waitReady(deadlineMs: number): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const response = await fetch(base + readinessPath).catch(() => undefined);
    if (response?.status === 200) return;
    const state = await podman("inspect", "--format", "{{.State.Status}}", name);
    expect(state === "running", `the container runs until ${readinessPath} answers 200 (it is ${state})`);
    expect(performance.now() < deadline, `${readinessPath} answers 200 within ${deadlineMs / 1000} s of the start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function statusField(status: string, field: string): string {
  return status.match(new RegExp(`^${field}:\\s*(.*)$`, "m"))?.[1]?.trim() ?? "";
}

// Interrupted, the check still removes its container and secret files.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await run("podman", ["rm", "--force", "--time", "0", name]).catch(() => {});
    await rm(scratch, { recursive: true, force: true });
    process.exit(130);
  });
}

let failed = false;
try {
  say(`deploy/base/deployment.yaml mirrored: ${runArgs.slice(runArgs.indexOf("--user"), runArgs.indexOf("--env")).join(" ")}`);
  say(
    `for the demo: ${Object.entries(demoOverrides)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}; --port ${port} instead of 4000`,
  );
  const runStarted = performance.now();
  await podman(...runArgs);
  await waitReady(30_000);
  say(`ready (${readinessPath} 200) ${seconds(runStarted)} after podman run`);

  for (const path of [...new Set(probePaths)]) {
    const response = await fetch(base + path);
    expect(response.status === 200, `probe ${path} answers 200 (it answered ${response.status}: ${await response.text()})`);
  }
  say(`probes ${probePaths.join(", ")}: 200`);

  const pid = await podman("inspect", "--format", "{{.State.Pid}}", name);
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const [realUid] = statusField(status, "Uid").split(/\s+/);
  const [realGid] = statusField(status, "Gid").split(/\s+/);
  const groups = statusField(status, "Groups").split(/\s+/);
  expect(realUid === String(uid) && realGid === String(gid), `the process runs as ${uid}:${gid} (it runs as ${realUid}:${realGid})`);
  if (podSecurity.fsGroup !== undefined) {
    expect(groups.includes(String(podSecurity.fsGroup)), `the fsGroup ${podSecurity.fsGroup} is a supplementary group (groups: ${groups})`);
  }
  if (security.allowPrivilegeEscalation === false) expect(statusField(status, "NoNewPrivs") === "1", "NoNewPrivs is set");
  if (security.capabilities?.drop?.includes("ALL")) {
    expect(/^0+$/.test(statusField(status, "CapEff")), `no effective capability (CapEff ${statusField(status, "CapEff")})`);
  }
  expect(statusField(status, "Seccomp") === "2", `seccomp filters the process (Seccomp ${statusField(status, "Seccomp")})`);
  const command = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter(Boolean).join(" ");
  say(`process ${command}: uid ${realUid}, gid ${realGid}, groups ${groups.join(",")}, NoNewPrivs 1, CapEff 0, seccomp on`);

  if (security.readOnlyRootFilesystem) {
    for (const path of ["/app/written-at-runtime", "/tmp/written-at-runtime"]) {
      const write = await run("podman", ["exec", name, "node", "-e", `require("node:fs").writeFileSync(${JSON.stringify(path)}, "")`]).then(
        () => "written",
        (error: { stderr?: string }) => error.stderr ?? String(error),
      );
      expect(
        write.includes("EROFS"),
        `writing ${path} fails with EROFS (${
          write
            .trim()
            .split("\n")
            .find((l) => l.includes("Error")) ?? write
        })`,
      );
    }
    say("root filesystem read-only: writing /app and /tmp fails with EROFS");
  }

  const subscribed = performance.now();
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      query: `subscription { podEvents(project: "team-a") { __typename
        ... on InitialStateComplete { count }
        ... on StreamError { code retryable } } }`,
    }),
  });
  expect(
    response.status === 200 && response.body !== null,
    `the subscription is accepted (HTTP ${response.status}: ${response.body ? "" : "no body"})`,
  );
  const frames = readSse(response.body);
  /** The next frame's event, or an Error naming what was awaited if none comes within ms. */
  async function nextEvent(what: string, ms: number): Promise<{ frame: SseFrame | undefined; typename?: string; code?: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CheckFailed(`${what} within ${ms / 1000} s`)), ms);
    });
    try {
      const next = await Promise.race([frames.next(), timeout]);
      if (next.done) return { frame: undefined };
      const event = next.value.data ? JSON.parse(next.value.data)?.data?.podEvents : undefined;
      return { frame: next.value, typename: event?.__typename, code: event?.code };
    } finally {
      clearTimeout(timer);
    }
  }
  let snapshot = 0;
  for (;;) {
    const { frame, typename } = await nextEvent("the stream reaches InitialStateComplete", 15_000);
    expect(frame !== undefined, "the stream stays open until InitialStateComplete");
    if (typename === "InitialStateComplete") break;
    expect(typename === "PodAdded", `the snapshot sends PodAdded events (got ${frame.event}: ${frame.data})`);
    snapshot += 1;
  }
  expect(snapshot > 0, "the demo's team-a holds pods of alice");
  say(`podEvents over SSE: ${snapshot} pods, then InitialStateComplete, ${seconds(subscribed)} after subscribing`);
  const live = await nextEvent("a live change arrives after the snapshot (the demo moves every 2 s)", 15_000);
  expect(live.typename !== undefined && live.typename !== "StreamError", `a live change arrives (got ${live.frame?.data})`);
  say(`live change: ${live.typename}`);

  const terminated = performance.now();
  await podman("kill", "--signal", "TERM", name);
  const exited = podman("wait", name).then((code) => ({ code: Number(code), after: performance.now() - terminated }));
  exited.catch(() => {}); // awaited below, after the stream's end
  let ending: Awaited<ReturnType<typeof nextEvent>>;
  do ending = await nextEvent("StreamError SHUTTING_DOWN after SIGTERM", exitBudgetMs);
  while (ending.typename !== undefined && ending.typename !== "StreamError");
  expect(
    ending.typename === "StreamError" && ending.code === "SHUTTING_DOWN",
    `SIGTERM ends the stream with StreamError SHUTTING_DOWN (got ${ending.frame ? ending.frame.data : "the end of the stream"})`,
  );
  const after = await nextEvent("the connection closes after SHUTTING_DOWN", exitBudgetMs);
  expect(after.frame === undefined || after.frame.event === "complete", `nothing follows SHUTTING_DOWN (got ${after.frame?.data})`);
  const { code, after: exitMs } = await Promise.race([
    exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new CheckFailed(`the process exits within ${exitBudgetMs / 1000} s of SIGTERM`)), exitBudgetMs),
    ),
  ]);
  expect(code === 0, `the process exits 0 after SIGTERM (it exited ${code})`);
  say(
    `SIGTERM: StreamError SHUTTING_DOWN, connection closed, exit 0 after ${(exitMs / 1000).toFixed(2)} s ` +
      `(budget ${exitBudgetMs / 1000} s: grace ${grace} s less the preStop sleep ${preStopSleep} s)`,
  );
} catch (error) {
  failed = true;
  const logs = await run("podman", ["logs", "--tail", "40", name]).then(
    (r) => r.stdout + r.stderr,
    () => "(no log)",
  );
  console.error(`image: container log (last 40 lines):\n${logs}`);
  console.error(`image: FAILED: ${error instanceof CheckFailed ? `expected ${error.message}` : String(error)}`);
} finally {
  await run("podman", ["rm", "--force", "--time", "0", name]).catch(() => {});
  await rm(scratch, { recursive: true, force: true });
}
say(`run and checks took ${seconds(started)}`);
process.exit(failed ? 1 : 0);
