/**
 * ISO strings already made, each under itself and under the string it was made from: the same
 * timestamps come back (every model of a pod, the containers of one pod, the pods of one second),
 * and a lookup is cheaper than parsing a date. Forgets everything past its limit.
 */
const known = new Map<string, string>();
const knownLimit = 2_048;

function remember(from: string, iso: string): string {
  if (known.size >= knownLimit) known.clear();
  known.set(from, iso);
  if (from !== iso) known.set(iso, iso);
  return iso;
}

/**
 * Kubernetes timestamps arrive as Date (client-node's list models) or as RFC 3339 strings (watch
 * events, custom resources). Both become an ISO 8601 string, or null when absent or unparseable.
 * Equal timestamps give the same string, and a string already in that form is returned itself
 * (or an equal one): the slim objects of the cache (slim.ts) hold their timestamps in that form,
 * so that the models share those strings.
 */
export function isoTimestamp(value: unknown): string | null {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return null;
    const iso = value.toISOString();
    return known.get(iso) ?? remember(iso, iso);
  }
  if (typeof value === "string" && value !== "") {
    const hit = known.get(value);
    if (hit !== undefined) return hit;
    const parsed = new Date(value);
    if (Number.isNaN(parsed.getTime())) return null;
    const iso = parsed.toISOString();
    return remember(value, iso === value ? value : iso);
  }
  return null;
}
