// The dashboard example (examples/dashboard) in headless Chromium: kubesub in this process on an
// in-memory cluster the test changes, the dashboard served by Vite with its /graphql proxy pointed at
// that kubesub, and assertions on what the page shows. Every wait is a bounded wait on the DOM.
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createServer, type ViteDevServer } from "vite";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { PanelId } from "../../examples/dashboard/src/panels.ts";
import type { ConnectionState } from "../../examples/dashboard/src/stream-panel.ts";
import { dashboardConfig } from "../../examples/dashboard/vite.config.ts";
import type { KubePod } from "../../src/domain/pod.ts";
import { KubeApiError } from "../../src/kube/errors.ts";
import type { SourceFactory } from "../../src/kube/informer-registry.ts";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import {
  daskAutoscalerResource,
  daskClusterResource,
  daskJobResource,
  daskWorkerGroupResource,
  notebookResource,
  podResource,
} from "../../src/kube/resources.ts";
import {
  daskAutoscalerObject,
  daskClusterObject,
  daskJobObject,
  daskPod,
  daskWorkerGroupObject,
  notebookObject,
  notebookPod,
  podObject,
  setPodState,
} from "../helpers/ide-dask-fixtures.ts";
import { type RunningKubesub, startKubesub } from "../helpers/kubesub-server.ts";
import { artifactDir, hasChromium, launchChromium, openDashboardPage, skipNote } from "./chromium.ts";

const project = "data-science";
/** How long any one thing may take to show on the page. */
const showTimeoutMs = 10_000;

/** A project as the dashboard's demo shows it: plain pods, IDEs of two conventions, a Dask cluster with a job. */
function seed(cluster: MemoryCluster): void {
  const namespace = project;
  cluster.create(podResource, podObject({ name: "etl-1", namespace, user: "bob", state: "ready" }));
  cluster.create(
    podResource,
    podObject({ name: "jupyter-alice", namespace, user: "alice", labels: { "kubesub.io/ide": "jupyterlab" }, state: "ready" }),
  );
  cluster.create(notebookResource, notebookObject({ name: "code-carol", namespace, user: "carol", serverType: "group-one" }));
  cluster.create(podResource, notebookPod("code-carol", { namespace, user: "carol", state: "creating" }));
  cluster.create(daskClusterResource, daskClusterObject({ name: "analysis", namespace, user: "carol", replicas: 2, phase: "Running" }));
  cluster.create(daskWorkerGroupResource, daskWorkerGroupObject({ name: "analysis-default", cluster: "analysis", namespace, replicas: 2 }));
  cluster.create(
    daskAutoscalerResource,
    daskAutoscalerObject({ name: "analysis", cluster: "analysis", namespace, minimum: 1, maximum: 5 }),
  );
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
  cluster.create(
    daskJobResource,
    daskJobObject({ name: "nightly", namespace, user: "dan", status: { jobStatus: "Running", clusterName: "analysis" } }),
  );
}

/**
 * The cluster's sources, except that DaskJobs in team-a answer 404 while `missing.daskJobs` is
 * true, as an apiserver does before the Dask operator's CRDs are installed.
 */
function sourcesWithMissingCrd(cluster: MemoryCluster, missing: { daskJobs: boolean }): SourceFactory {
  return (type, namespace) => {
    const source = cluster.source<never>(type, namespace);
    if (type.plural !== daskJobResource.plural || namespace !== "team-a") return source;
    return {
      ...source,
      async *list(signal) {
        if (missing.daskJobs) throw new KubeApiError("the server could not find the requested resource", { statusCode: 404 });
        yield* source.list(signal);
      },
    };
  };
}

/** Waits until the cell `field` of the row with data-testid `row` shows exactly `text`. */
async function cellShows(page: Page, row: string, field: string, text: string): Promise<void> {
  const exactly = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  await page.getByTestId(row).locator(`[data-field="${field}"]`).filter({ hasText: exactly }).waitFor();
}

const streams: PanelId[] = ["pods", "ides", "dask"];

/** Waits until the badge `testId` (connection, or connection-<stream>) shows `state`. */
async function connection(page: Page, testId: string, state: ConnectionState["phase"]): Promise<void> {
  await page.locator(`[data-testid="${testId}"][data-state="${state}"]`).waitFor();
}

