// The design kubesub replaces: every subscriber lists and watches the apiserver itself. Holds N
// client-node list+watch pairs (CoreV1Api.listNamespacedPod, then Watch on the collection from the
// list's resourceVersion, each with its own store of pods, as an informer per subscriber would) and
// measures, for every watch event that carries a stamped change, the time from the stamp to its
// arrival. No reconnects: a watch that ends while measured counts as closed.
// Forked by apiserver-baseline.ts (argv: kubeconfig path); speaks WatchLoadCommand/WatchLoadMessage.
import { CoreV1Api, KubeConfig, type V1Pod, Watch } from "@kubernetes/client-node";
import type { WatchLoadCommand, WatchLoadMessage } from "./apiserver-protocol.ts";
import { DeliveryRecorder } from "./delivery-recorder.ts";
import { stampLabel } from "./protocol.ts";

const kubeconfigPath = process.argv[2];
if (!kubeconfigPath) throw new Error("usage: apiserver-watch-load.ts KUBECONFIG");
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfigPath);
const core = kubeConfig.makeApiClient(CoreV1Api);
const watcher = new Watch(kubeConfig);
// client-node aborts a watch that is silent for 30 s; the idle phases of the benchmark are longer.
Object.assign(watcher, { requestTimeoutMs: 3_600_000 });

const controllers: AbortController[] = [];
let established = 0;
const recorder = new DeliveryRecorder();
const errors = new Map<string, number>();

const send = (message: WatchLoadMessage) => process.send?.(message);
const noteError = (error: unknown) => {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  errors.set(text, (errors.get(text) ?? 0) + 1);
};

/** One subscriber: LIST, then WATCH from the list's resourceVersion. Resolves true once the watch is open. */
async function subscribe(namespace: string): Promise<boolean> {
  try {
    const list = await core.listNamespacedPod({ namespace });
    const store = new Map<string, V1Pod>(list.items.map((pod) => [pod.metadata?.name ?? "", pod]));
    let ended = false;
    const controller = await watcher.watch(
      `/api/v1/namespaces/${namespace}/pods`,
      { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 3_600 },
      (phase: string, object: V1Pod) => {
        if (phase !== "ADDED" && phase !== "MODIFIED" && phase !== "DELETED") return;
        const name = object.metadata?.name ?? "";
        if (phase === "DELETED") store.delete(name);
        else store.set(name, object);
        if (!recorder.measuring || phase !== "MODIFIED") return;
        const stamp = object.metadata?.labels?.[stampLabel];
        if (stamp === undefined) return;
        recorder.delivered(Number(stamp));
      },
      (error: unknown) => {
        if (!ended && error) noteError(error);
        ended = true;
        recorder.streamClosed();
      },
    );
    if (ended) return false;
    controllers.push(controller);
    established += 1;
    return true;
  } catch (error) {
    noteError(error);
    return false;
  }
}

process.on("message", async (command: WatchLoadCommand) => {
  switch (command.type) {
    case "connect": {
      const started = Date.now();
      const deadline = started + command.timeoutMs;
      let attempted = 0;
      let timedOut = false;
      // Waves of `concurrency` subscribers; a wave still running at the deadline is not waited for.
      while (attempted < command.subscribers) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          timedOut = true;
          break;
        }
        const wave = Math.min(command.concurrency, command.subscribers - attempted);
        attempted += wave;
        let timer: NodeJS.Timeout | undefined;
        const finished = await Promise.race([
          Promise.all(Array.from({ length: wave }, () => subscribe(command.url))).then(() => true),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), remaining);
          }),
        ]);
        clearTimeout(timer);
        if (!finished) {
          timedOut = true;
          break;
        }
      }
      send({
        type: "connected",
        subscribers: established,
        failed: command.subscribers - established,
        ms: Date.now() - started,
        timedOut,
        errors: [...errors].map(([text, count]) => `${count} x ${text}`).slice(0, 5),
      });
      return;
    }
    case "measure":
      recorder.measure();
      return;
    case "report":
      send({ type: "report", ...recorder.report() });
      return;
    case "exit":
      for (const controller of controllers) controller.abort();
      process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
