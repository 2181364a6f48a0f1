// The multi-tenant benchmark's world, shared by its servers (tenants-kubesub-server.ts,
// tenants-raw-broadcaster.ts) and its load generator: P projects x U users, one subscriber per
// (project, user) running one of the example dashboard's operations with its own variables, the
// objects of every (project, user), and the sequence of changes (seeded, so that both servers make
// the same changes in the same order) with the subscriber each change is routed to.
import { readFileSync } from "node:fs";
import { stampLabel } from "./protocol.ts";

export interface TenantsLayout {
  projects: number;
  users: number;
}

export type Operation = "pods" | "ides" | "dask";

export const projectName = (p: number) => `tenant-${p}`;
export const userName = (u: number) => `user-${u}`;
export const userLabel = "kubesub.io/user";
/** Every fourth project runs Dask: one DaskCluster and one DaskJob per user. */
export const hasDask = (p: number) => p % 4 === 0;

/** The operation the subscriber of (p, u) runs: pods, IDEs or (in Dask projects) Dask, by user. */
export function operationOf(p: number, u: number): Operation {
  return hasDask(p) ? (["pods", "ides", "dask"] as const)[u % 3] : (["pods", "ides"] as const)[u % 2];
}

/** The objects of (p, u): two plain pods, one JupyterLab pod, and in Dask projects a DaskJob. */
export type ObjectKind = "pod" | "ide-pod" | "dask-job";
export const objectKinds = (p: number): readonly ObjectKind[] =>
  hasDask(p) ? ["pod", "pod", "ide-pod", "dask-job"] : ["pod", "pod", "ide-pod"];
export const podNames = (u: number) => [`work-${u}-a`, `work-${u}-b`, `jupyter-${u}`];
export const daskClusterName = (u: number) => `dask-${u}`;
export const daskJobName = (u: number) => `job-${u}`;

/** A change the ticker makes: which object of which (project, user), and whether its subscriber sees it. */
export interface Change {
  p: number;
  u: number;
  kind: ObjectKind;
  /** The object's name. */
  name: string;
  /** The subscriber of (p, u) receives it: a pods subscriber every pod of its user, an IDEs subscriber its IDE pod, a Dask subscriber its job. */
  routed: boolean;
}

/** The same pseudo-random changes in every process (mulberry32, fixed seed). */
export function changeSequence(layout: TenantsLayout): () => Change {
  let state = 0x6b756265;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => {
    const p = Math.floor(random() * layout.projects);
    const u = Math.floor(random() * layout.users);
    const kinds = objectKinds(p);
    const index = Math.floor(random() * kinds.length);
    const kind = kinds[index] ?? "pod";
    const name = kind === "dask-job" ? daskJobName(u) : (podNames(u)[index] ?? "");
    const operation = operationOf(p, u);
    const routed = operation === "pods" ? kind !== "dask-job" : operation === "ides" ? kind === "ide-pod" : kind === "dask-job";
    return { p, u, kind, name, routed };
  };
}

/**
 * A second write of the same object within the same millisecond would carry the same stamp and
 * change nothing a subscriber sees (kubesub rightly sends no event for it): both servers skip it.
 */
export class SameMillisecondGuard {
  private readonly last = new Map<string, number>();

  fresh(change: Change, stamp: number): boolean {
    const key = `${change.p}/${change.name}`;
    if (this.last.get(key) === stamp) return false;
    this.last.set(key, stamp);
    return true;
  }
}

/** Counts of changes made, and of those routed to a subscriber, by their stamp (ms since the epoch). */
export class ChangeLog {
  private readonly stamps: number[] = [];
  private readonly routed: boolean[] = [];

  record(stamp: number, routed: boolean): void {
    this.stamps.push(stamp);
    this.routed.push(routed);
  }

  /** Changes and routed changes stamped in (from, to]. */
  between(from: number, to: number): { changes: number; routed: number } {
    let changes = 0;
    let routed = 0;
    for (let i = 0; i < this.stamps.length; i += 1) {
      const stamp = this.stamps[i] ?? 0;
      if (stamp <= from || stamp > to) continue;
      changes += 1;
      if (this.routed[i]) routed += 1;
    }
    return { changes, routed };
  }
}

/** The stamp of a change as it appears in every operation: its pod's or job's startTime (ISO, ms). */
export const stampTime = (ms: number) => new Date(ms).toISOString();
/** The pod label that also carries the stamp (as in the single-namespace benchmark). */
export { stampLabel };
/** The first startTime / startedAt of a frame: the changed object's (its previous state comes after). */
export const stampPattern = /"start(?:Time|edAt)":"([^"]+)"/;

const operationFiles: Record<Operation, { file: string; operationName: string; field: string }> = {
  pods: { file: "pods.graphql", operationName: "PodEvents", field: "podEvents" },
  ides: { file: "ides.graphql", operationName: "IdeEvents", field: "ideEvents" },
  dask: { file: "dask.graphql", operationName: "DaskEvents", field: "daskEvents" },
};

/** The example dashboard's document for an operation (with the fragments every event union shares), and its name. */
export function operationDocument(operation: Operation): { query: string; operationName: string } {
  const read = (file: string) => readFileSync(new URL(`../examples/operations/${file}`, import.meta.url), "utf8");
  const { file, operationName } = operationFiles[operation];
  return { query: `${read(file)}\n${read("stream-events.graphql")}`, operationName };
}

/** The variables of the subscriber of (p, u). */
export function operationVariables(p: number, u: number): Record<string, string> {
  const operation = operationOf(p, u);
  if (operation === "dask") return { project: projectName(p), target: daskClusterName(u) };
  return { project: projectName(p), user: userName(u) };
}

export const operationField = (operation: Operation) => operationFiles[operation].field;

/** The bearer token of the subscriber of (p, u); the stub authenticator maps it back to its user. */
export const tokenOf = (p: number, u: number) => `tenant.${p}.${u}`;
export const userOfToken = (token: string): string | undefined => {
  const match = /^tenant\.(\d+)\.(\d+)$/.exec(token);
  return match ? userName(Number(match[2])) : undefined;
};
