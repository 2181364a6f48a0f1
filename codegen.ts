import type { CodegenConfig } from "@graphql-codegen/cli";

/**
 * Typed client documents from schema.graphql (graphql-codegen's client preset). Operations live
 * next to the clients that use them (examples/**); `npm run codegen` writes examples/generated/.
 */
const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["examples/**/*.{ts,tsx,graphql}", "!examples/generated/**"],
  ignoreNoDocuments: true,
  generates: {
    "examples/generated/": {
      preset: "client",
      config: { enumsAsTypes: true, useTypeImports: true, scalars: { DateTime: "string" } },
    },
  },
};

export default config;
