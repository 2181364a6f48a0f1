// Every event union (PodEvent, IDEEvent, DaskEvent) must let one operation select every field of
// every member: GraphQL refuses to merge same-named fields of different types across a union's
// members ("fields conflict"), and a client would then have to alias them.
import { type GraphQLObjectType, type GraphQLSchema, parse, validate } from "graphql";
import { describe, expect, it } from "vitest";
import { buildSchema } from "../../src/schema/index.ts";
import { everythingSubscription } from "../helpers/schema-selection.ts";

const schema: GraphQLSchema = buildSchema();

describe.each(["PodEvent", "IDEEvent", "DaskEvent"])("%s", (name) => {
  it("one operation selects every field of every member, unaliased, and validates", () => {
    const document = parse(everythingSubscription(schema, name, "data-science"));
    expect(validate(schema, document).map((error) => error.message)).toEqual([]);
  });
});

it("DaskWorkerGroup, DaskAutoscaler and DaskJob share cluster and user with one type each", () => {
  const typeOf = (object: string, field: string) => String((schema.getType(object) as GraphQLObjectType).getFields()[field]?.type);
  for (const field of ["cluster", "user"]) {
    expect(["DaskWorkerGroup", "DaskAutoscaler", "DaskJob"].map((object) => typeOf(object, field))).toEqual(["String", "String", "String"]);
  }
});
