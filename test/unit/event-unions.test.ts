// Every event union (PodEvent, IDEEvent, DaskEvent) must let one operation select every field of
// every member: GraphQL refuses to merge same-named fields of different types across a union's
// members ("fields conflict"), and a client would then have to alias them.
import {
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isLeafType,
  isNonNullType,
  isObjectType,
  isUnionType,
  parse,
  validate,
} from "graphql";
import { describe, expect, it } from "vitest";
import { buildSchema } from "../../src/schema/index.ts";

const schema: GraphQLSchema = buildSchema();

/** Every field of a type, objects selected in turn down to `depth` levels. */
function everyField(type: GraphQLObjectType, depth: number): string {
  return Object.values(type.getFields())
    .flatMap((field) => {
      const named = getNamedType(field.type);
      if (isLeafType(named)) return [field.name];
      if (depth === 0 || !isObjectType(named)) return [];
      return [`${field.name} { ${everyField(named, depth - 1)} }`];
    })
    .join(" ");
}

/** The subscription field that streams a union, with a literal for each of its required arguments. */
function streamOf(union: string): string {
  const field = Object.values(schema.getSubscriptionType()?.getFields() ?? {}).find((f) => getNamedType(f.type).name === union);
  if (!field) throw new Error(`no subscription streams ${union}`);
  const args = field.args.filter((arg) => isNonNullType(arg.type)).map((arg) => `${arg.name}: "data-science"`);
  return `${field.name}(${args.join(", ")})`;
}

describe.each(["PodEvent", "IDEEvent", "DaskEvent"])("%s", (name) => {
  it("one operation selects every field of every member, unaliased, and validates", () => {
    const union = schema.getType(name);
    if (!isUnionType(union)) throw new Error(`${name} is not a union`);
    const members = union.getTypes().map((member) => `... on ${member.name} { ${everyField(member, 4)} }`);
    const document = parse(`subscription { ${streamOf(name)} { __typename ${members.join(" ")} } }`);
    expect(validate(schema, document).map((error) => error.message)).toEqual([]);
  });
});

it("DaskWorkerGroup, DaskAutoscaler and DaskJob share cluster and user with one type each", () => {
  const typeOf = (object: string, field: string) => String((schema.getType(object) as GraphQLObjectType).getFields()[field]?.type);
  for (const field of ["cluster", "user"]) {
    expect(["DaskWorkerGroup", "DaskAutoscaler", "DaskJob"].map((object) => typeOf(object, field))).toEqual(["String", "String", "String"]);
  }
});
