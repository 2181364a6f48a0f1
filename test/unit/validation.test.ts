import fc from "fast-check";
import type { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { compileSelector, type LabelSelector, matchesSelector, type SelectorRequirement } from "../../src/domain/label-selector.ts";
import { validateLabelKey, validateLabelValue, validateObjectName, validateProject } from "../../src/domain/validation.ts";
import { BadUserInputError } from "../../src/errors.ts";

/** The BadUserInputError fn throws (failing the test if it throws anything else or nothing). */
function badInput(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(BadUserInputError);
    return error as GraphQLError;
  }
  throw new Error("expected BadUserInputError, nothing was thrown");
}

const a63 = "a".repeat(63);
const a64 = "a".repeat(64);

describe("validateProject", () => {
  it.each(["team-a", "a", "0", "data-science", "a1-b2", a63])("accepts %j", (value) => {
    expect(validateProject(value)).toBe(value);
  });

  it.each(["", "Team_A", "TEAM", "-team", "team-", "team.a", "team a", "team/a", "tëam", a64, "a,b", "a=b"])("rejects %j", (value) => {
    const error = badInput(() => validateProject(value, "project"));
    expect(error.extensions).toEqual({ code: "BAD_USER_INPUT", argument: "project" });
  });

  it("truncates a very long value in its message", () => {
    const error = badInput(() => validateProject("x".repeat(500)));
    expect(error.message.length).toBeLessThan(300);
    expect(error.message).toContain("...");
  });
});

describe("validateObjectName", () => {
  it.each(["pod-1", "a.b.c", "jupyter-alice-0001"])("accepts %j", (value) => {
    expect(validateObjectName(value, "name")).toBe(value);
  });
  it.each(["", "Pod", "a..b", ".a", "a_b", "x".repeat(254)])("rejects %j", (value) => {
    badInput(() => validateObjectName(value, "name"));
  });
});

describe("validateLabelKey", () => {
  it.each(["app", "App_1", "a.b-c_d", "kubesub.io/user", "example.com/Some.Name", `${"a".repeat(253)}/x`, a63])("accepts %j", (value) => {
    expect(validateLabelKey(value, "key")).toBe(value);
  });

  it.each([
    "",
    "/app",
    "kubesub.io/",
    "Kubesub.IO/user",
    "a/b/c",
    "-app",
    "app-",
    "a b",
    "a,b",
    "a=b",
    "a!b",
    "a(b)",
    a64,
    `${"a".repeat(254)}/x`,
  ])("rejects %j", (value) => {
    const error = badInput(() => validateLabelKey(value, "selector.matchLabels[0].key"));
    expect(error.extensions.argument).toBe("selector.matchLabels[0].key");
  });
});

describe("validateLabelValue", () => {
  it.each(["", "alice", "A-b_c.d", "0", a63])("accepts %j", (value) => {
    expect(validateLabelValue(value, "value")).toBe(value);
  });

  it.each(["a,b!=c", "x=y", "a b", " a", "a ", "-a", "a-", "a/b", "(a)", "in (x)", "ä", a64])("rejects %j", (value) => {
    badInput(() => validateLabelValue(value, "user"));
  });
});

describe("compileSelector", () => {
  it.each<{ name: string; selector: LabelSelector | null | undefined; expected: SelectorRequirement[] }>([
    { name: "null", selector: null, expected: [] },
    { name: "undefined", selector: undefined, expected: [] },
    { name: "empty", selector: { matchLabels: null, matchExpressions: null }, expected: [] },
    {
      name: "matchLabels",
      selector: { matchLabels: [{ key: "app", value: "etl" }] },
      expected: [{ key: "app", operator: "IN", values: ["etl"] }],
    },
    {
      name: "matchLabels and every operator",
      selector: {
        matchLabels: [{ key: "a", value: "" }],
        matchExpressions: [
          { key: "b", operator: "IN", values: ["1", "2"] },
          { key: "c", operator: "NOT_IN", values: ["3"] },
          { key: "d", operator: "EXISTS" },
          { key: "e", operator: "DOES_NOT_EXIST", values: null },
          { key: "f", operator: "EXISTS", values: [] },
        ],
      },
      expected: [
        { key: "a", operator: "IN", values: [""] },
        { key: "b", operator: "IN", values: ["1", "2"] },
        { key: "c", operator: "NOT_IN", values: ["3"] },
        { key: "d", operator: "EXISTS", values: [] },
        { key: "e", operator: "DOES_NOT_EXIST", values: [] },
        { key: "f", operator: "EXISTS", values: [] },
      ],
    },
  ])("compiles $name", ({ selector, expected }) => {
    expect(compileSelector(selector)).toEqual(expected);
  });

  it.each<{ name: string; selector: LabelSelector; argument: string }>([
    { name: "a bad matchLabels key", selector: { matchLabels: [{ key: "a b", value: "x" }] }, argument: "selector.matchLabels[0].key" },
    {
      name: "a bad matchLabels value",
      selector: {
        matchLabels: [
          { key: "ok", value: "x" },
          { key: "app", value: "a,b" },
        ],
      },
      argument: "selector.matchLabels[1].value",
    },
    {
      name: "a bad expression key",
      selector: { matchExpressions: [{ key: "!x", operator: "EXISTS" }] },
      argument: "selector.matchExpressions[0].key",
    },
    {
      name: "a bad expression value",
      selector: { matchExpressions: [{ key: "x", operator: "IN", values: ["ok", "x)"] }] },
      argument: "selector.matchExpressions[0].values[1]",
    },
    {
      name: "IN without values",
      selector: { matchExpressions: [{ key: "x", operator: "IN", values: [] }] },
      argument: "selector.matchExpressions[0].values",
    },
    {
      name: "NOT_IN without values",
      selector: { matchExpressions: [{ key: "x", operator: "NOT_IN" }] },
      argument: "selector.matchExpressions[0].values",
    },
    {
      name: "DOES_NOT_EXIST with values",
      selector: { matchExpressions: [{ key: "x", operator: "DOES_NOT_EXIST", values: ["y"] }] },
      argument: "selector.matchExpressions[0].values",
    },
  ])("rejects $name, naming the argument", ({ selector, argument }) => {
    const error = badInput(() => compileSelector(selector));
    expect(error.extensions).toEqual({ code: "BAD_USER_INPUT", argument });
  });
});

