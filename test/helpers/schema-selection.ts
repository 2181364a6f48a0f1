// Operations that select everything a type serves, generated from kubesub's schema: for tests that
// must reach every field (union compatibility, the shared execution contract).
import { type GraphQLObjectType, type GraphQLSchema, getNamedType, isLeafType, isNonNullType, isObjectType, isUnionType } from "graphql";

/** Every field of a type, objects selected in turn down to `depth` levels. */
export function everyField(type: GraphQLObjectType, depth: number): string {
  return Object.values(type.getFields())
    .flatMap((field) => {
      const named = getNamedType(field.type);
      if (isLeafType(named)) return [field.name];
      if (depth === 0 || !isObjectType(named)) return [];
      return [`${field.name} { ${everyField(named, depth - 1)} }`];
    })
    .join(" ");
}

/** The subscription field that streams a union, with `project` for each of its required arguments. */
export function streamOf(schema: GraphQLSchema, union: string, project: string): string {
  const field = Object.values(schema.getSubscriptionType()?.getFields() ?? {}).find((f) => getNamedType(f.type).name === union);
  if (!field) throw new Error(`no subscription streams ${union}`);
  const args = field.args.filter((arg) => isNonNullType(arg.type)).map((arg) => `${arg.name}: "${project}"`);
  return `${field.name}(${args.join(", ")})`;
}

/** The members of a union type of the schema. */
export function membersOf(schema: GraphQLSchema, union: string): GraphQLObjectType[] {
  const type = schema.getType(union);
  if (!isUnionType(type)) throw new Error(`${union} is not a union`);
  return [...type.getTypes()];
}

/** A subscription selecting every field of every member of the union its field streams. */
export function everythingSubscription(schema: GraphQLSchema, union: string, project: string, depth = 4): string {
  const members = membersOf(schema, union).map((member) => `... on ${member.name} { ${everyField(member, depth)} }`);
  return `subscription { ${streamOf(schema, union, project)} { __typename ${members.join(" ")} } }`;
}
