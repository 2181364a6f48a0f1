// Ids: every name Kubernetes allows makes an id that reads back to the same name, and every other
// string is BAD_USER_INPUT (argument "id"), never another object's name or an unexpected error.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ideConventions } from "../../src/domain/ide.ts";
import { ideLocalId, objectLocalId, parseIdeLocalId, parseObjectLocalId } from "../../src/domain/identity.ts";
import { BadUserInputError } from "../../src/errors.ts";
import { decodeGlobalId, encodeGlobalId } from "../../src/schema/global-id.ts";

const alnum = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789");
const label = fc
  .tuple(alnum, fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-"), maxLength: 20 }), alnum)
  .map(([first, middle, last]) => `${first}${middle}${last}`);
/** A namespace: an RFC 1123 label. */
const namespace = label;
/** An object name (RFC 1123 subdomain) or a label value with capitals and '_' (kubesub.io/ide-name). */
const name = fc.oneof(
  fc.array(label, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(".")),
  fc
    .tuple(alnum, fc.string({ unit: fc.constantFrom(..."AZaz09-_."), maxLength: 20 }), fc.constantFrom("A", "z", "7"))
    .map(([first, middle, last]) => `${first}${middle}${last}`),
);

/** Whether fn throws BAD_USER_INPUT for argument id (and nothing else). */
function rejectsAsId(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (error) {
    expect(error).toBeInstanceOf(BadUserInputError);
    expect((error as BadUserInputError).extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "id" });
    return true;
  }
}

describe("local ids", () => {
  it("read back to the namespace and name they were made of", () => {
    fc.assert(
      fc.property(namespace, name, (ns, n) => {
        expect(parseObjectLocalId(objectLocalId(ns, n))).toEqual({ namespace: ns, name: n });
      }),
    );
  });

  it("of IDEs read back to the namespace, convention and name", () => {
    fc.assert(
      fc.property(namespace, fc.constantFrom(...ideConventions), name, (ns, convention, n) => {
        expect(parseIdeLocalId(ideLocalId(ns, convention, n))).toEqual({ namespace: ns, convention, name: n });
      }),
    );
  });

  it.each([
    "",
    "team-a",
    "team-a/",
    "/pod",
    "team-a/pod/extra",
    "Team-A/pod",
    "team-a/-pod",
    "team-a/pod name",
    `team-a/${"a".repeat(254)}`,
  ])("%j is no object's", (id) => {
    expect(rejectsAsId(() => parseObjectLocalId(id))).toBe(true);
  });

  it.each(["team-a/lab", "team-a/HOMEGROWN/lab", "team-a/KUBESUB_LABELS", "team-a/KUBESUB_LABELS/lab/x"])("%j is no IDE's", (id) => {
    expect(rejectsAsId(() => parseIdeLocalId(id))).toBe(true);
  });
});

const base64urlOrPadding = fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/");

describe("global ids", () => {
  it("decode to the type and local id they were encoded from", () => {
    fc.assert(
      fc.property(fc.constantFrom("Pod", "IDE", "DaskJob"), namespace, name, (typename, ns, n) => {
        const id = objectLocalId(ns, n);
        const global = encodeGlobalId(typename, id);
        expect(global).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeGlobalId(global)).toEqual({ typename, id });
      }),
    );
  });

  it("every other string is BAD_USER_INPUT, or the exact encoding of what it decodes to", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: base64urlOrPadding, maxLength: 60 })), (value) => {
        let decoded: { typename: string; id: string } | undefined;
        const rejected = rejectsAsId(() => {
          decoded = decodeGlobalId(value);
        });
        if (!rejected) expect(encodeGlobalId(decoded?.typename ?? "", decoded?.id ?? "")).toBe(value);
      }),
    );
  });
});
