// A web UI served from another origin than kubesub's, in headless Chromium, streaming with
// graphql-sse's own client in single connection mode (the mode browsers on HTTP/1.1 need): Chromium
// enforces CORS on its PUT reservation, its token header and its DELETE, which kubesub's
// --cors-origins must allow.

import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import { podResource } from "../../src/kube/resources.ts";
import { podObject } from "../helpers/ide-dask-fixtures.ts";
import { type RunningKubesub, startOnMemoryCluster } from "../helpers/kubesub-server.ts";
import { hasChromium, launchChromium, skipNote } from "./chromium.ts";

const graphqlSseLib = fileURLToPath(new URL("../../node_modules/graphql-sse/lib/", import.meta.url));

const page = (kubesubOrigin: string) => `<!doctype html>
<title>kubesub cross-origin UI</title>
<script type="module">
  import { createClient } from "/graphql-sse/client.mjs";
  const client = createClient({ url: "${kubesubOrigin}/graphql/stream", singleConnection: true, retryAttempts: 0 });
  window.events = [];
  window.failures = [];
  window.unsubscribe = client.subscribe(
    { query: 'subscription { podEvents(project: "team-a") { __typename ... on PodAdded { pod { name } } } }' },
    {
      next: (result) => window.events.push(result.data?.podEvents?.__typename === "PodAdded" ? "PodAdded " + result.data.podEvents.pod.name : result.data?.podEvents?.__typename ?? JSON.stringify(result)),
      error: (error) => window.failures.push(String(error?.message ?? error)),
      complete: () => window.events.push("complete"),
    },
  );
</script>`;

describe.skipIf(!hasChromium)(`a UI on another origin, in headless Chromium${skipNote}`, () => {
  let kubesub: RunningKubesub & { cluster: MemoryCluster };
  let browser: Browser;
  let ui: Page;
  let uiServer: Server;
  let uiOrigin: string;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    // The UI's own server: its page and graphql-sse's client modules, on another port of loopback,
    // so every request to kubesub is cross-origin.
    uiServer = createServer((request, response) => {
      const path = new URL(request.url ?? "/", "http://localhost").pathname;
      const module = /^\/graphql-sse\/([a-z]+\.mjs)$/.exec(path);
      if (path === "/") response.writeHead(200, { "content-type": "text/html" }).end(page(kubesub.origin));
      else if (module?.[1])
        readFile(`${graphqlSseLib}${module[1]}`, "utf8").then((text) =>
          response.writeHead(200, { "content-type": "text/javascript" }).end(text),
        );
      else response.writeHead(404).end();
    });
    uiServer.listen(0, "127.0.0.1");
    await once(uiServer, "listening");
    uiOrigin = `http://127.0.0.1:${(uiServer.address() as AddressInfo).port}`;
    const [server, chromium] = await Promise.all([
      startOnMemoryCluster({
        security: { graphiql: false, corsOrigins: [uiOrigin] },
      }),
      launchChromium(),
    ]);
    kubesub = server;
    browser = chromium;
    const context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    ui = await context.newPage();
    ui.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await kubesub?.close();
    uiServer?.close();
  });

  it("streams live in single connection mode, and its unsubscribe (DELETE) ends the subscription", async () => {
    kubesub.cluster.create(podResource, podObject({ name: "alice-notebook", namespace: "team-a", user: "alice" }));
    await ui.goto(`${uiOrigin}/`);
    const events = () => ui.evaluate(() => (window as unknown as { events: string[] }).events);
    await ui.waitForFunction(() => (window as unknown as { events: string[] }).events.includes("InitialStateComplete"));
    expect(await events()).toEqual(["PodAdded alice-notebook", "InitialStateComplete"]);

    kubesub.cluster.create(podResource, podObject({ name: "alice-live", namespace: "team-a", user: "alice" }));
    await ui.waitForFunction(() => (window as unknown as { events: string[] }).events.includes("PodAdded alice-live"));
    expect(kubesub.app.openStreams).toBe(1);

    await ui.evaluate(() => (window as unknown as { unsubscribe: () => void }).unsubscribe());
    await kubesub.app.streamsDrained();
    expect(await ui.evaluate(() => (window as unknown as { failures: string[] }).failures)).toEqual([]);
    expect(consoleErrors.filter((text) => /CORS|Access-Control/i.test(text))).toEqual([]);
  });
});
