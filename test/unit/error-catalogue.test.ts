// Every code a client can receive is defined once, in src/errors.ts: the source uses no other, and
// the README's table says what the catalogue says.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { type ErrorCode, type ErrorCodeInfo, errorCatalogue } from "../../src/errors.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

it("every code written in src/ is one of the catalogue's", () => {
  const used = new Set<string>();
  for (const file of sourceFiles(join(root, "src"))) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/\bcode: "([A-Z_]+)"/g)) used.add(match[1] as string);
    for (const match of text.matchAll(/KubesubError\(\s*"([A-Z_]+)"/g)) used.add(match[1] as string);
  }
  expect(used.size).toBeGreaterThan(3);
  expect([...used].filter((code) => !(code in errorCatalogue))).toEqual([]);
});

it("the README's table of codes is the catalogue", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const rows = [...readme.matchAll(/^\| `([A-Z_]+)` \|\s*(\d*)\s*\| (yes|no) \| (.+) \|$/gm)].map((m) => ({
    code: m[1],
    status: m[2] ? Number(m[2]) : undefined,
    retryable: m[3] === "yes",
    meaning: m[4],
  }));
  const catalogue = (Object.entries(errorCatalogue) as [ErrorCode, ErrorCodeInfo][]).map(([code, info]) => ({
    code,
    status: info.status,
    retryable: info.retryable,
    meaning: info.meaning,
  }));
  expect(rows).toEqual(catalogue);
});
