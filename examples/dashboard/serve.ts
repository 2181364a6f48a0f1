// `npm run example:dashboard [-- --kubesub URL --port N]`: the dashboard's Vite dev server, with
// kubesub behind its /graphql proxy. If nothing answers at the kubesub URL, kubesub is started there
// on its embedded demo cluster (`node src/main.ts --demo`) and stopped again on Ctrl-C; a kubesub
// that was already running is used as it is and left running.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createServer, type ViteDevServer } from "vite";
import { dashboardConfig, defaultKubesubUrl } from "./vite.config.ts";

const usage = `Usage: npm run example:dashboard -- [--kubesub URL] [--port N]

  --kubesub URL   kubesub's origin (default $KUBESUB_URL, else ${defaultKubesubUrl}); started there
                  on the demo cluster unless a kubesub already answers
  --port N        the dashboard's port (default 5173, or the next free one)`;

const { values } = parseArgs({
  options: { kubesub: { type: "string" }, port: { type: "string" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const kubesubUrl = new URL(values.kubesub ?? process.env.KUBESUB_URL ?? defaultKubesubUrl);
const port = Number(values.port ?? 5173);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port ${values.port}: not a port number\n\n${usage}`);

const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url));
const readyTimeoutMs = 30_000;
const stopTimeoutMs = 15_000;

let kubesub: ChildProcess | undefined;
let vite: ViteDevServer | undefined;
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stop(0));

if (await answers(kubesubUrl)) {
  console.log(`kubesub: using the one already running at ${kubesubUrl.origin}`);
} else {
  kubesub = startDemoKubesub(kubesubUrl);
  await waitUntilServing(kubesubUrl, kubesub);
  console.log(`kubesub: started on the demo cluster at ${kubesubUrl.origin} (GraphiQL: ${kubesubUrl.origin}/graphql)`);
}

vite = await createServer(dashboardConfig({ kubesubUrl: kubesubUrl.origin, port }));
await vite.listen();
const dashboardUrl = vite.resolvedUrls?.local[0] ?? `http://127.0.0.1:${port}/`;
console.log(
  `\n  kubesub dashboard: ${dashboardUrl}\n  (projects: data-science, team-a, team-b; Ctrl-C stops ${kubesub ? "both" : "the dashboard"})\n`,
);

/** True when a kubesub (or anything with /healthz) answers at url. */
async function answers(url: URL): Promise<boolean> {
  try {
    const response = await fetch(new URL("/healthz", url), { signal: AbortSignal.timeout(1_000) });
    return response.ok;
  } catch {
    return false;
  }
}

function startDemoKubesub(url: URL): ChildProcess {
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "http:" || !loopback) {
    fail(`nothing answers at ${url.origin}, and kubesub is only started here on a loopback http:// address`);
  }
  const args = ["src/main.ts", "--demo", "--host", url.hostname.replace(/^\[|\]$/g, ""), "--port", url.port || "80"];
  if (!process.env.KUBESUB_LOG_LEVEL) args.push("--log-level", "warn");
  // Its own process group: the terminal's Ctrl-C reaches only this script, which then sends kubesub
  // exactly one SIGTERM (a second signal would make kubesub skip its graceful shutdown).
  const child = spawn(process.execPath, args, { cwd: repositoryRoot, stdio: ["ignore", "inherit", "inherit"], detached: true });
  child.on("exit", (code, signal) => {
    if (stopping) return;
    console.error(`kubesub exited unexpectedly (${signal ?? `code ${code}`}); stopping the dashboard`);
    void stop(1);
  });
  // If this script dies without stop(), do not leave kubesub behind.
  process.on("exit", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return child;
}

async function waitUntilServing(url: URL, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  while (!(await answers(url))) {
    if (child.exitCode !== null || child.signalCode !== null) fail("kubesub exited before it was serving");
    if (Date.now() > deadline) fail(`kubesub did not answer at ${url.origin}/healthz within ${readyTimeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log("\nstopping…");
  await vite?.close();
  if (kubesub && kubesub.exitCode === null && kubesub.signalCode === null) {
    kubesub.kill("SIGTERM");
    const exited = once(kubesub, "exit");
    const timeout = new Promise((resolve) => setTimeout(resolve, stopTimeoutMs).unref());
    if ((await Promise.race([exited.then(() => "exited"), timeout])) !== "exited") kubesub.kill("SIGKILL");
  }
  process.exit(code);
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}
