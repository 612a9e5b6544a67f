import { MAX_BATCH_BLOBS } from "./blob-frames.js";
import { MAX_PATH_LENGTH } from "./schemas.js";

/*
 * Fast yeses to the request bodies an agent sends most, or largest: zod took 60–90 ms to validate a
 * commit of 10,000 changes on a server that had not parsed one before, all of it while the agent waits
 * for its upload to end. jsonBody (src/server/openapi-parts.ts) asks these first.
 *
 * Each says true only for a value its schema accepts and returns unchanged: exactly its fields (zod would
 * strip others, so an extra one is a no here), each of its type and within its bounds. False is not a
 * verdict: the caller then lets zod judge, which also words the error. So these may refuse more than the
 * schemas (integers beyond 2^53, say), never less; the tests hold them to that.
 */

/** A fast yes to CommitBody. */
export function isPlainCommitBody(v: unknown): boolean {
  if (!isRecord(v) || !hasOnlyKeys(v, COMMIT_KEYS, v.base === undefined ? 3 : 4)) return false;
  if (!isString(v.contextId, 1, 128) || !isCount(v.expectedHead) || !Array.isArray(v.changes)) return false;
  for (const c of v.changes as unknown[]) if (!isChange(c)) return false;
  return v.base === undefined || isBase(v.base);
}

/**
 * The same fast yes to BaseUpdateBody (an agent's base after a download: one entry per file, as large
 * as a commit's).
 */
export function isPlainBaseUpdate(v: unknown): boolean {
  return isRecord(v) && hasOnlyKeys(v, BASE_UPDATE_KEYS, 3) && isBase(v);
}

/**
 * The same fast yes to DigestsBody (the digests of a blob fetch or `missing`, asked dozens of times per
 * transfer): 1 to MAX_DIGESTS well-formed digests.
 */
export function isPlainDigestsBody(v: unknown): boolean {
  if (!isRecord(v) || !hasOnlyKeys(v, DIGESTS_KEYS, 1) || !Array.isArray(v.digests)) return false;
  const digests = v.digests as unknown[];
  if (digests.length < 1 || digests.length > MAX_DIGESTS) return false;
  for (const d of digests) if (typeof d !== "string" || !DIGEST.test(d)) return false;
  return true;
}

const DIGESTS_KEYS = new Set(["digests"]);
/** DigestBatch's bound. */
const MAX_DIGESTS = MAX_BATCH_BLOBS;
const COMMIT_KEYS = new Set(["contextId", "expectedHead", "changes", "base"]);
const BASE_UPDATE_KEYS = new Set(["mountPath", "upserts", "deletes"]);
const PUT_KEYS = new Set(["kind", "key", "meta", "expiresAtMs"]);
const DELETE_KEYS = new Set(["kind", "key"]);
const META_KEYS = new Set(["type", "digest", "sizeBytes", "mode", "mtimeMs", "linkTarget"]);
const BASE_ENTRY_KEYS = new Set(["key", ...META_KEYS]);
const BASE_KEYS = new Set(["mountPath", "upserts", "upsertPuts", "deletes"]);
const DIGEST = /^[0-9a-f]{64}$/;

function isChange(c: unknown): boolean {
  if (!isRecord(c) || !isPath(c.key)) return false;
  if (c.kind === "delete") return hasOnlyKeys(c, DELETE_KEYS, 2);
  return c.kind === "put" && hasOnlyKeys(c, PUT_KEYS, 4) && isRecord(c.meta) && hasOnlyKeys(c.meta, META_KEYS, 6) && isMeta(c.meta) && isNullableNumber(c.expiresAtMs);
}

function isBase(b: unknown): boolean {
  if (!isRecord(b) || !isPath(b.mountPath) || !Array.isArray(b.upserts) || !Array.isArray(b.deletes)) return false;
  const required = b.upsertPuts === undefined ? 3 : 4;
  if (!hasOnlyKeys(b, BASE_KEYS, required)) return false;
  for (const e of b.upserts as unknown[]) if (!isRecord(e) || !hasOnlyKeys(e, BASE_ENTRY_KEYS, 7) || !isPath(e.key) || !isMeta(e)) return false;
  if (b.upsertPuts !== undefined) {
    if (!Array.isArray(b.upsertPuts)) return false;
    for (const i of b.upsertPuts as unknown[]) if (!isCount(i)) return false;
  }
  for (const k of b.deletes as unknown[]) if (!isPath(k)) return false;
  return true;
}

/** The FileMeta fields (the object may hold others, checked by the caller). */
function isMeta(m: Record<string, unknown>): boolean {
  return (
    (m.type === "file" || m.type === "symlink") &&
    (m.digest === null || (typeof m.digest === "string" && DIGEST.test(m.digest))) &&
    isCount(m.sizeBytes) &&
    isCount(m.mode) &&
    (m.mode as number) <= 0o7777 &&
    isFiniteNumber(m.mtimeMs) &&
    (m.linkTarget === null || isString(m.linkTarget, 0, MAX_PATH_LENGTH))
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every own key is in `allowed`, and there are exactly `count` of them (the required ones present). */
function hasOnlyKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>, count: number): boolean {
  let n = 0;
  for (const k in o) {
    if (!Object.hasOwn(o, k) || !allowed.has(k) || o[k] === undefined) return false;
    n++;
  }
  return n === count;
}

function isString(v: unknown, min: number, max: number): boolean {
  return typeof v === "string" && v.length >= min && v.length <= max;
}

function isPath(v: unknown): boolean {
  return isString(v, 1, MAX_PATH_LENGTH);
}

/** A whole number ≥ 0 that a double holds exactly. */
function isCount(v: unknown): boolean {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function isFiniteNumber(v: unknown): boolean {
  return typeof v === "number" && Number.isFinite(v);
}

function isNullableNumber(v: unknown): boolean {
  return v === null || isFiniteNumber(v);
}
