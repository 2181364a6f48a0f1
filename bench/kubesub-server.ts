// kubesub as the benchmark runs it: the real server (src/app.ts) over an in-memory cluster whose
// pods the orchestrator asks to change at a fixed rate, each change stamped with its time.
// Forked by run.ts; speaks the protocol in protocol.ts over IPC.
import { createKubesub } from "../src/app.ts";
import type { KubePod } from "../src/domain/pod.ts";
import { MemoryCluster } from "../src/kube/memory-cluster.ts";
import { podResource } from "../src/kube/resources.ts";
import { benchProject, stampLabel } from "./protocol.ts";
import { benchKubesubOptions, send, serveCommands } from "./server-process.ts";
import { Ticker } from "./ticker.ts";

const pods = 20;
const cluster = new MemoryCluster();
cluster.historyLimit = 1_000;
for (let i = 0; i < pods; i += 1) {
  cluster.create<KubePod>(podResource, {
    metadata: { name: `bench-${i}`, namespace: benchProject, labels: { app: "bench", [stampLabel]: "0" } },
    status: { phase: "Running" },
  });
}

const app = createKubesub(benchKubesubOptions((type, namespace) => cluster.source(type, namespace)));

let serial = 0;
const ticker = new Ticker(() => {
  serial += 1;
  const name = `bench-${serial % pods}`;
  cluster.update<KubePod>(podResource, benchProject, name, (pod) => {
    pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, [stampLabel]: String(Date.now()) } };
  });
});

serveCommands({ start: (rate) => ticker.start(rate), stop: () => ticker.stop(), close: () => app.shutdown() });

const address = await app.listen(0, "127.0.0.1");
send({ type: "ready", port: address.port });
