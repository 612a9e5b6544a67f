import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { UploadMode } from "../../src/sdk/index.js";
import { CLIENT_KINDS, useClientHarness } from "../helpers/client-harness.js";
import { listAllKeys } from "../helpers/list-all-files.js";
import { readTree, writeTree } from "../helpers/tree.js";

const M = "/home/user/work";

/** sync(contextId, path) for a path inside one of the session's mounts of that context: that part of the mount. */
describe.each(CLIENT_KINDS)("sync of a path inside a mount (%s client)", (kind) => {
  const h = useClientHarness(kind);
  const keys = (ctx: string) => listAllKeys(h().client, ctx, "/");

  it("keeps the mount's white list: a part the list leaves out is refused, a listed part syncs only itself", async () => {
    const ctx = await h().newContext();
    const s = await h().session("r", [[ctx, M, { bwList: { whiteLists: [{ path: "src", excludePaths: ["gen"] }] } }]]);
    writeTree(h().local("r", M), { secret: { "key.pem": "k" }, src: { "a.ts": "a", lib: { "b.ts": "b" }, gen: { "g.ts": "g" } } });

    const refused = await s.context.sync(ctx, `${M}/secret`);
    expect(refused).toMatchObject({ success: false, errorCode: "InvalidParameter", errorMessage: expect.stringContaining("outside its white list") });
    expect(await keys(ctx)).toEqual([]);

    expect(await s.context.sync(ctx, `${M}/src/lib`)).toMatchObject({ success: true });
    expect(await keys(ctx)).toEqual([`${M}/src/lib/b.ts`]);
    // The task reports the path asked for.
    const info = await s.context.infoWithParams(ctx, `${M}/src/lib`, "upload");
    expect(info.contextStatusData).toMatchObject([{ path: `${M}/src/lib`, status: "Success" }]);

    // An exclude inside the part still holds; the mount's own sync then brings the rest of the list.
    expect(await s.context.sync(ctx, `${M}/src`)).toMatchObject({ success: true });
    expect(await keys(ctx)).toEqual([`${M}/src/a.ts`, `${M}/src/lib/b.ts`]);
  });

  it("keeps the mount's mapping: the part lands under the mapped namespace", async () => {
    const WIN = "c:\\Users\\Admin\\Downloads";
    const WIN_KEY = "/c:/Users/Admin/Downloads";
    const ctx = await h().newContext();
    const s = await h().session("r", [[ctx, "/home/u/dl", { mappingPolicy: { path: WIN } }]]);
    writeTree(h().local("r", "/home/u/dl"), { sub: { "x.txt": "x" }, "top.txt": "t" });
    expect(await s.context.sync(ctx, "/home/u/dl/sub")).toMatchObject({ success: true });
    expect(await keys(ctx)).toEqual([`${WIN_KEY}/sub/x.txt`]);
  });

  it("uses the mount's base: another session's newer version of a file this session left alone is kept", async () => {
    const ctx = await h().newContext();
    const seed = await h().session("seed", [[ctx, M]]);
    writeTree(h().local("seed", M), { d: { "f.txt": "v1", "g.txt": "g1" } });
    await seed.delete(true);

    const a = await h().session("ra", [[ctx, M]]);
    const b = await h().session("rb", [[ctx, M]]);
    writeTree(h().local("rb", M), { d: { "f.txt": "v2 from b" } });
    await b.delete(true);
    // A changed g.txt only; its f.txt is still what it downloaded, so B's f.txt must survive A's sync of d.
    writeTree(h().local("ra", M), { d: { "g.txt": "g2 from a" } });
    expect(await a.context.sync(ctx, `${M}/d`)).toMatchObject({ success: true });

    await h().session("check", [[ctx, M]]);
    expect(readTree(h().local("check", M))).toEqual({ d: { "f.txt": "v2 from b", "g.txt": "g2 from a" } });
    // A download of the part brings B's version in, and only the part.
    fs.rmSync(path.join(h().local("ra", M), "d", "g.txt"));
    writeTree(h().local("ra", M), { "top.txt": "local only" });
    expect(await a.context.sync(ctx, `${M}/d`, "download")).toMatchObject({ success: true });
    expect(readTree(h().local("ra", M))).toEqual({ "top.txt": "local only", d: { "f.txt": "v2 from b", "g.txt": "g2 from a" } });
  });

  it("does not let a part replace a file of the mount outside it, and says to sync the mount", async () => {
    const ctx = await h().newContext();
    const s = await h().session("r", [[ctx, M]]);
    writeTree(h().local("r", M), { sub: "a file" });
    expect(await s.context.sync()).toMatchObject({ success: true });
    fs.rmSync(path.join(h().local("r", M), "sub"));
    writeTree(h().local("r", M), { sub: { dir: { "a.txt": "a" } } });
    const r = await s.context.sync(ctx, `${M}/sub/dir`);
    expect(r).toMatchObject({ success: false, errorCode: "TaskFailed" });
    expect(r.errorMessage).toContain(`${M}/sub is in its way in the context, outside the part of the mount this sync covers (${M}/sub/dir); sync ${M} itself`);
    expect(await keys(ctx)).toEqual([`${M}/sub`]);
    expect(await s.context.sync()).toMatchObject({ success: true });
    expect(await keys(ctx)).toEqual([`${M}/sub/dir/a.txt`]);
  });

  it("is refused inside an ARCHIVE-mode mount, whose files travel as one archive", async () => {
    const ctx = await h().newContext();
    const s = await h().session("r", [[ctx, M, { uploadPolicy: { uploadMode: UploadMode.ARCHIVE } }]]);
    writeTree(h().local("r", M), { d: { "x.txt": "x" } });
    const r = await s.context.sync(ctx, `${M}/d`);
    expect(r).toMatchObject({ success: false, errorCode: "InvalidParameter", errorMessage: expect.stringContaining(`sync ${M} itself`) });
    expect(await keys(ctx)).toEqual([]);
  });
});
