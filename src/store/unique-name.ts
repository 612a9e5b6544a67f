import { randomBytes } from "node:crypto";

/** Drawn once per process (and per worker thread, which loads its own copy of this module). */
const processPart = randomBytes(6).toString("hex");
let counter = 0;

/**
 * A name no other call of any process will return: a per-process random part and a counter. For temp
 * files created by the thousand, one random draw per name cost more than a tenth of storing a small
 * blob (measured). Callers still create with O_EXCL, so a collision would fail loudly, never overwrite.
 */
export function uniqueName(): string {
  return `${processPart}-${(counter++).toString(36)}`;
}
