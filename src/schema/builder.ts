import SchemaBuilder from "@pothos/core";
import RelayPlugin from "@pothos/plugin-relay";
import type { Context } from "./context.ts";
import { decodeGlobalId, encodeGlobalId } from "./global-id.ts";
import { loadNode } from "./node.ts";

/**
 * The one Pothos builder. Fields are non-null unless they say otherwise.
 *
 * The Relay plugin gives object identity only: the Node interface and node(id) (Relay's Global
 * Object Identification), whose id argument decodeGlobalId reads; each model's id field and loader
 * are kubesub's (node.ts). Normalised client caches key objects by id with no configuration.
 * kubesub's lists stay lists, not connections, and nodes(ids) is left out: each lookup reads one
 * project, as every other query does.
 */
export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  Scalars: { DateTime: { Input: string; Output: string } };
}>({
  plugins: [RelayPlugin],
  defaultFieldNullability: false,
  relay: {
    encodeGlobalID: encodeGlobalId,
    decodeGlobalID: decodeGlobalId,
    idFieldOptions: {
      description:
        "Identifies the object across kubesub's API, opaque: equal ids are the same object, whichever query or event carries it and whichever replica answers; node(id) answers it.",
    },
    nodeTypeOptions: {
      description:
        "An object kubesub serves that has an identity (Relay's Global Object Identification): a normalised cache (Apollo Client's InMemoryCache, urql's Graphcache) keys it by __typename and id with no configuration, and node(id) reads it again.",
    },
    nodeQueryOptions: {
      description:
        "The object with this id, as kubesub's caches hold it now. null when no such object exists, and null too when it is in a project (or belongs to a user) the caller may not read: the answer does not tell which. A string that is not an id kubesub gave is BAD_USER_INPUT; a source that cannot be read now is SOURCE_UNAVAILABLE, as for the lists.",
      args: { id: { description: "The id field of a Pod, IDE, DaskCluster, DaskWorkerGroup, DaskAutoscaler or DaskJob, as received." } },
      resolve: (_root, { id }, context) => loadNode(id, context),
    },
    nodesQueryOptions: false,
  },
});

builder.queryType({ description: "Reads answered from kubesub's informer caches." });
builder.subscriptionType({
  description: "Live streams: the current state, an InitialStateComplete marker, then every change.",
});
