import { isDeepStrictEqual } from "node:util";

/**
 * The top-level fields whose values differ between two projections of the same object, ignoring
 * the listed ones (resourceVersion changes on every write and says nothing by itself).
 * An empty result means a client showing these fields would see no difference.
 */
export function changedFields<T extends object>(old: T, next: T, ignore: readonly (keyof T)[] = []): (keyof T & string)[] {
  const changed: (keyof T & string)[] = [];
  for (const key of Object.keys(next) as (keyof T & string)[]) {
    if (ignore.includes(key)) continue;
    if (!isDeepStrictEqual(old[key], next[key])) changed.push(key);
  }
  return changed;
}
