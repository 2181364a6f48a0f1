// kubesub as the multi-tenant benchmark runs it: the real server (src/app.ts) with --auth
// kubernetes, whose TokenReview and SubjectAccessReview answers come from in-process stubs (each
// token is its user's; every user may list and watch in every project), over an in-memory cluster
// holding the pods (and Dask objects) of every (project, user) of the layout (tenants-layout.ts).
// The orchestrator (tenants.ts) asks it to change a random object of a random (project, user) at a
// fixed rate, each change stamped with its time. Forked by tenants.ts; speaks protocol.ts and
// tenants-protocol.ts over IPC. argv: projects users reviewLatencyMs [kubeconfig]. With a
// kubeconfig (`--tenants --apiserver`), the reviews are real: TokenReview and SubjectAccessReview
// on that cluster, as `--auth kubernetes` sends them, and the stubs are not used.

import { KubeConfig } from "@kubernetes/client-node";
import { createKubesub } from "../src/app.ts";
import type { KubePod } from "../src/domain/pod.ts";
import { MemoryCluster } from "../src/kube/memory-cluster.ts";
import { daskClusterResource, daskJobResource, podResource } from "../src/kube/resources.ts";
import type { KubeObject } from "../src/kube/types.ts";
import { type Authenticator, TokenReviewAuthenticator } from "../src/server/auth/authenticator.ts";
import { type Authorizer, SubjectAccessReviewAuthorizer } from "../src/server/auth/authorizer.ts";
import { benchKubesubOptions, send, serveCommands } from "./server-process.ts";
import {
  ChangeLog,
  changeSequence,
  daskClusterName,
  daskJobName,
  hasDask,
  podNames,
  projectName,
  SameMillisecondGuard,
  stampLabel,
  stampTime,
  type TenantsLayout,
  userLabel,
  userName,
  userOfToken,
} from "./tenants-layout.ts";
import { serveCounts } from "./tenants-protocol.ts";
import { Ticker } from "./ticker.ts";

const layout: TenantsLayout = { projects: Number(process.argv[2]), users: Number(process.argv[3]) };
const reviewLatencyMs = Number(process.argv[4] ?? 0);
const reviewKubeconfig = process.argv[5];
const longAgo = "2026-01-01T00:00:00.000Z";

type DaskObject = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

const cluster = new MemoryCluster();
cluster.historyLimit = 10_000;
const runningPod = (namespace: string, name: string, labels: Record<string, string>): KubePod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace, labels: { ...labels, [stampLabel]: "0" } },
  spec: { nodeName: "node-1" },
  status: {
    phase: "Running",
    podIP: "10.0.0.7",
    startTime: longAgo,
    conditions: [
      { type: "PodScheduled", status: "True" },
      { type: "Ready", status: "True" },
    ],
    containerStatuses: [{ name: "main", ready: true, restartCount: 0, state: { running: { startedAt: longAgo } } }],
  },
});
for (let p = 0; p < layout.projects; p += 1) {
  const namespace = projectName(p);
  for (let u = 0; u < layout.users; u += 1) {
    const user = userName(u);
    const [a, b, ide] = podNames(u);
    cluster.create<KubePod>(podResource, runningPod(namespace, a ?? "", { app: "work", [userLabel]: user }));
    cluster.create<KubePod>(podResource, runningPod(namespace, b ?? "", { app: "work", [userLabel]: user }));
    cluster.create<KubePod>(podResource, runningPod(namespace, ide ?? "", { "kubesub.io/ide": "jupyterlab", [userLabel]: user }));
    if (!hasDask(p)) continue;
    cluster.create<DaskObject>(daskClusterResource, {
      apiVersion: "kubernetes.dask.org/v1",
      kind: "DaskCluster",
      metadata: { name: daskClusterName(u), namespace, labels: { [userLabel]: user } },
      spec: { scheduler: {}, worker: { replicas: 2 } },
      status: { phase: "Running" },
    });
    cluster.create<DaskObject>(daskJobResource, {
      apiVersion: "kubernetes.dask.org/v1",
      kind: "DaskJob",
      metadata: { name: daskJobName(u), namespace, labels: { [userLabel]: user } },
      spec: { job: {}, cluster: {} },
      status: { jobStatus: "Running", clusterName: daskClusterName(u), startTime: longAgo },
    });
  }
}

const review = <T>(answer: T): Promise<T> =>
  reviewLatencyMs > 0 ? new Promise((resolve) => setTimeout(() => resolve(answer), reviewLatencyMs)) : Promise.resolve(answer);
/** TokenReview: tenant.<p>.<u> is user-<u>; anything else is not a valid token. */
const authenticator: Authenticator = {
  authenticate: (token) => {
    const username = userOfToken(token);
    return review(username === undefined ? undefined : { username, uid: `uid-${username}`, groups: ["system:authenticated"], extra: {} });
  },
};
/** SubjectAccessReview: every user may list and watch everything in every project. */
const authorizer: Authorizer = { authorize: () => review({ allowed: true, reason: "bench: every (user, project) allowed" }) };

function realReviews(kubeconfigPath: string): { authenticator: Authenticator; authorizer: Authorizer } {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  kubeConfig.setCurrentContext("admin");
  return { authenticator: new TokenReviewAuthenticator(kubeConfig), authorizer: new SubjectAccessReviewAuthorizer(kubeConfig) };
}

const app = createKubesub({
  ...benchKubesubOptions((type, namespace) => cluster.source(type, namespace)),
  auth: { mode: "kubernetes", ...(reviewKubeconfig ? realReviews(reviewKubeconfig) : { authenticator, authorizer }) },
});

const next = changeSequence(layout);
const log = new ChangeLog();
const guard = new SameMillisecondGuard();
const ticker = new Ticker(() => {
  const change = next();
  const stamp = Date.now();
  if (!guard.fresh(change, stamp)) return;
  const namespace = projectName(change.p);
  if (change.kind === "dask-job") {
    cluster.update<DaskObject>(daskJobResource, namespace, change.name, (job) => {
      job.status = { ...job.status, startTime: stampTime(stamp) };
    });
  } else {
    cluster.update<KubePod>(podResource, namespace, change.name, (pod) => {
      pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, [stampLabel]: String(stamp) } };
      pod.status = { ...pod.status, startTime: stampTime(stamp) };
    });
  }
  log.record(stamp, change.routed);
});

serveCommands({ start: (rate) => ticker.start(rate), stop: () => ticker.stop(), close: () => app.shutdown() });
serveCounts((from, to) => log.between(from, to));

const address = await app.listen(0, "127.0.0.1");
send({ type: "ready", port: address.port });
