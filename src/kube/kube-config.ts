import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

const serviceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token";

export interface LoadedKubeConfig {
  kubeConfig: KubeConfig;
  /** Where it came from, for the first log lines: a file path or "in-cluster service account". */
  origin: string;
}

/**
 * Finds cluster credentials the way kubectl does: an explicit path, then $KUBECONFIG, then
 * ~/.kube/config, then the in-cluster service account. Returns undefined when there are none,
 * which kubesub takes as "start the demo cluster".
 */
export function loadKubeConfig(explicitPath?: string): LoadedKubeConfig | undefined {
  const candidates = [explicitPath, ...(process.env.KUBECONFIG ?? "").split(":"), join(homedir(), ".kube", "config")];
  for (const path of candidates) {
    if (path && existsSync(path)) {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(path);
      return { kubeConfig, origin: path };
    }
  }
  if (process.env.KUBERNETES_SERVICE_HOST && existsSync(serviceAccountToken)) {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromCluster();
    return { kubeConfig, origin: "in-cluster service account" };
  }
  return undefined;
}
