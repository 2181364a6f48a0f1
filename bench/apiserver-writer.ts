// The apiserver section's source of changes: patches the stamp label of one of the bench pods at a
// fixed rate on the real apiserver, the label's value being Date.now() taken right before the PATCH
// is sent. Forked by apiserver-baseline.ts (argv: kubeconfig path, namespace, pod count); runs in
// its own process, apart from the subscribers it is measured by.
import { Agent, request } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import type { WriterCommand, WriterMessage } from "./apiserver-protocol.ts";
import { LatencyHistogram } from "./latency-histogram.ts";
import { stampLabel } from "./protocol.ts";
import { Ticker } from "./ticker.ts";

const [kubeconfigPath, namespace, podCountText] = process.argv.slice(2);
if (!kubeconfigPath || !namespace || !podCountText) throw new Error("usage: apiserver-writer.ts KUBECONFIG NAMESPACE PODS");
const pods = Number(podCountText);
/** More in flight than this and the apiserver is not keeping up: skip the tick (and count it). */
const maxInFlight = 50;

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfigPath);
const server = kubeConfig.getCurrentCluster()?.server;
if (!server) throw new Error(`${kubeconfigPath} has no current cluster`);
const options: import("node:https").RequestOptions = { method: "PATCH", headers: {} };
await kubeConfig.applyToHTTPSOptions(options);
// One keep-alive pool: a patch costs a request, not a TLS handshake.
options.agent = new Agent({ keepAlive: true, maxSockets: maxInFlight, ca: options.ca });
options.headers = { ...options.headers, "content-type": "application/merge-patch+json" };

let sent = 0;
let ok = 0;
let failed = 0;
let skipped = 0;
let inFlight = 0;
let startedAt = 0;
let serial = 0;
let patchTimes = new LatencyHistogram();

function patch(): void {
  if (inFlight >= maxInFlight) {
    skipped += 1;
    return;
  }
  serial += 1;
  const name = `bench-${serial % pods}`;
  const started = Date.now();
  const body = JSON.stringify({ metadata: { labels: { [stampLabel]: String(started) } } });
  inFlight += 1;
  sent += 1;
  const done = (success: boolean) => {
    inFlight -= 1;
    if (success) {
      ok += 1;
      patchTimes.record(Date.now() - started);
    } else failed += 1;
  };
  const req = request(new URL(`/api/v1/namespaces/${namespace}/pods/${name}`, server), options, (res) => {
    res.resume();
    res.on("end", () => done((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
    res.on("error", () => done(false));
  });
  req.setTimeout(10_000, () => req.destroy(new Error("PATCH timed out")));
  req.on("error", () => done(false));
  req.end(body);
}

const ticker = new Ticker(patch);
const send = (message: WriterMessage) => process.send?.(message);
process.on("message", (command: WriterCommand) => {
  switch (command.type) {
    case "start":
      sent = ok = failed = skipped = 0;
      patchTimes = new LatencyHistogram();
      startedAt = performance.now();
      ticker.start(command.rate);
      return;
    case "stop":
      ticker.stop();
      send({
        type: "stopped",
        sent,
        ok,
        failed,
        skipped,
        seconds: (performance.now() - startedAt) / 1000,
        patchP50: patchTimes.quantile(0.5),
        patchP99: patchTimes.quantile(0.99),
      });
      return;
    case "exit":
      ticker.stop();
      process.exit(0);
  }
});
// The orchestrator is gone (crashed or killed): nothing to write for.
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });
