// Object identity as a client sees it, over real HTTP against the real server on an in-memory
// cluster: every model's id, node(id) for each of the six types, ids that are the same on another
// replica and for a pod made again under the same name, BAD_USER_INPUT for what is not an id, and
// node(id) answering exactly as for a missing object when the caller may not read the project or
// the object (authentication on: a bearer token per user, RBAC decided per namespace).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryCluster } from "../../src/kube/memory-cluster.ts";
import {
  daskAutoscalerResource,
  daskClusterResource,
  daskJobResource,
  daskWorkerGroupResource,
  notebookResource,
  podResource,
} from "../../src/kube/resources.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import type { KubesubOverrides } from "../../src/options.ts";
import type { Authorizer } from "../../src/server/auth/authorizer.ts";
import type { Identity } from "../../src/server/auth/identity.ts";
import {
  daskAutoscalerObject,
  daskClusterObject,
  daskJobObject,
  daskPod,
  daskWorkerGroupObject,
  notebookObject,
  notebookPod,
  podObject,
} from "../helpers/ide-dask-fixtures.ts";
import { type RunningKubesub, startKubesub } from "../helpers/kubesub-server.ts";

const project = "data-science";

/** Who each bearer token is, and the namespaces RBAC lets them list and watch in. */
const callers: Record<string, { username: string; namespaces: string[] }> = {
  alice: { username: "alice", namespaces: [project, "team-a", "empty"] },
  eve: { username: "eve", namespaces: ["team-b"] },
  /** Confined to his own objects (as with --authz self). */
  bob: { username: "bob", namespaces: [project] },
};

const auth: KubesubOverrides["auth"] = {
  mode: "kubernetes",
  authenticator: {
    authenticate: async (token): Promise<Identity | undefined> => {
      const caller = callers[token];
      return caller && { username: caller.username, uid: "", groups: [], extra: {} };
    },
  },
  authorizer: {
    authorize: async (identity, request) =>
      callers[identity.username]?.namespaces.includes(request.namespace)
        ? { allowed: true, reason: "" }
        : { allowed: false, reason: "no RoleBinding" },
    confineTo: (identity) => (identity.username === "bob" ? "bob" : undefined),
  } satisfies Authorizer,
};

interface Answer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function ask(origin: string, token: string | undefined, query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const response = await fetch(`${origin}/graphql`, {
    method: "POST",
    headers: {
      accept: "application/graphql-response+json",
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as Answer["body"] };
}

/** The data of an answer that must have no errors. */
async function data<T>(origin: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const { body } = await ask(origin, token, query, variables);
  expect(body.errors).toBeUndefined();
  return body.data as T;
}

const nodeQuery = `query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Pod { name namespace uid }
    ... on IDE { name project convention }
    ... on DaskCluster { name project }
    ... on DaskWorkerGroup { name project }
    ... on DaskAutoscaler { name project }
    ... on DaskJob { name project }
  }
}`;

/** Every list query, each object with its id and name. */
const listsQuery = `query Lists($project: String!) {
  pods(project: $project) { __typename id name }
  ides(project: $project) { __typename id name }
  daskClusters(project: $project) { __typename id name }
  daskWorkerGroups(project: $project) { __typename id name }
  daskAutoscalers(project: $project) { __typename id name }
  daskJobs(project: $project) { __typename id name }
}`;

interface Named {
  __typename: string;
  id: string;
  name: string;
}
type Lists = Record<"pods" | "ides" | "daskClusters" | "daskWorkerGroups" | "daskAutoscalers" | "daskJobs", Named[]>;

const cluster = new MemoryCluster();
const replicas: RunningKubesub[] = [];
let origin: string;

/** The id of the object of this type and name in alice's lists. */
async function idOf(typename: string, name: string, on = origin): Promise<string> {
  const lists = await data<Lists>(on, "alice", listsQuery, { project });
  const found = Object.values(lists)
    .flat()
    .find((object) => object.__typename === typename && object.name === name);
  if (!found) throw new Error(`no ${typename} ${name} in ${project}`);
  return found.id;
}

beforeAll(async () => {
  const create = (type: Parameters<MemoryCluster["create"]>[0], object: KubeObject) => cluster.create(type, object);
  create(podResource, podObject({ name: "alice-etl", namespace: project, user: "alice", state: "ready" }));
  create(podResource, podObject({ name: "bob-etl", namespace: project, user: "bob", state: "ready" }));
  // An IDE named by kubesub's labels (its pod's name), and one named by a Kubeflow Notebook.
  create(
    podResource,
    podObject({ name: "lab-alice", namespace: project, user: "alice", state: "ready", labels: { "kubesub.io/ide": "jupyterlab" } }),
  );
  create(notebookResource, notebookObject({ name: "notes", namespace: project, user: "alice", serverType: "group-one" }));
  create(podResource, notebookPod("notes", { namespace: project, user: "alice", state: "ready" }));
  create(daskClusterResource, daskClusterObject({ name: "analysis", namespace: project, user: "alice", replicas: 1, phase: "Running" }));
  create(
    daskWorkerGroupResource,
    daskWorkerGroupObject({ name: "analysis-default", namespace: project, cluster: "analysis", replicas: 1 }),
  );
  create(daskAutoscalerResource, daskAutoscalerObject({ name: "analysis", namespace: project, cluster: "analysis" }));
  create(daskJobResource, daskJobObject({ name: "nightly", namespace: project, user: "alice", status: { jobStatus: "Running" } }));
  create(
    podResource,
    daskPod({ name: "analysis-scheduler", namespace: project, cluster: "analysis", component: "scheduler", state: "ready" }),
  );
  create(podResource, podObject({ name: "elsewhere", namespace: "team-b", user: "eve", state: "ready" }));
  for (let i = 0; i < 2; i++) replicas.push(await startKubesub((type, namespace) => cluster.source(type, namespace), { auth }));
  origin = (replicas[0] as RunningKubesub).origin;
});

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.close()));
});

describe("every model has an id, and node(id) answers it", () => {
  const cases = [
    { typename: "Pod", name: "alice-etl", expected: { namespace: project, uid: "uid-alice-etl" } },
    { typename: "Pod", name: "analysis-scheduler", expected: { namespace: project, uid: "uid-analysis-scheduler" } },
    { typename: "IDE", name: "lab-alice", expected: { project, convention: "KUBESUB_LABELS" } },
    { typename: "IDE", name: "notes", expected: { project, convention: "KUBEFLOW_NOTEBOOK" } },
    { typename: "DaskCluster", name: "analysis", expected: { project } },
    { typename: "DaskWorkerGroup", name: "analysis-default", expected: { project } },
    { typename: "DaskAutoscaler", name: "analysis", expected: { project } },
    { typename: "DaskJob", name: "nightly", expected: { project } },
  ];

  it.each(cases)("$typename $name", async ({ typename, name, expected }) => {
    const id = await idOf(typename, name);
    const { node } = await data<{ node: Record<string, unknown> }>(origin, "alice", nodeQuery, { id });
    expect(node).toEqual({ __typename: typename, id, name, ...expected });
  });

  it("ids are unique across types and objects, even where names are shared (a DaskCluster and its DaskAutoscaler)", async () => {
    const lists = await data<Lists>(origin, "alice", listsQuery, { project });
    const ids = Object.values(lists)
      .flat()
      .map((object) => object.id);
    expect(ids.length).toBeGreaterThanOrEqual(11);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("the same object has the same id on another replica, and where it is nested in another", async () => {
    const other = (replicas[1] as RunningKubesub).origin;
    const here = await data<Lists>(origin, "alice", listsQuery, { project });
    const there = await data<Lists>(other, "alice", listsQuery, { project });
    expect(there).toEqual(here);

    const schedulerId = await idOf("Pod", "analysis-scheduler");
    const { daskClusters } = await data<{ daskClusters: { scheduler: { id: string } }[] }>(
      origin,
      "alice",
      `query { daskClusters(project: "${project}") { scheduler { id } } }`,
    );
    expect(daskClusters[0]?.scheduler.id).toBe(schedulerId);
    const labId = await idOf("Pod", "lab-alice");
    const { ides } = await data<{ ides: { pods: { id: string }[] }[] }>(
      origin,
      "alice",
      `query { ides(project: "${project}", target: "lab-alice") { pods { id } } }`,
    );
    expect(ides[0]?.pods[0]?.id).toBe(labId);
  });

  it("a pod deleted and made again under the same name keeps its id (its uid changes)", async () => {
    cluster.create(podResource, podObject({ name: "again", namespace: project, user: "alice", state: "ready" }));
    const id = await idOf("Pod", "again");
    const before = await data<{ node: { uid: string } | null }>(origin, "alice", nodeQuery, { id });
    cluster.delete(podResource, project, "again");
    const remade = podObject({ name: "again", namespace: project, user: "alice", state: "ready" });
    remade.metadata = { ...remade.metadata, uid: "uid-again-2" };
    cluster.create(podResource, remade);
    const after = await data<{ node: { uid: string } | null }>(origin, "alice", nodeQuery, { id });
    expect(await idOf("Pod", "again")).toBe(id);
    expect([before.node?.uid, after.node?.uid]).toEqual(["uid-again", "uid-again-2"]);
  });
});

const encode = (text: string) => Buffer.from(text, "utf8").toString("base64url");

describe("what is not an id kubesub gave is BAD_USER_INPUT", () => {
  const notIds = [
    { name: "empty", id: "" },
    { name: "not base64url", id: "not an id!" },
    { name: "no type", id: encode("data-science/alice-etl") },
    { name: "a pod id without a name", id: encode("Pod:data-science") },
    { name: "a pod id with a name too many", id: encode("Pod:data-science/alice-etl/x") },
    { name: "a namespace that cannot be one", id: encode("Pod:Data_Science/alice-etl") },
    { name: "an IDE id with an unknown convention", id: encode("IDE:data-science/HOMEGROWN/lab-alice") },
    { name: "a type that is no Node", id: encode("Label:data-science/alice-etl") },
    { name: "a type that does not exist", id: encode("Secret:data-science/alice-etl") },
    { name: "padded base64", id: `${encode("Pod:data-science/alice-etl")}=` },
    { name: "standard base64 of a name with ?", id: Buffer.from("Pod:data-science/a?>", "utf8").toString("base64") },
  ];

  it.each(notIds)("$name", async ({ id }) => {
    const { body } = await ask(origin, "alice", nodeQuery, { id });
    expect(body.data).toEqual({ node: null });
    expect(body.errors).toMatchObject([{ extensions: { code: "BAD_USER_INPUT", argument: "id" } }]);
  });
});

describe("node(id) does not tell a caller whether what it cannot read exists", () => {
  /** An id of the same shape as a pod's, for one that does not exist. */
  const missing = (namespace: string, name: string) => encode(`Pod:${namespace}/${name}`);

  it("an id of an object that does not exist, or of a namespace that does not exist, is null", async () => {
    for (const id of [missing(project, "nobody"), missing("no-such-project", "nobody"), encode("DaskJob:empty/nobody")]) {
      expect((await ask(origin, "alice", nodeQuery, { id })).body).toEqual({ data: { node: null } });
    }
  });

  it("in a project the caller may not read, an object that exists answers exactly as one that does not", async () => {
    const pods = await ask(origin, "eve", `query { pods(project: "${project}") { id } }`);
    expect(pods.body.errors).toMatchObject([{ extensions: { code: "FORBIDDEN" } }]);

    const ids = [
      await idOf("Pod", "alice-etl"),
      await idOf("IDE", "notes"),
      await idOf("DaskCluster", "analysis"),
      await idOf("DaskJob", "nightly"),
      missing(project, "nobody"),
      missing("no-such-project", "nobody"),
    ];
    const answers = await Promise.all(ids.map(async (id) => ask(origin, "eve", nodeQuery, { id })));
    for (const answer of answers) expect(answer).toEqual({ status: 200, body: { data: { node: null } } });
    // Her own project's objects she reads.
    const own = await data<{ pods: { id: string }[] }>(origin, "eve", `query { pods(project: "team-b") { id } }`);
    const { node } = await data<{ node: { name: string } }>(origin, "eve", nodeQuery, { id: own.pods[0]?.id });
    expect(node.name).toBe("elsewhere");
  });

  it("a caller confined to its own objects gets its own, and null for another user's, as for one that does not exist", async () => {
    const bobs = await data<{ node: { name: string } | null }>(origin, "bob", nodeQuery, { id: await idOf("Pod", "bob-etl") });
    expect(bobs.node?.name).toBe("bob-etl");
    for (const id of [await idOf("Pod", "alice-etl"), await idOf("DaskCluster", "analysis"), missing(project, "nobody")]) {
      expect((await ask(origin, "bob", nodeQuery, { id })).body).toEqual({ data: { node: null } });
    }
  });

  it("without credentials, node(id) is refused as every query is (401 UNAUTHENTICATED)", async () => {
    const answer = await ask(origin, undefined, nodeQuery, { id: await idOf("Pod", "alice-etl") });
    expect(answer.status).toBe(401);
    expect(answer.body.errors).toMatchObject([{ extensions: { code: "UNAUTHENTICATED" } }]);
  });
});
