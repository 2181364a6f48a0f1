// PersistentMap (examples/client/persistent-map.ts), the collections of a LiveCollection: every
// version reads as a plain Map given the same changes would, and no later change alters it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PersistentMap } from "../../examples/client/persistent-map.ts";

type Op = { set: number; value: number } | { delete: number };

const ops = fc.array(
  fc.oneof(
    fc.record({ set: fc.integer({ min: 0, max: 400 }), value: fc.integer() }),
    fc.record({ delete: fc.integer({ min: 0, max: 400 }) }),
  ),
  { minLength: 200, maxLength: 1_500 },
);

const sorted = (map: ReadonlyMap<number, number>) => [...map].sort(([a], [b]) => a - b);

describe("PersistentMap", () => {
  it("reads as a Map after any changes, across the folds of its delta into a new base, and never changes a version handed out", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 50, maxLength: 300 }), ops, (initial, changes: Op[]) => {
        const expected = new Map(initial.map((key) => [key, key]));
        let version = PersistentMap.from(new Map(expected));
        const versions: [PersistentMap<number, number>, [number, number][]][] = [];
        for (const [i, op] of changes.entries()) {
          if ("set" in op) {
            expected.set(op.set, op.value);
            version = version.set(op.set, op.value);
          } else {
            expected.delete(op.delete);
            version = version.delete(op.delete);
          }
          expect(version.size).toBe(expected.size);
          const key = "set" in op ? op.set : op.delete;
          expect(version.has(key)).toBe(expected.has(key));
          expect(version.get(key)).toBe(expected.get(key));
          if (i % 97 === 0 || i === changes.length - 1) versions.push([version, sorted(expected)]);
        }
        for (const [kept, entries] of versions) {
          expect(sorted(kept)).toEqual(entries);
          expect([...kept.keys()].sort((a, b) => a - b)).toEqual(entries.map(([key]) => key));
          expect(kept.size).toBe(entries.length);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("deleting a key it does not hold returns the same version", () => {
    const map = PersistentMap.from(new Map([["a", 1]]));
    expect(map.delete("b")).toBe(map);
    expect([...map.set("b", 2).delete("b")]).toEqual([["a", 1]]);
  });
});