describe("matchesSelector", () => {
  const labels = { app: "etl", tier: "gpu", empty: "" };
  it.each<{ requirement: SelectorRequirement; labels: Record<string, string> | undefined; expected: boolean }>([
    { requirement: { key: "app", operator: "IN", values: ["etl", "web"] }, labels, expected: true },
    { requirement: { key: "app", operator: "IN", values: ["web"] }, labels, expected: false },
    { requirement: { key: "missing", operator: "IN", values: ["x"] }, labels, expected: false },
    { requirement: { key: "empty", operator: "IN", values: [""] }, labels, expected: true },
    { requirement: { key: "app", operator: "NOT_IN", values: ["etl"] }, labels, expected: false },
    { requirement: { key: "app", operator: "NOT_IN", values: ["web"] }, labels, expected: true },
    { requirement: { key: "missing", operator: "NOT_IN", values: ["x"] }, labels, expected: true },
    { requirement: { key: "missing", operator: "NOT_IN", values: [""] }, labels, expected: true },
    { requirement: { key: "empty", operator: "NOT_IN", values: [""] }, labels, expected: false },
    { requirement: { key: "tier", operator: "EXISTS", values: [] }, labels, expected: true },
    { requirement: { key: "empty", operator: "EXISTS", values: [] }, labels, expected: true },
    { requirement: { key: "missing", operator: "EXISTS", values: [] }, labels, expected: false },
    { requirement: { key: "missing", operator: "DOES_NOT_EXIST", values: [] }, labels, expected: true },
    { requirement: { key: "tier", operator: "DOES_NOT_EXIST", values: [] }, labels, expected: false },
    { requirement: { key: "app", operator: "IN", values: ["etl"] }, labels: undefined, expected: false },
    { requirement: { key: "app", operator: "DOES_NOT_EXIST", values: [] }, labels: undefined, expected: true },
  ])("$requirement.key $requirement.operator $requirement.values on $labels -> $expected", ({ requirement, labels, expected }) => {
    expect(matchesSelector(labels, [requirement])).toBe(expected);
  });

  it("requires every requirement to hold, and matches everything with none", () => {
    const both: SelectorRequirement[] = [
      { key: "app", operator: "IN", values: ["etl"] },
      { key: "tier", operator: "NOT_IN", values: ["gpu"] },
    ];
    expect(matchesSelector(labels, both)).toBe(false);
    expect(matchesSelector({ app: "etl", tier: "cpu" }, both)).toBe(true);
    expect(matchesSelector(undefined, [])).toBe(true);
  });
});

describe("validators on arbitrary input (property)", () => {
  const forbidden = /[,!=()\s]/u;
  const anyString = fc.oneof(
    fc.string({ unit: "binary", maxLength: 80 }),
    fc.string({ unit: fc.constantFrom(..."aZ09-_./,!=() \t\nä"), maxLength: 80 }),
    fc.string({ unit: fc.constantFrom(..."abz09-._"), minLength: 60, maxLength: 70 }),
  );
  const validators: [string, (value: string) => string][] = [
    ["validateProject", (v) => validateProject(v)],
    ["validateObjectName", (v) => validateObjectName(v, "name")],
    ["validateLabelKey", (v) => validateLabelKey(v, "key")],
    ["validateLabelValue", (v) => validateLabelValue(v, "value")],
  ];

  it.each(validators)("%s returns its input or throws BadUserInputError, and accepts no selector syntax", (_name, validate) => {
    fc.assert(
      fc.property(anyString, (value) => {
        let accepted: string | undefined;
        try {
          accepted = validate(value);
        } catch (error) {
          expect(error).toBeInstanceOf(BadUserInputError);
          return;
        }
        expect(accepted).toBe(value);
        expect(value).not.toMatch(forbidden);
      }),
      { numRuns: 500 },
    );
  });

  it("every accepted label value is at most 63 characters of [A-Za-z0-9-_.]", () => {
    fc.assert(
      fc.property(anyString, (value) => {
        let ok = true;
        try {
          validateLabelValue(value, "value");
        } catch {
          ok = false;
        }
        if (ok) expect(value).toMatch(/^[A-Za-z0-9_.-]{0,63}$/);
      }),
      { numRuns: 500 },
    );
  });

  it("compileSelector never throws anything but BadUserInputError on arbitrary selectors", () => {
    const operator = fc.constantFrom("IN" as const, "NOT_IN" as const, "EXISTS" as const, "DOES_NOT_EXIST" as const);
    const selector = fc.record({
      matchLabels: fc.option(fc.array(fc.record({ key: anyString, value: anyString }), { maxLength: 3 })),
      matchExpressions: fc.option(
        fc.array(fc.record({ key: anyString, operator, values: fc.option(fc.array(anyString, { maxLength: 3 })) }), { maxLength: 3 }),
      ),
    });
    fc.assert(
      fc.property(selector, (value) => {
        try {
          const requirements = compileSelector(value);
          for (const r of requirements) for (const v of r.values) expect(v).not.toMatch(forbidden);
        } catch (error) {
          expect(error).toBeInstanceOf(BadUserInputError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
