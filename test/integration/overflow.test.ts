import { connect } from "node:net";
import { afterEach, expect, it, vi } from "vitest";
import type { KubePod } from "../../src/domain/pod.ts";
import { podResource } from "../../src/kube/resources.ts";
import { type RunningKubesub, startOnMemoryCluster } from "../helpers/kubesub-server.ts";
import { podFixture } from "../helpers/pods.ts";

let kubesub: (RunningKubesub & { cluster: import("../../src/kube/memory-cluster.ts").MemoryCluster }) | undefined;
afterEach(() => kubesub?.close());

const overflows = async (origin: string) => {
  const text = await (await fetch(`${origin}/metrics`)).text();
  return Number(/^kubesub_subscriber_overflows_total\{field="podEvents"\} (\d+)/m.exec(text)?.[1] ?? 0);
};

it("a client that stops reading ends up with OVERFLOW, while kubesub and the informer go on", async () => {
  kubesub = await startOnMemoryCluster({ queueSize: 10 });
  const { cluster, origin } = kubesub;
  // Large events (many labels), so that socket buffers fill after a few thousand of them.
  const labels = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`label-${i}`, "v".repeat(60)]));
  cluster.create(podResource, podFixture("team-a", "big", { user: "alice", labels: labels }));

  // A real HTTP client that sends its subscription and then never reads a byte of the answer.
  const query = encodeURIComponent(
    `subscription { podEvents(project: "team-a") { __typename ... on PodUpdated { pod { name labels { key value } } } } }`,
  );
  const { port } = new URL(origin);
  const socket = connect(Number(port), "127.0.0.1");
  socket.pause();
  socket.write(`GET /graphql?query=${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
  await vi.waitFor(() => expect(kubesub?.app.views.snapshot()).toEqual([{ key: "pods/team-a", references: 1 }]), { timeout: 5_000 });

  let changes = 0;
  while ((await overflows(origin)) === 0 && changes < 50_000) {
    for (let i = 0; i < 500; i += 1) {
      changes += 1;
      cluster.update<KubePod>(podResource, "team-a", "big", (pod) => {
        pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, seq: String(changes) } };
      });
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(await overflows(origin)).toBe(1);
  // The stream is over: its view lease is released, and nothing waits on the stalled socket.
  expect(kubesub.app.views.snapshot()).toEqual([]);
  socket.destroy();

  // Everyone else is unaffected: a new subscriber gets the current state at once.
  const response = await fetch(`${origin}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: `{ pods(project: "team-a") { name labels { key value } } }` }),
  });
  const body = (await response.json()) as { data: { pods: { labels: { key: string; value: string }[] }[] } };
  expect(body.data.pods[0]?.labels.find((l) => l.key === "seq")?.value).toBe(String(changes));
}, 60_000);
