/**
 * Numbers given on the command line, checked here so an error names the flag the user typed (`--max`),
 * not the SDK field it becomes. Blank text is refused: Number("") is 0.
 */

/** A whole number from `min` to `max`. */
export function wholeNumberOption(text: string, option: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new Error(`${option} must be a whole number from ${min} to ${max}; got ${JSON.stringify(text)}`);
  }
  return n;
}

/** A number above 0. */
export function positiveOption(text: string, option: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0) throw new Error(`${option} must be a positive number; got ${JSON.stringify(text)}`);
  return n;
}

/** A number of 0 or more. */
export function nonNegativeOption(text: string, option: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0) throw new Error(`${option} must be a number, 0 or more; got ${JSON.stringify(text)}`);
  return n;
}
