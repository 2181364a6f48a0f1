import type { GraphQLSchema } from "graphql";
import { builder } from "./builder.ts";
import "./common.ts";
import "./pod.ts";
import "./ide.ts";
import "./dask.ts";

/** The whole schema. Each domain file registers its types and fields on the builder when imported. */
export function buildSchema(): GraphQLSchema {
  return builder.toSchema();
}
