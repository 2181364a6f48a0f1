// examples/generated is committed: this fails when it no longer matches what graphql-codegen makes
// of schema.graphql and examples/operations (the same check as `npm run codegen:check`).
import { readdirSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { generate } from "@graphql-codegen/cli";
import { describe, expect, it } from "vitest";
import config from "../../codegen.ts";

const root = resolve(import.meta.dirname, "../..");

describe("examples/generated", () => {
  it("is what `npm run codegen` generates now", { timeout: 30_000 }, async () => {
    const outputs: { filename: string; content: string }[] = await generate({ ...config, cwd: root, silent: true }, false);
    const expected = Object.fromEntries(outputs.map((o) => [relative(root, resolve(root, o.filename)), o.content]));
    const committed = Object.fromEntries(
      readdirSync(resolve(root, "examples/generated")).map((name) => {
        const path = `examples/generated/${name}`;
        return [path, readFileSync(resolve(root, path), "utf8")];
      }),
    );
    expect(Object.keys(committed).sort(), "files in examples/generated; run `npm run codegen`").toEqual(Object.keys(expected).sort());
    for (const [path, content] of Object.entries(expected)) {
      expect(committed[path], `${path} is stale; run \`npm run codegen\``).toBe(content);
    }
  });
});
