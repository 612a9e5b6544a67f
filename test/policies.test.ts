import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useHarness } from "./helpers/harness.js";
import { readTree, writeTree } from "./helpers/tree.js";

const M = "/home/user/work";

async function keys(h: ReturnType<ReturnType<typeof useHarness>>, ctx: string, parent = M): Promise<string[]> {
  const out: string[] = [];
  const walk = async (p: string) => {
    for (const e of (await h.client.context.listFiles(ctx, p, 1, 1000)).entries) {
      if (e.fileType === "FOLDER") await walk(e.filePath);
      else out.push(e.filePath);
    }
  };
  await walk(parent);
  return out.sort();
}

describe("delete policy", () => {
  const h = useHarness();

  async function seed(): Promise<string> {
    const ctx = await h().newContext();
    const s = await h().session("seed", [[ctx, M]]);
    writeTree(h().local("seed", M), { "a.txt": "a", "b.txt": "b" });
    await s.delete(true);
    return ctx;
  }

  it("a file removed locally is removed from the context with syncLocalFile true", async () => {
    const ctx = await seed();
    const s = await h().session("r1", [[ctx, M, { deletePolicy: { syncLocalFile: true } }]]);
    fs.rmSync(path.join(h().local("r1", M), "a.txt"));
    await s.delete(true);
    expect(await keys(h(), ctx)).toEqual([`${M}/b.txt`]);
  });

  it("a file removed locally is kept in the context with syncLocalFile false", async () => {
    const ctx = await seed();
    const s = await h().session("r1", [[ctx, M, { deletePolicy: { syncLocalFile: false } }]]);
    fs.rmSync(path.join(h().local("r1", M), "a.txt"));
    await s.delete(true);
    expect(await keys(h(), ctx)).toEqual([`${M}/a.txt`, `${M}/b.txt`]);
  });

  it("files only the other session changed are kept when A uploads unchanged copies", async () => {
    const ctx = await seed();
    const a = await h().session("ra", [[ctx, M]]);
    const b = await h().session("rb", [[ctx, M]]);
    writeTree(h().local("rb", M), { "a.txt": "changed by b" });
    await b.delete(true);
    await a.delete(true); // A never touched a.txt
    await h().session("rc", [[ctx, M]]);
    expect(readTree(h().local("rc", M))).toEqual({ "a.txt": "changed by b", "b.txt": "b" });
  });
});
