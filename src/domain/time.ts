/**
 * Kubernetes timestamps arrive as Date (client-node's list models) or as RFC 3339 strings (watch
 * events, custom resources). Both become an ISO 8601 string, or null when absent or unparseable.
 */
export function isoTimestamp(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === "string" && value !== "") {
    const parsed = new Date(value);
    return Number.isNaN(parsed.getTime()) ? null : parsed.toISOString();
  }
  return null;
}
