import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiDiscovery } from "../../src/kube/discovery.ts";
import { KubeApiError } from "../../src/kube/errors.ts";
import {
  daskAutoscalerResource,
  daskClusterResource,
  daskJobResource,
  daskWorkerGroupResource,
  podResource,
} from "../../src/kube/resources.ts";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** An apiserver's discovery, with the groups and versions it serves, counting the GETs it answers. */
function apiServer(served: Record<string, string[]>) {
  const asked: string[] = [];
  const get = async (path: string) => {
    asked.push(path);
    const resources = served[path.replace(/^\/apis\//, "")];
    return resources ? { status: 200, body: { resources: resources.map((name) => ({ name })) } } : { status: 404 };
  };
  return { asked, get, served };
}

const notInstalled = (promise: Promise<void>) =>
  promise.then(
    () => "served",
    (error: unknown) => (error instanceof KubeApiError ? `${error.statusCode ?? error.message}` : String(error)),
  );

describe("ApiDiscovery", () => {
  it("learns a missing group once for every resource, namespace and retry within its TTL, then asks again", async () => {
    const server = apiServer({});
    const discovery = new ApiDiscovery(server.get, { ttlMs: 10_000 });
    const dask = [daskClusterResource, daskWorkerGroupResource, daskAutoscalerResource, daskJobResource];
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, () => dask.map((type) => notInstalled(discovery.ensureServed(type)))).flat(),
    );
    expect(new Set(outcomes)).toEqual(new Set(["404"]));
    expect(server.asked).toEqual(["/apis/kubernetes.dask.org/v1"]);

    await vi.advanceTimersByTimeAsync(10_000);
    server.served["kubernetes.dask.org/v1"] = ["daskclusters", "daskclusters/status", "daskjobs"];
    expect(await notInstalled(discovery.ensureServed(daskClusterResource))).toBe("served");
    expect(await notInstalled(discovery.ensureServed(daskJobResource))).toBe("served");
    expect(await notInstalled(discovery.ensureServed(daskWorkerGroupResource))).toBe("404");
    expect(server.asked).toEqual(["/apis/kubernetes.dask.org/v1", "/apis/kubernetes.dask.org/v1"]);
  });

  it("never asks about the core group", async () => {
    const server = apiServer({});
    await new ApiDiscovery(server.get).ensureServed(podResource);
    expect(server.asked).toEqual([]);
  });

  it("does not believe a failed discovery: the next call asks again", async () => {
    let fail = true;
    const asked: string[] = [];
    const discovery = new ApiDiscovery(async (path) => {
      asked.push(path);
      if (fail) throw new KubeApiError("connection refused");
      return { status: 200, body: { resources: [{ name: "daskclusters" }] } };
    });
    expect(await notInstalled(discovery.ensureServed(daskClusterResource))).toContain("connection refused");
    fail = false;
    expect(await notInstalled(discovery.ensureServed(daskClusterResource))).toBe("served");
    expect(asked).toHaveLength(2);
  });
});
