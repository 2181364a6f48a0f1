// Global setup of the e2e project (runs once, in vitest's main process): starts etcd and two
// kube-apiservers in a temporary directory (or uses KUBESUB_E2E_KUBECONFIG), installs the CRDs, and
// provides the connection info to test files as inject("controlPlane"). See test/e2e/README.md.
import { resolve } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { TestProject } from "vitest/node";
import type { ControlPlaneInfo } from "../helpers/control-plane.ts";
import { installCrds } from "../helpers/control-plane-crds.ts";
import { serveControlPlane } from "../helpers/control-plane-endpoint.ts";
import { kubeRequest } from "../helpers/control-plane-kube.ts";
import { LocalControlPlane, resolveBinaries } from "../helpers/control-plane-processes.ts";

const log = (message: string) => process.stderr.write(`e2e: ${message}\n`);
/** KUBESUB_E2E_VERBOSE=1: also log every apiserver start and stop with its duration. */
const verbose = process.env.KUBESUB_E2E_VERBOSE === "1";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const existing = process.env.KUBESUB_E2E_KUBECONFIG;
  if (existing) return useExistingCluster(project, resolve(existing));

  const started = Date.now();
  const binaries = resolveBinaries();
  const plane = await LocalControlPlane.prepare({ binaries, log: verbose ? log : undefined });

  // vitest ends the process on SIGINT/SIGTERM without running teardowns, and a failed or aborted
  // run may exit from anywhere: kill the processes and remove the directory synchronously on every
  // way out. A signal nobody else handles is re-raised, so the process still dies of it.
  const onExit = () => plane.killNow();
  const onSignal = (signal: NodeJS.Signals) => {
    plane.killNow();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  process.once("exit", onExit);
  for (const signal of signals) process.once(signal, onSignal);
  const removeHandlers = () => {
    process.off("exit", onExit);
    for (const signal of signals) process.off(signal, onSignal);
  };

  let endpoint: Awaited<ReturnType<typeof serveControlPlane>> | undefined;
  const teardown = async () => {
    await endpoint?.close();
    await plane.stop();
    removeHandlers();
  };
  try {
    await plane.start();
    log(
      `etcd ${plane.etcdUrl}, kube-apiservers main ${plane.apiServerUrl("main")} and writer ${plane.apiServerUrl("writer")} ready in ${Date.now() - started} ms (${plane.dir})`,
    );
    const crdsStarted = Date.now();
    const crds = await installCrds(loadKubeConfig(plane.kubeconfigPath));
    log(`${crds.resources.length} CRDs from ${crds.origin} established in ${Date.now() - crdsStarted} ms`);
    endpoint = await serveControlPlane(plane);
    project.provide("controlPlane", { ...plane.info(), control: endpoint.info, crds } satisfies ControlPlaneInfo);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}

function loadKubeConfig(path: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  return kubeConfig;
}

/** KUBESUB_E2E_KUBECONFIG: no processes; the process-level fault tests skip themselves. */
async function useExistingCluster(project: TestProject, kubeconfigPath: string): Promise<() => Promise<void>> {
  const kubeConfig = loadKubeConfig(kubeconfigPath);
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error(`KUBESUB_E2E_KUBECONFIG=${kubeconfigPath} has no current cluster`);
  const ready = await kubeRequest(kubeConfig, "/readyz");
  if (ready.status !== 200) throw new Error(`${server}/readyz answered ${ready.status}: ${ready.body.slice(0, 300)}`);
  const crds = await installCrds(kubeConfig);
  log(`using the existing cluster ${server} from ${kubeconfigPath}; ${crds.resources.length} CRDs established (from ${crds.origin})`);
  project.provide("controlPlane", {
    external: true,
    kubeconfigPath,
    apiServers: { main: server, writer: server },
    caPem: undefined,
    tokens: undefined,
    etcdUrl: undefined,
    control: undefined,
    crds,
  } satisfies ControlPlaneInfo);
  return async () => {};
}
