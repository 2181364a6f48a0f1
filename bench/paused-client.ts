// What kubesub holds for a client that stops reading: one podEvents subscription over real HTTP
// (distinct connections mode) whose client never reads a byte, while --rate pod changes a second
// go to a fixed set of --pods pods for --seconds. Prints, and writes to bench/results/paused-client.json,
// the heap (and array buffers) held then against before the changes (after a full GC each time),
// and whether the stream was still open or had ended with OVERFLOW.
//
// --reading: the control, a client that reads everything (the same changes, the same view and
// history, the same in-memory cluster); what the paused client holds is the difference.
//
//   bash bin/node24 --expose-gc bench/paused-client.ts [--seconds 60] [--rate 200] [--pods 100] [--reading] [--out file]
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { parseArgs } from "node:util";
import { podResource } from "../src/kube/resources.ts";
import { defaultSettings } from "../src/options.ts";
import { startOnMemoryCluster } from "../test/helpers/kubesub-server.ts";
import { podFixture } from "../test/helpers/pods.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    rate: { type: "string", default: "200" },
    pods: { type: "string", default: "100" },
    out: { type: "string", default: "" },
    reading: { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const pods = Number(values.pods);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");

function held() {
  gc?.();
  gc?.();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heapUsed, arrayBuffers };
}

// kubesub's defaults (--queue-size, --max-buffered-bytes where it exists), not the tests'.
const kubesub = await startOnMemoryCluster({ queueSize: defaultSettings.queueSize });
const { cluster, origin } = kubesub;
const labels = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`app.kubernetes.io/label-${i}`, `value-${i}`]));
for (let i = 0; i < pods; i += 1) cluster.create(podResource, podFixture("team-a", `pod-${i}`, { user: "alice", labels }));

const query = encodeURIComponent(
  `subscription { podEvents(project: "team-a") { __typename ... on PodUpdated { changedFields pod { name status labels { key value } } } ... on StreamError { code } } }`,
);
const socket = connect(Number(new URL(origin).port), "127.0.0.1");
if (values.reading) socket.resume();
else socket.pause(); // never reads
socket.write(`GET /graphql?query=${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
while (kubesub.app.openStreams === 0) await new Promise((resolve) => setTimeout(resolve, 10));
await new Promise((resolve) => setTimeout(resolve, 500));
const before = held();

let changes = 0;
let endedAfterMs: number | undefined;
const started = performance.now();
const perTick = rate / 20;
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i += 1) {
      changes += 1;
      cluster.update(podResource, "team-a", `pod-${changes % pods}`, (pod: { metadata?: { labels?: Record<string, string> } }) => {
        pod.metadata = { ...pod.metadata, labels: { ...labels, seq: String(changes) } };
      });
    }
    if (endedAfterMs === undefined && kubesub.app.openStreams === 0) endedAfterMs = performance.now() - started;
    if (performance.now() - started >= seconds * 1_000) {
      clearInterval(timer);
      resolve();
    }
  }, 50);
});
const after = held();
const result = {
  client: values.reading ? "reading" : "paused",
  seconds,
  rate,
  pods,
  changes,
  streamOpen: kubesub.app.openStreams === 1,
  endedAfterSeconds: endedAfterMs === undefined ? null : Math.round(endedAfterMs / 100) / 10,
  heldHeapBytes: after.heapUsed - before.heapUsed,
  heldArrayBufferBytes: after.arrayBuffers - before.arrayBuffers,
  node: process.version,
  at: new Date().toISOString(),
};
console.log(JSON.stringify(result, null, 2));
if (values.out) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
socket.destroy();
await kubesub.close();
process.exit(0);
