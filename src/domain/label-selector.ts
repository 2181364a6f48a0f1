import { BadUserInputError } from "../errors.ts";
import { validateLabelKey, validateLabelValue } from "./validation.ts";

export type SelectorOperator = "IN" | "NOT_IN" | "EXISTS" | "DOES_NOT_EXIST";

export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values: string[];
}

/** metav1.LabelSelector: every matchLabels pair and every requirement must hold. */
export interface LabelSelector {
  matchLabels?: { key: string; value: string }[] | null;
  matchExpressions?: { key: string; operator: SelectorOperator; values?: string[] | null }[] | null;
}

/**
 * Validates a selector and compiles it into requirements. The selector is structured input, never
 * parsed from a string, so its meaning cannot be changed by what its keys and values contain.
 */
export function compileSelector(selector: LabelSelector | null | undefined, argument = "selector"): SelectorRequirement[] {
  if (!selector) return [];
  const requirements: SelectorRequirement[] = [];
  for (const [i, { key, value }] of (selector.matchLabels ?? []).entries()) {
    validateLabelKey(key, `${argument}.matchLabels[${i}].key`);
    validateLabelValue(value, `${argument}.matchLabels[${i}].value`);
    requirements.push({ key, operator: "IN", values: [value] });
  }
  for (const [i, { key, operator, values }] of (selector.matchExpressions ?? []).entries()) {
    const path = `${argument}.matchExpressions[${i}]`;
    validateLabelKey(key, `${path}.key`);
    const list = values ?? [];
    for (const [j, v] of list.entries()) validateLabelValue(v, `${path}.values[${j}]`);
    const needsValues = operator === "IN" || operator === "NOT_IN";
    if (needsValues && list.length === 0) {
      throw new BadUserInputError(`${path}: operator ${operator} needs at least one value`, `${path}.values`);
    }
    if (!needsValues && list.length > 0) {
      throw new BadUserInputError(`${path}: operator ${operator} takes no values`, `${path}.values`);
    }
    requirements.push({ key, operator, values: list });
  }
  return requirements;
}

export function matchesSelector(labels: Record<string, string> | undefined, requirements: readonly SelectorRequirement[]): boolean {
  for (const { key, operator, values } of requirements) {
    const value = labels?.[key];
    switch (operator) {
      case "IN":
        if (value === undefined || !values.includes(value)) return false;
        break;
      case "NOT_IN":
        if (value !== undefined && values.includes(value)) return false;
        break;
      case "EXISTS":
        if (value === undefined) return false;
        break;
      case "DOES_NOT_EXIST":
        if (value !== undefined) return false;
        break;
    }
  }
  return true;
}
