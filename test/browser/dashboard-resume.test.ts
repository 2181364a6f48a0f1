// The dashboard (examples/dashboard) survives a kubesub restart without a snapshot: its streams
// subscribe again with their last cursors (examples/client/resumable.ts), get only the changes made
// while it was away, and show them, with InitialStateComplete { resumed: true } on all three.
//
// The page reaches kubesub through Vite's proxy and then one address (a switchable TCP proxy, as a
// Service in front of replicas). A restart is replica A going and replica B serving that address:
// B runs over the same in-memory cluster and already serves the project to another client, so its
// views, and their history, exist (a process that starts its view after the changes has only a
// snapshot to give). Every wait is a bounded wait on the DOM or on an event.
import { createClient } from "graphql-sse";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createServer, type ViteDevServer } from "vite";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dashboardConfig } from "../../examples/dashboard/vite.config.ts";
import type { KubePod } from "../../src/domain/pod.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { daskClusterResource, daskWorkerGroupResource, podResource } from "../../src/kube/resources.ts";
import { daskClusterObject, daskPod, daskWorkerGroupObject, podObject, setPodState } from "../helpers/ide-dask-fixtures.ts";
import { type RunningKubesub, startKubesub } from "../helpers/kubesub-server.ts";
import { Inbox } from "../helpers/streams.ts";
import { SwitchableProxy } from "../helpers/tcp-proxy.ts";
import { hasChromium, launchChromium, openDashboardPage, skipNote } from "./chromium.ts";

const project = "data-science";
const showTimeoutMs = 10_000;
const streams = ["pods", "ides", "dask"] as const;

function seed(cluster: MemoryCluster): void {
  const namespace = project;
  cluster.create(podResource, podObject({ name: "etl-1", namespace, user: "bob", state: "ready" }));
  cluster.create(podResource, podObject({ name: "etl-gone", namespace, user: "bob", state: "ready" }));
  cluster.create(
    podResource,
    podObject({ name: "lab-alice", namespace, user: "alice", labels: { "kubesub.io/ide": "jupyterlab" }, state: "creating" }),
  );
  cluster.create(daskClusterResource, daskClusterObject({ name: "analysis", namespace, user: "carol", replicas: 2, phase: "Running" }));
  cluster.create(daskWorkerGroupResource, daskWorkerGroupObject({ name: "analysis-default", cluster: "analysis", namespace, replicas: 2 }));
  cluster.create(
    podResource,
    daskPod({ name: "analysis-scheduler", namespace, cluster: "analysis", component: "scheduler", state: "ready" }),
  );
  for (const [name, state] of [
    ["analysis-worker-1", "ready"],
    ["analysis-worker-2", "creating"],
  ] as const) {
    cluster.create(
      podResource,
      daskPod({ name, namespace, cluster: "analysis", component: "worker", workerGroup: "analysis-default", state }),
    );
  }
}

async function cellShows(page: Page, row: string, field: string, text: string): Promise<void> {
  const exactly = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  await page.getByTestId(row).locator(`[data-field="${field}"]`).filter({ hasText: exactly }).waitFor();
}

/** Another client of the project on a replica: one stream of each kind, until InitialStateComplete. */
async function serveProject(origin: string): Promise<() => void> {
  const client = createClient({ url: `${origin}/graphql`, retryAttempts: 0 });
  const fields = { podEvents: "", ideEvents: "", daskEvents: "" };
  await Promise.all(
    Object.keys(fields).map((field) => {
      const inbox = new Inbox<string>();
      client.subscribe<Record<string, { __typename: string }>>(
        { query: `subscription ($project: String!) { ${field}(project: $project) { __typename } }`, variables: { project } },
        {
          next: (result) => inbox.push(result.data?.[field]?.__typename ?? JSON.stringify(result.errors)),
          error: (e) => inbox.end(e),
          complete: () => inbox.end(),
        },
      );
      return inbox.take({ until: (typename) => typename === "InitialStateComplete", timeoutMs: showTimeoutMs });
    }),
  );
  return () => client.dispose();
}

