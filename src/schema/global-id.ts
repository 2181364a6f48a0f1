import { notAnId } from "../domain/identity.ts";

/**
 * kubesub's global ids: base64url (no padding) of "<GraphQL type>:<local id>", where the local id
 * names the object in Kubernetes (domain/identity.ts). Opaque to clients: they compare ids and give
 * them back to node(id), never parse them. Deterministic, so an object's id is the same in every
 * answer, on every replica and after a restart.
 */
export function encodeGlobalId(typename: string, id: string | number | bigint): string {
  return Buffer.from(`${typename}:${id}`, "utf8").toString("base64url");
}

/** Longer than any id kubesub gives (a type, a namespace and a name of at most 253 characters). */
const maxLength = 1_024;
const typenamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The type and local id of a global id. Strict: only the exact encoding of "<type>:<local id>" is
 * accepted (no padding, no other alphabet, nothing ignored), and anything else is BAD_USER_INPUT
 * with extensions.argument "id". Whether the type is a Node and the local id names an object of
 * it is checked after (builder.ts, each type's id parser).
 */
export function decodeGlobalId(globalId: string): { typename: string; id: string } {
  if (globalId.length === 0 || globalId.length > maxLength) throw notAnId(globalId);
  const text = Buffer.from(globalId, "base64url").toString("utf8");
  const colon = text.indexOf(":");
  const typename = text.slice(0, colon);
  const id = text.slice(colon + 1);
  if (colon === -1 || !typenamePattern.test(typename) || id === "" || encodeGlobalId(typename, id) !== globalId) {
    throw notAnId(globalId);
  }
  return { typename, id };
}
