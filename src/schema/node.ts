/**
 * The description of a model's id field. What the id is made of is domain/identity.ts's contract;
 * what a client may rely on is said here, once for every type.
 */
export function idDescription(what: string, namedBy: string): string {
  return `Identifies this ${what} across kubesub's API: the same in every query and event, on every replica and after a restart, so a normalised cache (Apollo Client's InMemoryCache, urql's Graphcache) keeps one entry per ${what} with no configuration; node(id) answers it. Made of the type and ${namedBy}, not of a uid: deleted and made again under the same name, it keeps its id. Opaque: compare it, never parse it.`;
}

/**
 * What a node loader gives Pothos: a shallow copy of the view's model. Pothos marks what a loader
 * returns with its type (so that node(id) resolves the Node's type), and the view's model is shared
 * with every stream and query.
 */
export async function detached<M extends object>(model: Promise<M | null>): Promise<M | null> {
  const found = await model;
  return found && { ...found };
}
