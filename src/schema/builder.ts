import SchemaBuilder from "@pothos/core";
import type { Context } from "./context.ts";

/** The one Pothos builder. Fields are non-null unless they say otherwise. */
export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  Scalars: { DateTime: { Input: string; Output: string } };
}>({ defaultFieldNullability: false });

builder.queryType({ description: "Reads answered from kubesub's informer caches." });
builder.subscriptionType({
  description: "Live streams: the current state, an InitialStateComplete marker, then every change.",
});
