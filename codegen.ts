import type { CodegenConfig } from "@graphql-codegen/cli";

/**
 * Typed client documents from schema.graphql (graphql-codegen's client preset). Operations live in
 * examples/operations/*.graphql (or in graphql() calls in examples/**.ts); `npm run codegen` writes
 * examples/generated/, and `npm run codegen:check` fails when what is committed there is stale.
 *
 * - fragmentMasking off: a UI switches on __typename and reads the fields of the member's fragment
 *   directly (event.__typename === "PodUpdated" narrows to a type with changedFields).
 * - importExtension ".ts": the generated files import each other the way this repository's
 *   sources do (moduleResolution nodenext, allowImportingTsExtensions).
 * - enumsAsTypes: string unions, no TypeScript enums (erasableSyntaxOnly).
 */
const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["examples/**/*.{ts,tsx,graphql}", "!examples/generated/**"],
  ignoreNoDocuments: true,
  importExtension: ".ts",
  generates: {
    "examples/generated/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: { enumsAsTypes: true, useTypeImports: true, scalars: { DateTime: "string" } },
    },
  },
};

export default config;
