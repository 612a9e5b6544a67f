import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LocalDirBlobStore } from "../src/store/index.js";
import { useHarness } from "./helpers/harness.js";
import { readTree, writeTree, type Tree } from "./helpers/tree.js";

describe("crash safety", () => {
  const h = useHarness();

  it("SIGKILL in the middle of an upload leaves the previous generation intact, and the next upload completes", async () => {
    const ctx = await h().newContext();
    const s = await h().session("ra", [[ctx, "/data"]]);
    const dir = h().local("ra", "/data");
    const v1: Tree = {};
    for (let i = 0; i < 40; i++) v1[`f${i}.txt`] = `version 1 of ${i}`;
    writeTree(dir, v1);
    expect((await s.context.sync()).success).toBe(true);
    const headBefore = (await h().client.context.log(ctx)).generations[0]!.generation;

    const v2: Tree = {};
    for (let i = 0; i < 40; i++) v2[`f${i}.txt`] = `version 2 of ${i} ${randomBytes(64).toString("hex")}`;
    writeTree(dir, { ...v2, "new.bin": randomBytes(3 << 20) });
    const child = spawnSync(
      process.execPath,
      ["--import", "tsx", path.join(import.meta.dirname, "fixtures/killed-upload.ts"), path.join(h().dir, "store"), s.sessionId],
      { encoding: "utf8" },
    );
    expect(child.stdout).not.toContain("upload finished");
    expect(child.signal).toBe("SIGKILL");

    // A new session sees exactly version 1, every byte hash-verified on the way out.
    await h().session("rb", [[ctx, "/data"]]);
    expect(readTree(h().local("rb", "/data"))).toEqual(v1);
    expect((await h().client.context.log(ctx)).generations[0]!.generation).toBe(headBefore);

    // Every blob left behind, including those of the killed upload, is complete.
    const blobs = await LocalDirBlobStore.open(path.join(h().dir, "store", "blobs"));
    for await (const { digest } of blobs.list()) {
      const stream = await blobs.get(digest);
      for await (const _chunk of stream) {
        // drain: the verifying stream errors at the end if the bytes are wrong
      }
    }

    // The same session uploads again and completes.
    expect((await s.context.sync()).success).toBe(true);
    await h().session("rc", [[ctx, "/data"]]);
    const after = readTree(h().local("rc", "/data"));
    expect(after).toMatchObject(Object.fromEntries(Object.entries(v2).map(([k, v]) => [k, v])));
  });

  it("a download removes the partial files a killed earlier download left where it writes; a live one's stay", async () => {
    const ctx = await h().newContext();
    const seed = await h().session("seed", [[ctx, "/data"]]);
    writeTree(h().local("seed", "/data"), { "a.txt": "a", d: { "b.txt": "b" } });
    await seed.delete(true);

    const gone = spawnSync(process.execPath, ["-e", ""]).pid!; // exited: as a SIGKILLed agent's id
    writeTree(h().local("rb", "/data"), {
      [`.ctxsync-tmp-p${gone}-x-0`]: "partial",
      [`.ctxsync-tmp-p${process.pid}-y-0`]: "being written",
      d: { [`.ctxsync-tmp-p${gone}-x-1`]: "partial" },
    });
    await h().session("rb", [[ctx, "/data"]]);
    expect(readTree(h().local("rb", "/data"))).toEqual({
      "a.txt": "a",
      [`.ctxsync-tmp-p${process.pid}-y-0`]: "being written",
      d: { "b.txt": "b" },
    });
  });
});
