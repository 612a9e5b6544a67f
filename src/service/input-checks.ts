import { InvalidParameterError } from "../errors/index.js";
import { MAX_LABEL_KEY_LENGTH, MAX_LABEL_VALUE_LENGTH } from "../policy/index.js";

/**
 * Checks of caller input that the services make, and that the remote SDK makes again before it sends a
 * request, so both clients refuse the same input with the same words (the server's own schema check
 * would otherwise answer in zod's).
 */

/** Most items one page may hold (contexts, files, generations). */
export const MAX_PAGE_SIZE = 1000;

/** A page size (`maxResults`, `pageSize`, `limit`): a whole number from 1 to MAX_PAGE_SIZE. */
export function checkPageSize(n: unknown, field: string): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
    throw new InvalidParameterError(`${field} must be a whole number from 1 to ${MAX_PAGE_SIZE}; got ${shown(n)}.`);
  }
  return n;
}

/** A page number: a whole number from 1. */
export function checkPageNumber(n: unknown): number {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidParameterError(`pageNumber must be a whole number from 1; got ${shown(n)}.`);
  }
  return n;
}

/** A generation number, as context.log lists them. */
export function checkGeneration(n: unknown): number {
  if (typeof n !== "number" || !Number.isSafeInteger(n)) {
    throw new InvalidParameterError(`A generation is a whole number (see context.log); got ${shown(n)}.`);
  }
  return n;
}

/** A context name: a non-empty string of at most 256 characters, no NUL. */
export function checkName(name: unknown): string {
  if (typeof name !== "string" || name.trim() === "") {
    throw new InvalidParameterError("A context name must be a non-empty string.");
  }
  if (name.length > 256 || name.includes("\0")) {
    throw new InvalidParameterError("A context name must be at most 256 characters and contain no NUL byte.");
  }
  return name;
}

/** A copy of `labels`, checked: names and values are strings within the limits. */
export function checkLabels(labels: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (labels === undefined || labels === null) return out;
  if (typeof labels !== "object" || Array.isArray(labels)) throw new InvalidParameterError("labels must be an object of string names to string values.");
  for (const [name, value] of Object.entries(labels)) {
    if (typeof value !== "string") throw new InvalidParameterError(`Label ${JSON.stringify(name)} must have a string value; got a ${typeof value}.`);
    if (name.length > MAX_LABEL_KEY_LENGTH) throw new InvalidParameterError(`Label names are at most ${MAX_LABEL_KEY_LENGTH} characters; ${JSON.stringify(name.slice(0, 40))}… has ${name.length}.`);
    if (value.length > MAX_LABEL_VALUE_LENGTH) throw new InvalidParameterError(`Label ${JSON.stringify(name)} has a value of ${value.length} characters; at most ${MAX_LABEL_VALUE_LENGTH} are allowed.`);
    out[name] = value;
  }
  return out;
}

/** A value as a message shows it: strings quoted, so `"3"` is not mistaken for the number 3. */
function shown(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : String(v);
}
