// kubesub's GraphiQL in headless Chromium: the page loads from /graphql, runs a subscription over
// SSE when its run button is clicked, and shows each event as it streams in.
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import { podObject } from "../helpers/ide-dask-fixtures.ts";
import { type RunningKubesub, startOnMemoryCluster } from "../helpers/kubesub-server.ts";
import { artifactDir, hasChromium, launchChromium, skipNote } from "./chromium.ts";

describe.skipIf(!hasChromium)(`GraphiQL in headless Chromium${skipNote}`, () => {
  let kubesub: RunningKubesub & { cluster: MemoryCluster };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const [server, chromium] = await Promise.all([startOnMemoryCluster(), launchChromium()]);
    kubesub = server;
    browser = chromium;
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(15_000);
    // kubesub serves GraphiQL's scripts itself: any request leaving loopback is a failure.
    await context.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => {
      pageErrors.push(`request left the machine: ${route.request().url()}`);
      return route.abort();
    });
    page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await kubesub?.close();
  });

  it("loads at /graphql and streams podEvents into the result pane when run is clicked", async () => {
    kubesub.cluster.create(podResource, podObject({ name: "alice-notebook", namespace: "team-a", user: "alice", state: "ready" }));

    // Opened as a newcomer would: GraphiQL comes prefilled with the AlicePods subscription.
    await page.goto(`${kubesub.origin}/graphql`);
    const run = page.getByRole("button", { name: /^Execute query/ });
    const result = page.locator(".graphiql-response");
    await page.locator(".graphiql-query-editor").filter({ hasText: "subscription AlicePods" }).waitFor();
    await run.click();

    // Each event replaces the last in the pane: the initial state ends with its marker...
    await result.filter({ hasText: '"__typename": "InitialStateComplete"' }).waitFor();
    await result.filter({ hasText: '"count": 1' }).waitFor();
    // ...then a pod created now arrives live, on the same open stream.
    kubesub.cluster.create(podResource, podObject({ name: "alice-live", namespace: "team-a", user: "alice" }));
    await result.filter({ hasText: '"__typename": "PodAdded"' }).filter({ hasText: '"name": "alice-live"' }).waitFor();
    await result.filter({ hasText: '"cause": "CLUSTER_CHANGE"' }).waitFor();

    await page.screenshot({ path: join(artifactDir, "graphiql.png") });
    expect(pageErrors).toEqual([]);
  });
});
