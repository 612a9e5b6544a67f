import { createHash, randomBytes } from "node:crypto";

/** Bytes of randomness in every secret: 256 bits, beyond any guessing or brute force. */
const SECRET_BYTES = 32;

/**
 * A new high-entropy secret with a kind prefix, for people and scanners to recognise:
 * `csk_…` (API key), `cst_…` (session token). 32 random bytes, base64url.
 */
export function newSecretToken(prefix: "csk" | "cst"): string {
  return `${prefix}_${randomBytes(SECRET_BYTES).toString("base64url")}`;
}

/**
 * What the store keeps of a secret: its SHA-256, lower-case hex. A plain (fast, unsalted) hash suffices
 * because secrets are 256-bit random values: no dictionary covers them and no search space is small
 * enough to try, so slow password hashes (bcrypt, argon2) would add cost and nothing else. A fast hash
 * also lets each request find its key with one indexed equality lookup.
 */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}
