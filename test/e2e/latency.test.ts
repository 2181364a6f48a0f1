// Delivery latency, measured end to end: a label patch through the Kubernetes API, to the
// PodUpdated event reaching a graphql-sse client. Printed, not asserted beyond a sanity bound: the
// numbers depend on the machine, and this one runs the apiservers, etcd, kubesub and the client.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { controlPlane, type TestNamespace } from "../helpers/control-plane.ts";
import type { RunningKubesub } from "../helpers/kubesub-server.ts";
import { createPod, isComplete, PodEventStream, rv, setLabel, startKubesubOn } from "./support.ts";

const cp = controlPlane();
const writes = 200;
let ns: TestNamespace;
let kubesub: RunningKubesub | undefined;
let stream: PodEventStream | undefined;

beforeEach(async () => {
  ns = await cp.createNamespace("latency");
});

afterEach(async () => {
  stream?.close();
  await kubesub?.close();
  kubesub = undefined;
  await ns.delete();
});

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;

function row(label: string, values: number[]): Record<string, string> {
  const sorted = [...values].sort((a, b) => a - b);
  const ms = (v: number) => v.toFixed(1);
  return {
    "": label,
    min: ms(sorted[0] ?? Number.NaN),
    p50: ms(percentile(sorted, 50)),
    p90: ms(percentile(sorted, 90)),
    p99: ms(percentile(sorted, 99)),
    max: ms(sorted.at(-1) ?? Number.NaN),
  };
}

describe("latency", () => {
  it(`${writes} label patches in sequence: from the write to the subscriber's event`, async () => {
    const core = cp.core();
    await createPod(core, ns.name, "target", "alice");
    kubesub = await startKubesubOn(cp);
    stream = new PodEventStream(kubesub.origin, { project: ns.name });
    await stream.take({ until: isComplete });

    const fromReturn: number[] = [];
    const fromSend: number[] = [];
    for (let i = 0; i < writes; i++) {
      const sent = performance.now();
      const written = rv(await setLabel(core, ns.name, "target", "seq", String(i)));
      const returned = performance.now();
      const [received] = await stream.takeReceived({ count: 1, timeoutMs: 10_000 });
      expect(received?.event).toMatchObject({ __typename: "PodUpdated", resourceVersion: written, changedFields: ["labels"] });
      // The event may reach the client before the write's own response does: then this is negative.
      fromReturn.push((received?.at ?? Number.NaN) - returned);
      fromSend.push((received?.at ?? Number.NaN) - sent);
    }

    const table = [row("write returned -> SSE event", fromReturn), row("write sent -> SSE event", fromSend)];
    console.log(`delivery latency in ms over ${writes} sequential label patches (apiserver, etcd, kubesub and client on one machine)`);
    console.table(table);
    expect(
      percentile(
        [...fromSend].sort((a, b) => a - b),
        99,
      ),
    ).toBeLessThan(5_000);
  });
});
