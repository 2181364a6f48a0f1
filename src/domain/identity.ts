import { BadUserInputError } from "../errors.ts";
import { type IDEConvention, ideConventions } from "./ide.ts";

/**
 * How kubesub identifies what it serves: the local id of every model, which the schema joins to the
 * model's GraphQL type to make its id (schema/global-id.ts).
 *
 * Contract: a model's identity is what names it in Kubernetes, its namespace and name; for an IDE,
 * also the convention that recognised it (a Notebook, a kubesub.io/ide-name label and a JupyterHub
 * pod may share a name), and its name is the Notebook's, the label's or the pod's. It is computed
 * from the model alone, so it is the same in every query and event, on every replica and after a
 * restart. It is not the uid: a pod deleted and made again under the same name (a StatefulSet's
 * pod, a restarted Notebook's) keeps its identity, as kubesub's own coalescing treats it (deleted
 * then added again is one update), so that a client's normalised cache keeps one entry and the
 * lists pointing to it. Pod.uid tells the incarnations apart.
 */
export interface ObjectName {
  namespace: string;
  name: string;
}

export interface IdeName extends ObjectName {
  convention: IDEConvention;
}

// "/" is in no namespace, object name, label value or convention, so the parts split back exactly.
const separator = "/";
const namespacePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** An object name (RFC 1123 subdomain) or a label value (kubesub.io/ide-name, notebook-name). */
const namePattern = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** "<namespace>/<name>": the local id of a pod, a Dask cluster, worker group, autoscaler or job. */
export function objectLocalId(namespace: string, name: string): string {
  return `${namespace}${separator}${name}`;
}

/** "<namespace>/<convention>/<name>": the local id of an IDE. */
export function ideLocalId(namespace: string, convention: IDEConvention, name: string): string {
  return `${namespace}${separator}${convention}${separator}${name}`;
}

/** The name in an objectLocalId; BAD_USER_INPUT (argument "id") when it is not one. */
export function parseObjectLocalId(id: string): ObjectName {
  const [namespace, name, ...rest] = id.split(separator);
  if (rest.length > 0 || !isNamespace(namespace) || !isName(name)) throw notAnId();
  return { namespace, name };
}

/** The name in an ideLocalId; BAD_USER_INPUT (argument "id") when it is not one. */
export function parseIdeLocalId(id: string): IdeName {
  const [namespace, convention, name, ...rest] = id.split(separator);
  const known = ideConventions.find((c) => c === convention);
  if (rest.length > 0 || !isNamespace(namespace) || known === undefined || !isName(name)) throw notAnId();
  return { namespace, convention: known, name };
}

const isNamespace = (value: string | undefined): value is string =>
  value !== undefined && value.length <= 63 && namespacePattern.test(value);
const isName = (value: string | undefined): value is string => value !== undefined && value.length <= 253 && namePattern.test(value);

/** The error for a string that is not an id kubesub gave: BAD_USER_INPUT, extensions.argument "id". */
export function notAnId(value?: string): BadUserInputError {
  const shown = value === undefined ? "" : ` ${JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)}`;
  return new BadUserInputError(`id${shown} is not an id kubesub gave: pass the id field of an object as it was received`, "id");
}
