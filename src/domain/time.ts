/**
 * Kubernetes timestamps arrive as Date (client-node's list models) or as RFC 3339 strings (watch
 * events, custom resources). Both become an ISO 8601 string, or null when absent or unparseable.
 * A string already in that form is returned itself, not a copy: the slim objects of the cache
 * (slim.ts) hold their timestamps in it, so that the models share those strings.
 */
export function isoTimestamp(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === "string" && value !== "") {
    const parsed = new Date(value);
    if (Number.isNaN(parsed.getTime())) return null;
    const iso = parsed.toISOString();
    return iso === value ? value : iso;
  }
  return null;
}
