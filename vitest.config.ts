// Four projects: unit (in-memory, fake timers), integration (the real server over real HTTP on
// the in-memory cluster), e2e (a real kube-apiserver and etcd; see test/e2e/README.md) and browser
// (the example dashboard and GraphiQL in headless Chromium).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// graphql 17 ships several builds chosen by export conditions ("development", "node",
// "module-sync"). Node loads the one under "module-sync" for dependencies vitest leaves to it
// (Pothos, yoga); kubesub's own imports must load that same file, or instanceof checks fail across
// two graphql instances.
const graphqlDir = fileURLToPath(new URL("./node_modules/graphql/", import.meta.url));

export default defineConfig({
  resolve: {
    alias: [{ find: /^graphql(\/[a-z]+)?$/, replacement: `${graphqlDir}$1/index.mjs` }],
  },
  test: {
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      { extends: true, test: { name: "integration", include: ["test/integration/**/*.test.ts"], testTimeout: 20_000 } },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      { extends: true, test: { name: "browser", include: ["test/browser/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000 } },
    ],
  },
});
