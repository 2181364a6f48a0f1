// What the snapshot benchmarks (cache-memory.ts, snapshot-apiserver.ts) time: the dashboard's
// PodEvents subscription (examples/operations/pods.graphql) over HTTP, read until its
// InitialStateComplete frame.
import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Subscribes to PodEvents of `project` on the kubesub at `port`, with the operations of the
 * checkout at `root`, and reads the stream until InitialStateComplete; the bytes and frames read.
 * Throws when the subscription is refused or the stream ends first.
 */
export async function readToInitialState(port: number, root: string, project: string): Promise<{ bytes: number; frames: number }> {
  const operations = ["pods.graphql", "stream-events.graphql"].map((file) => readFileSync(join(root, "examples/operations", file), "utf8"));
  const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { accept: "text/event-stream", "content-type": "application/json" },
    body: JSON.stringify({ query: operations.join("\n"), operationName: "PodEvents", variables: { project } }),
  });
  if (!response.ok || !response.body) throw new Error(`subscription refused: HTTP ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let tail = "";
  let bytes = 0;
  let frames = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the stream ended before InitialStateComplete");
    bytes += value.byteLength;
    const text = tail + decoder.decode(value, { stream: true });
    frames += text.split("\n\n").length - 1;
    if (text.includes('"__typename":"InitialStateComplete"')) break;
    tail = text.slice(-64);
  }
  await reader.cancel();
  return { bytes, frames };
}
