import type { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { isPlainBaseUpdate, isPlainCommitBody, isPlainDigestsBody } from "./fast-body-checks.js";
import { BaseUpdateBody, CommitBody, DigestsBody, MAX_PATH_LENGTH } from "./schemas.js";

const digest = (n: number) => n.toString(16).padStart(64, "0");
const meta = (n: number) => ({ type: "file", digest: digest(n), sizeBytes: n, mode: 0o644, mtimeMs: 1_700_000_000_000.5 + n, linkTarget: null });

/** A body with every kind of part: puts (file, symlink), a delete, a base with each of its lists. */
function validBody(): Record<string, unknown> {
  return {
    contextId: "ctx-1",
    expectedHead: 3,
    changes: [
      { kind: "put", key: "/w/a.txt", meta: meta(1), expiresAtMs: null },
      { kind: "put", key: "/w/link", meta: { type: "symlink", digest: null, sizeBytes: 5, mode: 0o777, mtimeMs: 0, linkTarget: "a.txt" }, expiresAtMs: 1_800_000_000_000 },
      { kind: "delete", key: "/w/gone" },
    ],
    base: { mountPath: "/w", upserts: [{ key: "/w/b.txt", ...meta(2) }], upsertPuts: [0, 1], deletes: ["/w/gone"] },
  };
}

/** sfc32, seeded: the same mutations every run. */
function rng(seed: number): () => number {
  let a = seed, b = 0x9e3779b9, c = 0x243f6a88, d = 1;
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = ((c << 21) | (c >>> 11)) + t;
    return (t >>> 0) / 2 ** 32;
  };
}

/** Values that are wrong somewhere and right elsewhere. */
const ODD_VALUES: unknown[] = [
  null, undefined, "", "x", "put", "delete", "file", "symlink", "/w/x", "x".repeat(MAX_PATH_LENGTH + 1), digest(7), digest(7).toUpperCase(),
  0, -1, 1.5, 0o7777, 0o7777 + 1, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, true, {}, [], [0], ["/w/x"], { kind: "delete", key: "/w/y" },
];

/** Every object and array inside `v`, with the key (or index) paths that reach them. */
function containers(v: unknown, out: (Record<string, unknown> | unknown[])[] = []): (Record<string, unknown> | unknown[])[] {
  if (typeof v === "object" && v !== null) {
    out.push(v as Record<string, unknown>);
    for (const child of Object.values(v)) containers(child, out);
  }
  return out;
}

/** One random change to `body` (in place): a field removed, added, or given an odd value. */
function mutate(body: Record<string, unknown>, next: () => number): void {
  const all = containers(body);
  const target = all[Math.floor(next() * all.length)]!;
  const keys = Object.keys(target);
  const odd = ODD_VALUES[Math.floor(next() * ODD_VALUES.length)];
  const roll = next();
  if (roll < 0.15 && keys.length > 0) {
    const k = keys[Math.floor(next() * keys.length)]!;
    if (Array.isArray(target)) target.splice(Number(k), 1);
    else delete target[k];
  } else if (roll < 0.3 && !Array.isArray(target)) {
    target[`extra${Math.floor(next() * 3)}`] = odd;
  } else if (keys.length > 0) {
    const k = keys[Math.floor(next() * keys.length)]!;
    (target as Record<string, unknown>)[k] = structuredClone(odd);
  }
}

/**
 * Mutates `count` fresh valid bodies (one to three changes each, seeded) and checks that every one `check`
 * says yes to, `schema` accepts and returns unchanged. Returns how many it said yes to.
 */
function yesToMutations(check: (v: unknown) => boolean, schema: z.ZodType, valid: () => Record<string, unknown>, seed: number, count: number): number {
  const next = rng(seed);
  let yes = 0;
  for (let i = 0; i < count; i++) {
    const body = valid();
    const rounds = 1 + Math.floor(next() * 3);
    for (let r = 0; r < rounds; r++) mutate(body, next);
    if (!check(body)) continue;
    yes++;
    const parsed = schema.safeParse(body);
    expect(parsed.success, JSON.stringify(body)).toBe(true);
    expect(parsed.data, JSON.stringify(body)).toEqual(body);
  }
  return yes;
}

describe("isPlainCommitBody", () => {
  it("says yes to a commit body of every kind of part, as CommitBody parses it unchanged", () => {
    const body = validBody();
    expect(isPlainCommitBody(body)).toBe(true);
    const withoutBase = { ...body, base: undefined };
    delete withoutBase.base;
    expect(isPlainCommitBody(withoutBase)).toBe(true);
    const { upsertPuts: _, ...baseWithoutIndexes } = body.base as Record<string, unknown>;
    expect(isPlainCommitBody({ ...body, base: baseWithoutIndexes })).toBe(true);
    for (const b of [body, withoutBase]) expect(CommitBody.parse(b)).toEqual(b);
  });

  it("never says yes to a body CommitBody refuses or would change (5,000 seeded mutations)", () => {
    // Some mutations keep a body valid (an extra put, a number changed): those the check must pass.
    expect(yesToMutations(isPlainCommitBody, CommitBody, validBody, 42, 5000)).toBeGreaterThan(100);
  });
});

describe("isPlainBaseUpdate", () => {
  it("never says yes to a base update BaseUpdateBody refuses or would change (3,000 seeded mutations)", () => {
    const valid = () => {
      const { upsertPuts: _, ...base } = validBody().base as Record<string, unknown>;
      return base;
    };
    expect(isPlainBaseUpdate(valid())).toBe(true);
    expect(BaseUpdateBody.parse(valid())).toEqual(valid());
    expect(yesToMutations(isPlainBaseUpdate, BaseUpdateBody, valid, 7, 3000)).toBeGreaterThan(50);
  });
});

describe("isPlainDigestsBody", () => {
  it("says yes to 1 to 4096 well-formed digests and only to what DigestsBody accepts unchanged", () => {
    const ok = [{ digests: [digest(1)] }, { digests: Array.from({ length: 4096 }, (_, i) => digest(i)) }];
    for (const b of ok) {
      expect(isPlainDigestsBody(b)).toBe(true);
      expect(DigestsBody.parse(b)).toEqual(b);
    }
    const bad = [
      {},
      { digests: [] },
      { digests: Array.from({ length: 4097 }, (_, i) => digest(i)) },
      { digests: ["A".repeat(64)] },
      { digests: [digest(1).slice(1)] },
      { digests: [digest(1), 7] },
      { digests: [digest(1)], extra: true },
      { digests: digest(1) },
      null,
    ];
    for (const b of bad) expect(isPlainDigestsBody(b), JSON.stringify(b)).toBe(false);
  });
});

describe("isPlainCommitBody, against what is no commit", () => {
  it("says no to what is not an object with the fields of a commit", () => {
    for (const v of [null, [], "body", 7, {}, { contextId: "c", expectedHead: 0 }]) expect(isPlainCommitBody(v)).toBe(false);
  });
});
