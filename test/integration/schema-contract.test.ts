// The schema is a contract: every part of it is described, and a change that breaks clients of the
// released schema (schema.released.graphql) fails unless schema.breaking.json lists it with a reason.
import { readFileSync } from "node:fs";
import {
  buildSchema,
  findBreakingChanges,
  findDangerousChanges,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
} from "graphql";
import { describe, expect, it } from "vitest";

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");

/** Every type, field, argument, input field and enum value without a description, as Type.field(arg). */
function undescribed(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith("__")) continue;
    if (!type.description?.trim()) missing.push(type.name);
    if (isEnumType(type)) {
      for (const value of type.getValues()) if (!value.description?.trim()) missing.push(`${type.name}.${value.name}`);
    }
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (!field.description?.trim()) missing.push(`${type.name}.${field.name}`);
        for (const arg of "args" in field ? field.args : []) {
          if (!arg.description?.trim()) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
    }
  }
  return missing;
}

interface IntendedBreak {
  /** graphql-js's description of the change, exactly: "Pod.podIP was removed." */
  description: string;
  /** Why clients must take this break, and what they should do instead. */
  reason: string;
}

describe("the schema contract", () => {
  const current = buildSchema(read("schema.graphql"));

  it("describes every type, field, argument and enum value", () => {
    expect(undescribed(current)).toEqual([]);
  });

  it("breaks no client of the released schema (schema.released.graphql) unless schema.breaking.json says it is intended", () => {
    const released = buildSchema(read("schema.released.graphql"));
    const intended = JSON.parse(read("schema.breaking.json")) as IntendedBreak[];
    for (const entry of intended) {
      expect(
        typeof entry.description === "string" && typeof entry.reason === "string" && entry.reason.trim() !== "",
        JSON.stringify(entry),
      ).toBe(true);
    }
    const dangerous = findDangerousChanges(released, current);
    if (dangerous.length > 0) {
      // Reported, not failed: e.g. a value added to an enum a client switches on exhaustively.
      console.warn(
        `schema.graphql has ${dangerous.length} dangerous change(s) since the release:\n${dangerous.map((c) => `  ${c.type}: ${c.description}`).join("\n")}`,
      );
    }
    const breaking = findBreakingChanges(released, current);
    const listed = new Set(intended.map((entry) => entry.description));
    const unintended = breaking.filter((change) => !listed.has(change.description)).map((c) => `${c.type}: ${c.description}`);
    expect(
      unintended,
      "breaking changes to schema.graphql since schema.released.graphql: deprecate (@deprecated) instead of removing, or list each in schema.breaking.json with a reason",
    ).toEqual([]);
    const stale = [...listed].filter((description) => !breaking.some((change) => change.description === description));
    expect(stale, "schema.breaking.json lists changes that schema.graphql no longer makes").toEqual([]);
  });
});
