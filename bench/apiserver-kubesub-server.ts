// kubesub as the apiserver section of the benchmark runs it: the real server (src/app.ts) on the real
// apiserver through kubeApiSources, as src/main.ts wires it, with the settings of
// bench/kubesub-server.ts. The pods change through apiserver-writer.ts, so "start" and "stop" have
// nothing to do here. Forked by apiserver-baseline.ts (argv: kubeconfig path); speaks the protocol
// in protocol.ts over IPC.
import { KubeConfig, VersionApi } from "@kubernetes/client-node";
import { createKubesub } from "../src/app.ts";
import { kubeApiSources } from "../src/kube/kube-api-source.ts";
import { benchKubesubOptions, send, serveCommands } from "./server-process.ts";

const kubeconfigPath = process.argv[2];
if (!kubeconfigPath) throw new Error("usage: apiserver-kubesub-server.ts KUBECONFIG");
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfigPath);
const versions = kubeConfig.makeApiClient(VersionApi);

const app = createKubesub(
  benchKubesubOptions(kubeApiSources(kubeConfig), async () => {
    await versions.getCode();
  }),
);
serveCommands({ start() {}, stop: () => 0, close: () => app.shutdown() });

const address = await app.listen(0, "127.0.0.1");
send({ type: "ready", port: address.port });
