import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ForbiddenError, InvalidParameterError } from "../errors/index.js";
import { loadUrlSecret, signFileUrl, URL_SECRET_FILE, verifyFileUrl, type SignedFile } from "./signed-url.js";

const SECRET = Buffer.from("k".repeat(64));
const FILE: SignedFile = { tenantId: "tnt-1", contextId: "ctx-1", key: "/a/b c.txt", method: "GET", expires: 2_000_000_000 };

/** The query of a signed URL as hono's c.req.queries() gives it. */
function queryOf(url: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of new URL(url).searchParams) (out[k] ??= []).push(v);
  return out;
}

describe("signFileUrl and verifyFileUrl", () => {
  const url = signFileUrl(SECRET, "http://h:1/", FILE);

  it("puts every signed value in the URL and verifies it", () => {
    expect(url).toMatch(/^http:\/\/h:1\/v1\/files\/ctx-1\?path=%2Fa%2Fb\+c\.txt&tenant=tnt-1&method=GET&expires=2000000000&sig=[0-9a-f]{64}$/);
    expect(verifyFileUrl(SECRET, "ctx-1", queryOf(url), "GET", 1_999_999_999)).toEqual(FILE);
  });

  const refusals: { name: string; secret?: Buffer; contextId?: string; query?: (q: Record<string, string[]>) => void; method?: string; now?: number }[] = [
    { name: "another server's secret", secret: Buffer.from("x".repeat(64)) },
    { name: "another context", contextId: "ctx-2" },
    { name: "another key", query: (q) => (q.path = ["/a/b c.txT"]) },
    { name: "another tenant", query: (q) => (q.tenant = ["tnt-2"]) },
    { name: "another method in the URL", query: (q) => (q.method = ["PUT"]) },
    { name: "the request's method", method: "PUT" },
    { name: "a later expiry", query: (q) => (q.expires = ["2000000001"]) },
    { name: "an upper-case signature", query: (q) => (q.sig = [q.sig![0]!.toUpperCase()]) },
    { name: "a truncated signature", query: (q) => (q.sig = [q.sig![0]!.slice(0, 63)]) },
    { name: "a repeated parameter", query: (q) => q.path!.push("/a/b c.txt") },
    { name: "a missing parameter", query: (q) => delete q.expires },
    { name: "a passed expiry", now: 2_000_000_001 },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name} with ForbiddenError`, () => {
      const q = queryOf(url);
      r.query?.(q);
      expect(() => verifyFileUrl(r.secret ?? SECRET, r.contextId ?? "ctx-1", q, r.method ?? "GET", r.now ?? 1_999_999_999)).toThrowError(ForbiddenError);
    });
  }
});

describe("loadUrlSecret", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-secret-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("makes a secret once, readable only by its owner, and keeps it across starts", () => {
    const first = loadUrlSecret(dir, undefined);
    expect(first.length).toBe(64);
    expect(fs.statSync(path.join(dir, URL_SECRET_FILE)).mode & 0o777).toBe(0o600);
    expect(loadUrlSecret(dir, "")).toEqual(first);
  });

  it("prefers CTXSYNC_URL_SECRET, and refuses a short one", () => {
    expect(loadUrlSecret(dir, "e".repeat(40)).toString()).toBe("e".repeat(40));
    expect(fs.existsSync(path.join(dir, URL_SECRET_FILE))).toBe(false);
    expect(() => loadUrlSecret(dir, "short")).toThrowError(InvalidParameterError);
  });
});
