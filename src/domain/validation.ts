import { BadUserInputError } from "../errors.ts";

// Kubernetes' own syntax rules (k8s.io/apimachinery/pkg/util/validation). Anchored, so nothing a
// caller types can smuggle a selector operator (",", "!", "=", "(") into a value.
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const qualifiedNamePart = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** A project is a namespace: an RFC 1123 label of at most 63 characters. */
export function validateProject(value: string, argument = "project"): string {
  if (value.length === 0) throw new BadUserInputError(`${argument} must not be empty`, argument);
  if (value.length > 63 || !dns1123Label.test(value)) {
    throw new BadUserInputError(
      `${argument} "${truncate(value)}" is not a valid namespace name: it must be at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
      argument,
    );
  }
  return value;
}

/** An object name (pods and most resources): an RFC 1123 subdomain of at most 253 characters. */
export function validateObjectName(value: string, argument: string): string {
  if (value.length === 0 || value.length > 253 || !dns1123Subdomain.test(value)) {
    throw new BadUserInputError(
      `${argument} "${truncate(value)}" is not a valid object name: lowercase letters, digits, '-' and '.', at most 253 characters`,
      argument,
    );
  }
  return value;
}

/** A label key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters. */
export function validateLabelKey(value: string, argument: string): string {
  const slash = value.indexOf("/");
  const prefix = slash === -1 ? undefined : value.slice(0, slash);
  const name = slash === -1 ? value : value.slice(slash + 1);
  const prefixOk = prefix === undefined || (prefix.length > 0 && prefix.length <= 253 && dns1123Subdomain.test(prefix));
  if (!prefixOk || name.length === 0 || name.length > 63 || !qualifiedNamePart.test(name)) {
    throw new BadUserInputError(
      `${argument} "${truncate(value)}" is not a valid label key: [prefix/]name, where name is at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
      argument,
    );
  }
  return value;
}

/** A label value: empty, or at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends. */
export function validateLabelValue(value: string, argument: string): string {
  if (value.length > 63 || (value.length > 0 && !qualifiedNamePart.test(value))) {
    throw new BadUserInputError(
      `${argument} "${truncate(value)}" is not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
      argument,
    );
  }
  return value;
}

/** Validates a user argument: a non-empty label value. */
export function validateUser(user: string | null | undefined): string | undefined {
  if (user == null) return undefined;
  if (user === "") throw new BadUserInputError("user must not be empty; omit it to see every user's objects", "user");
  return validateLabelValue(user, "user");
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 77)}...` : value;
}
