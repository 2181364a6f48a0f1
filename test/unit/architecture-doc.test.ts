// docs/architecture.md names files and functions hop by hop; when code moves or is renamed, this
// fails until the walk is brought up to date.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const doc = readFileSync(join(root, "docs/architecture.md"), "utf8");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : [];
  });
}

it("every file the architecture walk names exists", () => {
  const paths = [...doc.matchAll(/`(src\/[\w/.-]+\.ts)`/g)].map((m) => m[1] as string);
  expect(paths.length).toBeGreaterThan(10);
  expect(paths.filter((path) => !existsSync(join(root, path)))).toEqual([]);
});

it("every function, class and method the architecture walk names is in src/", () => {
  const code = sources(join(root, "src"))
    .map((file) => readFileSync(file, "utf8"))
    .join("\n");
  // `Name`, `Class.method` or `function`, in backticks: identifiers, not flags, paths or GraphQL types.
  const names = [...doc.matchAll(/`([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)?)`/g)].map((m) => m[1] as string);
  // GraphQL type names (PodUpdated...) are the schema's, checked against schema.graphql instead.
  const schema = readFileSync(join(root, "schema.graphql"), "utf8");
  const isGraphqlType = (name: string) => new RegExp(`^(type|union|enum|interface|scalar) ${name}\\b`, "m").test(schema);
  const missing = names
    .flatMap((name) => name.split("."))
    .filter((name) => !isGraphqlType(name) && !/^[A-Z_]+$/.test(name))
    .filter((name) => !new RegExp(`\\b${name}\\b`).test(code));
  expect(missing).toEqual([]);
});