describe.skipIf(!hasChromium)(`the dashboard across a kubesub restart, in headless Chromium${skipNote}`, () => {
  const cluster = new MemoryCluster();
  const proxy = new SwitchableProxy();
  const replicas: RunningKubesub[] = [];
  let stopServing: (() => void) | undefined;
  let vite: ViteDevServer;
  let dashboardUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    seed(cluster);
    const address = await proxy.listen();
    vite = await createServer({ ...dashboardConfig({ kubesubUrl: address, port: 0 }), logLevel: "silent" });
    await vite.listen();
    const listening = vite.httpServer?.address();
    if (!listening || typeof listening === "string") throw new Error("Vite is not listening on a TCP port");
    dashboardUrl = `http://127.0.0.1:${listening.port}/`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.close();
    stopServing?.();
    await proxy.close();
    await Promise.all(replicas.map((replica) => replica.close()));
  });

  beforeEach(async () => {
    ({ context, page, errors: pageErrors } = await openDashboardPage(browser, showTimeoutMs));
  });

  afterEach(async () => {
    await context.close();
    expect(pageErrors).toEqual([]);
  });

  it("resumes all three streams on the replica that takes over (resumed: true) and shows the changes made while it was away", async () => {
    const start = async () => {
      const replica = await startKubesub((type, namespace) => cluster.source(type, namespace));
      replicas.push(replica);
      return replica;
    };
    const b = await start();
    stopServing = await serveProject(b.origin);
    const a = await start();
    proxy.route(a.origin);

    await page.goto(`${dashboardUrl}?project=${project}`);
    for (const stream of streams)
      await page.locator(`[data-testid="connection-${stream}"][data-state="live"][data-resumed="false"]`).waitFor();
    await cellShows(page, "pod-etl-1", "status", "Running");
    await cellShows(page, "ide-lab-alice", "status", "Starting");
    await cellShows(page, "dask-cluster-analysis", "readyWorkers", "1");
    await page.evaluate(() => Object.assign(window, { loadedOnce: true }));
    // As the apiserver does now and then: every watch learns the current revision, so that B knows
    // it has read as far as the positions of the cursors A handed out.
    cluster.sendBookmarks();

    // A goes (its streams end with SHUTTING_DOWN) and nothing answers for a while.
    proxy.route(undefined);
    await a.close();
    for (const stream of streams) await page.locator(`[data-testid="connection-${stream}"][data-state="reconnecting"]`).waitFor();
    await proxy.nextRefusal(showTimeoutMs);

    cluster.update<KubePod>(podResource, project, "etl-1", (pod) => setPodState(pod, { stuck: "CrashLoopBackOff" }, 3));
    cluster.create(podResource, podObject({ name: "etl-new", namespace: project, user: "bob" }));
    cluster.delete(podResource, project, "etl-gone");
    cluster.update<KubePod>(podResource, project, "lab-alice", (pod) => setPodState(pod, "ready"));
    cluster.update<KubePod>(podResource, project, "analysis-worker-2", (pod) => setPodState(pod, "ready"));

    proxy.route(b.origin);
    for (const stream of streams) {
      await page
        .locator(`[data-testid="connection-${stream}"][data-state="live"][data-resumed="true"]:not([data-resubscribes="0"])`)
        .waitFor();
    }
    await cellShows(page, "pod-etl-1", "status", "CrashLoopBackOff");
    await cellShows(page, "pod-etl-1", "restarts", "3");
    await cellShows(page, "pod-etl-new", "status", "Pending");
    await page.getByTestId("pod-etl-gone").waitFor({ state: "detached" });
    await cellShows(page, "ide-lab-alice", "status", "Ready");
    await cellShows(page, "dask-cluster-analysis", "readyWorkers", "2");
    await cellShows(page, "dask-worker-group-analysis-default", "readyWorkers", "2");
    await expect.poll(() => page.getByTestId("table-pods").locator("tbody tr").count()).toBe(6);
    expect(await page.evaluate(() => "loadedOnce" in window)).toBe(true);

    // Live on B.
    cluster.update<KubePod>(podResource, project, "etl-new", (pod) => setPodState(pod, "ready"));
    await cellShows(page, "pod-etl-new", "status", "Running");
  });
});
