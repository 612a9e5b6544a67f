import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ForbiddenError, InvalidParameterError } from "../errors/index.js";

/**
 * Signed file URLs: `/v1/files/{contextId}?path&tenant&method&expires&sig`, where `sig` is the hex
 * HMAC-SHA256, under a server secret, of the tenant, context, key (normalised path), method and expiry
 * (Unix seconds). Anyone holding the URL may do that one method on that one file until it expires; a
 * change to any of the signed values breaks the signature. The URL is a credential: never log it.
 */
export type SignedMethod = "GET" | "PUT";

export interface SignedFile {
  tenantId: string;
  contextId: string;
  /** Canonical context key. */
  key: string;
  method: SignedMethod;
  /** Unix seconds after which the URL is refused. */
  expires: number;
}

/** File in the data directory that keeps the URL secret across restarts. */
export const URL_SECRET_FILE = "url-secret";
/** Shortest CTXSYNC_URL_SECRET accepted: 256 bits as hex or base64 is longer than this. */
const MIN_SECRET_LENGTH = 32;
const SIG = /^[0-9a-f]{64}$/;
const EXPIRES = /^[0-9]{1,12}$/;

/** The full URL for `f` under `baseUrl` (the server's public origin, e.g. `http://127.0.0.1:8787`). */
export function signFileUrl(secret: Buffer, baseUrl: string, f: SignedFile): string {
  const query = new URLSearchParams({
    path: f.key,
    tenant: f.tenantId,
    method: f.method,
    expires: String(f.expires),
    sig: signature(secret, f),
  });
  return `${baseUrl.replace(/\/+$/, "")}/v1/files/${encodeURIComponent(f.contextId)}?${query.toString()}`;
}

/**
 * Checks a request to a signed URL: every parameter present once, the signature valid for exactly these
 * values, the request's method the signed one, the expiry not passed. Returns what it allows; throws
 * ForbiddenError otherwise, with a reason that reveals nothing of the secret.
 */
export function verifyFileUrl(
  secret: Buffer,
  contextId: string,
  query: Record<string, string[]>,
  requestMethod: string,
  nowSeconds: number,
): SignedFile {
  const one = (name: string): string => {
    const v = query[name];
    if (!v || v.length !== 1 || v[0] === undefined) throw new ForbiddenError(`The signed URL lacks a single ${name} parameter; request a new URL.`);
    return v[0];
  };
  const [key, tenantId, method, expiresText, sig] = [one("path"), one("tenant"), one("method"), one("expires"), one("sig")];
  if ((method !== "GET" && method !== "PUT") || !EXPIRES.test(expiresText) || !SIG.test(sig)) {
    throw new ForbiddenError("The signed URL is malformed; request a new URL.");
  }
  const f: SignedFile = { tenantId, contextId, key, method, expires: Number(expiresText) };
  const expected = Buffer.from(signature(secret, f), "hex");
  if (!timingSafeEqual(expected, Buffer.from(sig, "hex"))) {
    throw new ForbiddenError("The URL's signature does not match: it was altered or signed by another server. Request a new URL.");
  }
  if (requestMethod !== method) {
    throw new ForbiddenError(`The URL was signed for ${method}, not ${requestMethod}. Request a URL for ${requestMethod}.`);
  }
  if (nowSeconds > f.expires) throw new ForbiddenError("The signed URL has expired; request a new one.");
  return f;
}

/**
 * The server's URL secret: CTXSYNC_URL_SECRET when set (replicas behind one address share it), else the
 * secret kept in `<dataDir>/url-secret`, made (32 random bytes, mode 0600) on first use.
 */
export function loadUrlSecret(dataDir: string, envSecret: string | undefined): Buffer {
  if (envSecret !== undefined && envSecret !== "") {
    if (envSecret.length < MIN_SECRET_LENGTH) {
      throw new InvalidParameterError(`CTXSYNC_URL_SECRET must be at least ${MIN_SECRET_LENGTH} characters; generate one with \`openssl rand -hex 32\`.`);
    }
    return Buffer.from(envSecret, "utf8");
  }
  const file = path.join(dataDir, URL_SECRET_FILE);
  try {
    fs.writeFileSync(file, randomBytes(32).toString("hex"), { flag: "wx", mode: 0o600 });
  } catch (err) {
    // Made by an earlier start (or a replica on the same directory): use that one.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const secret = fs.readFileSync(file, "utf8").trim();
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new InvalidParameterError(`${file} holds no valid URL secret; delete it to make a new one (outstanding URLs stop working).`);
  }
  return Buffer.from(secret, "utf8");
}

function signature(secret: Buffer, f: SignedFile): string {
  // A JSON array keeps field boundaries unambiguous whatever characters a key contains.
  const payload = JSON.stringify(["ctxsync-file-url-v1", f.tenantId, f.contextId, f.key, f.method, f.expires]);
  return createHmac("sha256", secret).update(payload, "utf8").digest("hex");
}
