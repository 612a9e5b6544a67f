import { InvalidParameterError } from "../errors/index.js";

/**
 * A wire value that may arrive as a JSON string (the reference embeds policies as strings) or already
 * parsed: a string is parsed, anything else is returned as it is. Malformed JSON throws
 * InvalidParameterError naming `what` and showing `example`.
 * `parseJsonInput('{"a":1}', …)` → `{ a: 1 }`; `parseJsonInput({ a: 1 }, …)` → the same object.
 */
export function parseJsonInput(json: unknown, what: string, example: string): unknown {
  if (typeof json !== "string") return json;
  try {
    return JSON.parse(json);
  } catch (err) {
    throw new InvalidParameterError(
      `${what} is not valid JSON (${err instanceof Error ? err.message : String(err)}). Send an object such as ${example}.`,
      { cause: err },
    );
  }
}
