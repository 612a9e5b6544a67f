import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../errors/index.js";
import { packBaseUpserts, unpackBaseUpserts } from "./commit-wire.js";

const meta = (digest: string, mtimeMs = 1_700_000_000_000) => ({ type: "file" as const, digest: digest.repeat(64), sizeBytes: 3, mode: 0o644, mtimeMs, linkTarget: null });
const put = (key: string, m = meta("a")) => ({ kind: "put" as const, key, meta: m, expiresAtMs: null });

describe("base upserts of a commit on the wire", () => {
  it("sends an upsert equal to a put as the put's index and every other upsert whole", () => {
    const changes = [{ kind: "delete" as const, key: "/w/gone" }, put("/w/a"), put("/w/b"), put("/w/c")];
    const upserts = [
      { key: "/w/a", ...meta("a") }, // same as its put
      { key: "/w/b", ...meta("a", 5) }, // other mtime than its put
      { key: "/w/kept", ...meta("b") }, // no put of that key
    ];
    const packed = packBaseUpserts(changes, upserts);
    expect(packed).toEqual({ upserts: [upserts[1], upserts[2]], upsertPuts: [1] });
    const unpacked = unpackBaseUpserts(changes, { mountPath: "/w", deletes: [], ...packed });
    expect(new Set(unpacked.map((e) => JSON.stringify(e)))).toEqual(new Set(upserts.map((e) => JSON.stringify(e))));
  });

  it("leaves upsertPuts out when no upsert repeats a put", () => {
    expect(packBaseUpserts([put("/w/a")], [])).toEqual({ upserts: [] });
  });

  it("refuses an index that names a delete or no change at all", () => {
    const changes = [{ kind: "delete" as const, key: "/w/gone" }, put("/w/a")];
    for (const i of [0, 2]) {
      expect(() => unpackBaseUpserts(changes, { mountPath: "/w", upserts: [], upsertPuts: [i], deletes: [] })).toThrow(InvalidParameterError);
    }
  });

  it("refuses an index named twice", () => {
    expect(() => unpackBaseUpserts([put("/w/a")], { mountPath: "/w", upserts: [], upsertPuts: [0, 0], deletes: [] })).toThrow(/more than once/);
  });
});
