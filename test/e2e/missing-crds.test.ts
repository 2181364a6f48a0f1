// Custom resources that are not installed cost the apiserver almost nothing, however many projects
// are subscribed: kubesub learns it once per API group and version (discovery), not from a failing
// LIST per resource and namespace, and every stream says NOT_INSTALLED.
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  daskAutoscalerResource,
  daskClusterResource,
  daskJobResource,
  daskWorkerGroupResource,
  notebookResource,
} from "../../src/kube/resources.ts";
import { controlPlane } from "../helpers/control-plane.ts";
import { kubeConfigFor, sumMetric } from "../helpers/control-plane-kube.ts";
import { type KubesubProcess, startKubesubProcess } from "../helpers/kubesub-process.ts";
import { readSse } from "../helpers/sse.ts";
import { take } from "../helpers/streams.ts";
import { deleteCrd, restoreCrds } from "./support-ide-dask.ts";

const cp = controlPlane();
const projects = 100;
const windowSeconds = 15;
const missing = [daskClusterResource, daskWorkerGroupResource, daskAutoscalerResource, daskJobResource, notebookResource];
let kubesub: KubesubProcess | undefined;

beforeAll(async () => {
  for (const type of missing) await deleteCrd(cp, type);
}, 180_000);

afterAll(async () => {
  await kubesub?.stop();
  await restoreCrds(cp);
}, 180_000);

/**
 * Requests kubesub's informers have sent to the apiserver so far, as kubesub counts them: the
 * apiserver's own apiserver_request_total does not count requests for a group it does not serve.
 */
async function requestsSoFar(origin: string): Promise<number> {
  return sumMetric(await (await fetch(`${origin}/metrics`)).text(), "kubesub_apiserver_requests_total", {});
}

it(`with the Dask and Notebook CRDs absent and ${projects} projects subscribed, kubesub costs the apiserver a few requests a minute`, async () => {
  kubesub = await startKubesubProcess(kubeConfigFor(cp.info, "admin", "main"), [
    "--auth",
    "none",
    "--retry-max",
    "2000",
    "--max-subscriptions-per-identity",
    String(projects * 2 + 10),
  ]);
  const streams: AbortController[] = [];
  const starts: string[][] = [];
  for (let i = 0; i < projects; i++) {
    for (const field of ["daskEvents", "ideEvents"]) {
      const controller = new AbortController();
      streams.push(controller);
      const response = await fetch(`${kubesub.origin}/graphql`, {
        method: "POST",
        headers: { accept: "text/event-stream", "content-type": "application/json" },
        body: JSON.stringify({
          query: `subscription { ${field}(project: "absent-${i}") { __typename ... on ResourceUnavailable { resource reason } } }`,
        }),
        signal: controller.signal,
      });
      const frames = await take(readSse(response.body as ReadableStream<Uint8Array>), {
        until: (frame) => frame.data.includes("InitialStateComplete"),
        timeoutMs: 60_000,
      });
      starts.push(frames.map((frame) => frame.data));
    }
  }
  const unavailable = starts.flat().filter((data) => data.includes("NOT_INSTALLED"));
  // daskEvents: the four Dask resources; ideEvents: notebooks. Each named once per stream.
  expect(unavailable).toHaveLength(projects * 5);

  const before = await requestsSoFar(kubesub.origin);
  await new Promise((resolve) => setTimeout(resolve, windowSeconds * 1_000));
  const during = (await requestsSoFar(kubesub.origin)) - before;
  const perMinute = Math.round((during * 60) / windowSeconds);
  console.info(`CRDs absent, ${projects} projects (${streams.length} streams): kubesub sent ${perMinute} apiserver requests a minute`);
  // Two groups and versions, each asked again about every 10 s: a dozen a minute. A failing LIST
  // per resource and namespace, retried every 2 s, would be thousands.
  expect(perMinute).toBeGreaterThan(0);
  expect(perMinute).toBeLessThan(60);
  for (const stream of streams) stream.abort();
}, 300_000);
