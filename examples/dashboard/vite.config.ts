import { fileURLToPath } from "node:url";
import { defineConfig, type InlineConfig } from "vite";

export interface DashboardConfigOptions {
  /** Where kubesub serves /graphql. Default: $KUBESUB_URL, else http://127.0.0.1:4000. */
  kubesubUrl?: string;
  /** The dev server's port. Default 5173; 0 picks a free one. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export const defaultKubesubUrl = "http://127.0.0.1:4000";

/**
 * The dashboard's Vite configuration, complete on its own (configFile: false), for
 * examples/dashboard/serve.ts, the browser tests and `vite --config examples/dashboard/vite.config.ts`.
 *
 * The dev server proxies /graphql (and /graphql/stream) to kubesub, so the page and its API share
 * one origin and kubesub needs no CORS settings. http-proxy passes event streams through as they
 * arrive; kubesub's X-Accel-Buffering header is for nginx and does not matter here.
 */
export function dashboardConfig(options: DashboardConfigOptions = {}): InlineConfig {
  const target = options.kubesubUrl ?? process.env.KUBESUB_URL ?? defaultKubesubUrl;
  return {
    configFile: false,
    root: fileURLToPath(new URL(".", import.meta.url)),
    // Its own folder of pre-bundled dependencies, apart from other Vite servers of this repository.
    cacheDir: fileURLToPath(new URL("../../node_modules/.vite/dashboard", import.meta.url)),
    clearScreen: false,
    server: {
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 5173,
      proxy: { "/graphql": { target } },
    },
  };
}

export default defineConfig(dashboardConfig());
