import { changedFields } from "./changed-fields.ts";
import type { Pod } from "./pod.ts";

/** Pods that are not being deleted. */
export function livePods(pods: readonly Pod[]): Pod[] {
  return pods.filter((pod) => pod.deletionTimestamp === null);
}

/**
 * Whether two lists of pods differ in a served field. resourceVersion is ignored: a pod rewritten
 * without a visible change must not make the object that joins it look changed.
 */
export function podsDiffer(a: readonly Pod[], b: readonly Pod[]): boolean {
  if (a.length !== b.length) return true;
  return a.some((pod, i) => {
    const other = b[i] as Pod;
    return pod !== other && changedFields(pod, other, ["resourceVersion"]).length > 0;
  });
}

/** The highest of several resourceVersions (etcd revisions in practice; compared as decimal strings). */
export function highestResourceVersion(versions: Iterable<string>): string {
  let highest = "";
  for (const rv of versions) {
    if (rv.length > highest.length || (rv.length === highest.length && rv > highest)) highest = rv;
  }
  return highest;
}

/** The earliest of several ISO timestamps, or null. */
export function earliest(timestamps: Iterable<string | null>): string | null {
  let first: string | null = null;
  for (const t of timestamps) if (t !== null && (first === null || t < first)) first = t;
  return first;
}
