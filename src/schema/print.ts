// Prints schema.graphql (the committed contract) from the Pothos schema: `npm run schema`.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { printSchema } from "graphql";
import { buildSchema } from "./index.ts";

export function printedSchema(): string {
  return `${printSchema(buildSchema())}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = fileURLToPath(new URL("../../schema.graphql", import.meta.url));
  writeFileSync(target, printedSchema());
  console.log(`wrote ${target}`);
}
