// Kubernetes client plumbing shared by the global setup (vitest's main process) and the test files:
// a KubeConfig per user and apiserver, raw requests for paths client-node has no API for, and the
// apiserver's metrics. Nothing here imports vitest.
import { request } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import type { ApiServerName, ControlPlaneInfo, UserName } from "./control-plane.ts";

/**
 * A KubeConfig that authenticates as `user` against one apiserver. Against an existing cluster
 * (info.external) only the admin kubeconfig exists, and both apiserver names mean its server.
 */
export function kubeConfigFor(
  info: Pick<ControlPlaneInfo, "external" | "kubeconfigPath" | "apiServers" | "caPem" | "tokens">,
  user: UserName = "admin",
  apiServer: ApiServerName = "main",
): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (info.external) {
    if (user !== "admin") throw new Error(`user ${user} exists only on the local control plane`);
    kubeConfig.loadFromFile(info.kubeconfigPath);
    return kubeConfig;
  }
  if (!info.tokens || !info.caPem) throw new Error("the local control plane info has no tokens or CA");
  kubeConfig.loadFromClusterAndUser(
    { name: apiServer, server: info.apiServers[apiServer], caData: Buffer.from(info.caPem).toString("base64"), skipTLSVerify: false },
    { name: user, token: info.tokens[user] },
  );
  return kubeConfig;
}

export interface RawResponse {
  status: number;
  body: string;
}

/** One request to the current cluster of kubeConfig, with its credentials and CA. */
export async function kubeRequest(
  kubeConfig: KubeConfig,
  path: string,
  options: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error("kubeconfig has no current cluster");
  const requestOptions: import("node:https").RequestOptions = { method: options.method ?? "GET", headers: {} };
  await kubeConfig.applyToHTTPSOptions(requestOptions);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  if (payload !== undefined) requestOptions.headers = { ...requestOptions.headers, "content-type": "application/json" };
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server), requestOptions, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`${requestOptions.method} ${path} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/**
 * Sums the samples of one metric in Prometheus text format whose labels include all of `labels`.
 * Returns 0 when no sample matches (a gauge the apiserver has never set is not exposed).
 */
export function sumMetric(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const close = line.lastIndexOf("}");
    const labelText = close === -1 ? "" : line.slice(name.length + 1, close);
    const value = Number(
      line
        .slice(close === -1 ? name.length : close + 1)
        .trim()
        .split(" ")[0],
    );
    const found = new Map<string, string>();
    for (const match of labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      found.set(match[1] as string, match[2] as string);
    if (Object.entries(labels).every(([key, wanted]) => found.get(key) === wanted)) sum += value;
  }
  return sum;
}
