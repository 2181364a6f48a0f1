/**
 * Orders two resourceVersions of the same resource: etcd revisions, decimal strings in practice.
 * undefined when they cannot be compared (not both decimal), and then no position is trusted.
 */
export function compareResourceVersions(a: string, b: string): number | undefined {
  if (a === b) return 0;
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : 1;
}
