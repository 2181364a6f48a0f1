import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { printedSchema } from "../../src/schema/print.ts";

it("schema.graphql is the schema the code builds (run `npm run schema` after changing src/schema)", () => {
  const committed = readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8");
  expect(committed).toBe(printedSchema());
});