describe.skipIf(!hasChromium)(`the dashboard in headless Chromium${skipNote}`, () => {
  const cluster = new MemoryCluster();
  const missing = { daskJobs: true };
  // Per-project informers: the DaskJob CRD is made to be missing in team-a only, which only a
  // per-namespace list can show (a real CRD is missing everywhere; see the e2e missing-crds test).
  const options = { syncTimeoutMs: 1_000, watchScope: "namespace" as const };
  let kubesub: RunningKubesub;
  let vite: ViteDevServer;
  let dashboardUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    seed(cluster);
    // A short sync timeout, after which a stream starts without what it cannot read (ResourceUnavailable).
    kubesub = await startKubesub(sourcesWithMissingCrd(cluster, missing), options);
    vite = await createServer({ ...dashboardConfig({ kubesubUrl: kubesub.origin, port: 0 }), logLevel: "silent" });
    await vite.listen();
    const address = vite.httpServer?.address();
    if (!address || typeof address === "string") throw new Error("Vite is not listening on a TCP port");
    dashboardUrl = `http://127.0.0.1:${address.port}/`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.close();
    await kubesub?.close();
  });

  beforeEach(async () => {
    ({ context, page, errors: pageErrors } = await openDashboardPage(browser, showTimeoutMs));
  });

  afterEach(async () => {
    await context.close();
    expect(pageErrors).toEqual([]);
  });

  it("shows the initial state, then pods, IDEs and Dask workers changing, without a reload", async () => {
    await page.goto(`${dashboardUrl}?project=${project}`);
    await connection(page, "connection", "live");
    for (const stream of streams) await connection(page, `connection-${stream}`, "live");

    await cellShows(page, "pod-etl-1", "status", "Running");
    await cellShows(page, "pod-etl-1", "ready", "1/1");
    await cellShows(page, "ide-jupyter-alice", "status", "Ready");
    await cellShows(page, "ide-code-carol", "kind", "VS Code");
    await cellShows(page, "ide-code-carol", "status", "Starting");
    await cellShows(page, "dask-cluster-analysis", "readyWorkers", "1");
    await cellShows(page, "dask-cluster-analysis", "workers", "2");
    await cellShows(page, "dask-cluster-analysis", "desiredWorkers", "2");
    await cellShows(page, "dask-worker-group-analysis-default", "readyWorkers", "1");
    await cellShows(page, "dask-autoscaler-analysis", "maximum", "5");
    await cellShows(page, "dask-job-nightly", "status", "Running");
    // Set on the page now: still there at the end only if the page never reloaded.
    await page.evaluate(() => Object.assign(window, { loadedOnce: true }));

    cluster.create(podResource, podObject({ name: "etl-2", namespace: project, user: "bob" }));
    await cellShows(page, "pod-etl-2", "status", "Pending");
    await cellShows(page, "pod-etl-2", "nodeName", "—");

    cluster.update<KubePod>(podResource, project, "etl-2", (pod) => setPodState(pod, "ready"));
    await cellShows(page, "pod-etl-2", "status", "Running");
    await cellShows(page, "pod-etl-2", "ready", "1/1");

    cluster.update<KubePod>(podResource, project, "etl-1", (pod) => setPodState(pod, { stuck: "CrashLoopBackOff" }, 3));
    await cellShows(page, "pod-etl-1", "status", "CrashLoopBackOff");
    await cellShows(page, "pod-etl-1", "restarts", "3");
    await cellShows(
      page,
      "pod-etl-1",
      "reason",
      'CrashLoopBackOffContainer "main" keeps exiting, restarted 3 times, waiting to be started again',
    );

    cluster.update<KubePod>(podResource, project, "code-carol-0", (pod) => setPodState(pod, "ready"));
    await cellShows(page, "ide-code-carol", "status", "Ready");
    await cellShows(page, "ide-code-carol", "ready", "yes");
    await cellShows(page, "ide-code-carol", "reason", "—");

    cluster.update<KubePod>(podResource, project, "analysis-worker-2", (pod) => setPodState(pod, "ready"));
    await cellShows(page, "dask-cluster-analysis", "readyWorkers", "2");
    await cellShows(page, "dask-worker-group-analysis-default", "readyWorkers", "2");

    cluster.delete(podResource, project, "jupyter-alice");
    await page.getByTestId("ide-jupyter-alice").waitFor({ state: "detached" });
    await page.getByTestId("pod-jupyter-alice").waitFor({ state: "detached" });

    expect(await page.evaluate(() => "loadedOnce" in window)).toBe(true);
    await connection(page, "connection", "live");
    await page.screenshot({ path: join(artifactDir, "dashboard.png"), fullPage: true, animations: "disabled" });
  });

  it("subscribes again after a retryable StreamError (a rolling restart: SHUTTING_DOWN) and shows the fresh state", async () => {
    await page.goto(`${dashboardUrl}?project=team-b`);
    await connection(page, "connection-pods", "live");
    await expect(page.getByTestId("connection-pods").getAttribute("data-resubscribes")).resolves.toBe("0");
    // Every text the pods badge shows from now on, however briefly.
    await page.getByTestId("connection-pods").evaluate((badge) => {
      const shown: string[] = [];
      new MutationObserver(() => shown.push(badge.textContent ?? "")).observe(badge, {
        childList: true,
        characterData: true,
        subtree: true,
      });
      Object.assign(window, { shownByPodsBadge: shown });
    });

    // kubesub is replaced on the same port, as a rolling upgrade does; pods change meanwhile.
    const port = Number(new URL(kubesub.origin).port);
    await kubesub.close();
    for (let i = 0; i < 25; i += 1) {
      cluster.create(podResource, podObject({ name: `burst-${String(i).padStart(2, "0")}`, namespace: "team-b", user: "dan" }));
    }
    kubesub = await startKubesub(sourcesWithMissingCrd(cluster, missing), options, port);

    await page.locator('[data-testid="connection-pods"][data-state="live"]:not([data-resubscribes="0"])').waitFor();
    await expect.poll(() => page.getByTestId("table-pods").locator("tbody tr").count(), { timeout: showTimeoutMs }).toBe(25);
    await cellShows(page, "pod-burst-24", "status", "Pending");
    const shown = await page.evaluate(() => (window as unknown as { shownByPodsBadge: string[] }).shownByPodsBadge);
    expect(shown.join("\n")).toMatch(/^reconnecting in [\d.]+ s \(SHUTTING_DOWN: /m);
  });

  it("switches project from the page and shows an error, without retrying, for a project kubesub refuses", async () => {
    await page.goto(dashboardUrl);
    await expect(page.getByTestId("project").inputValue()).resolves.toBe(project);
    await connection(page, "connection", "live");

    await page.getByTestId("project").fill("Not_A_Namespace");
    await page.getByTestId("project").press("Enter");
    await connection(page, "connection", "error");
    for (const stream of streams) await connection(page, `connection-${stream}`, "error");
    await page.getByTestId("connection-pods").filter({ hasText: "not a valid namespace name" }).waitFor();
    await expect(page.getByTestId("connection-pods").getAttribute("data-resubscribes")).resolves.toBe("0");
    expect(new URL(page.url()).searchParams.get("project")).toBe("Not_A_Namespace");

    await page.goBack();
    await connection(page, "connection", "live");
    await page.getByTestId("pod-etl-2").waitFor();
  });

  it("tells which resource kubesub cannot read yet (ResourceUnavailable), then shows its objects once it can", async () => {
    await page.goto(`${dashboardUrl}?project=team-a`);
    await connection(page, "connection-dask", "live");
    const notice = page.locator(
      '[data-testid="notices-dask"] li[data-resource="daskjobs.kubernetes.dask.org"][data-reason="NOT_INSTALLED"]',
    );
    await notice.waitFor();

    // The CRD is installed and a job created: kubesub's next retry reads it, and it arrives as an ordinary DaskJobAdded.
    missing.daskJobs = false;
    cluster.create(
      daskJobResource,
      daskJobObject({ name: "backfill", namespace: "team-a", user: "alice", status: { jobStatus: "JobCreated" } }),
    );
    await cellShows(page, "dask-job-backfill", "status", "Job created");
    await notice.waitFor({ state: "detached" });
    await connection(page, "connection-dask", "live");
  });

  // Last: it shuts kubesub down.
  it("shows reconnecting, with the reason, when kubesub shuts down", async () => {
    await page.goto(`${dashboardUrl}?project=${project}`);
    await connection(page, "connection", "live");

    await kubesub.close();
    for (const stream of streams) await connection(page, `connection-${stream}`, "reconnecting");
    await connection(page, "connection", "reconnecting");
    // What was last known stays on screen, marked by the badges as possibly stale.
    await page.getByTestId("pod-etl-2").waitFor();
    await page.screenshot({ path: join(artifactDir, "dashboard-reconnecting.png"), fullPage: true, animations: "disabled" });
  });
});
