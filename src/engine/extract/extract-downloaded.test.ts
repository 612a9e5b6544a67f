import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { extractDownloadedArchives } from "./extract-downloaded.js";
import { buildTar } from "./test-tar-writer.js";
import { listTree } from "./test-tree.js";
import { buildZip } from "./test-zip-writer.js";

const MTIME = new Date("2023-05-06T07:08:10Z");
const SIBLING = { extract: true, deleteSrcFile: true, extractToCurrentFolder: false };
const CURRENT = { extract: true, deleteSrcFile: false, extractToCurrentFolder: true };

let root = "";
let mount = "";
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-extract-dl-"));
  mount = path.join(root, "mount");
  fs.mkdirSync(mount);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function place(rel: string, bytes: Buffer): void {
  fs.mkdirSync(path.dirname(path.join(mount, rel)), { recursive: true });
  fs.writeFileSync(path.join(mount, rel), bytes);
}

const zip = () => buildZip([
  { name: "m.json", data: '{"v":1}', unixMode: 0o100644, mtime: MTIME },
  { name: "bin/run", data: "#!/bin/sh\n", unixMode: 0o100755, mtime: MTIME },
]);
const tgz = () => buildTar([
  { name: "t.txt", data: "tar", mode: 0o640, mtime: MTIME },
  { name: "lib/x.so", data: Buffer.from([0, 1, 2, 255]), mode: 0o755, mtime: MTIME },
], true);

/** Size, permission bits and content of every file under `dir`. */
function filesUnder(dir: string): Record<string, { mode: number; content: string }> {
  const out: Record<string, { mode: number; content: string }> = {};
  for (const rel of listTree(dir)) {
    const abs = path.join(dir, rel);
    if (rel.endsWith("/") || rel.includes(" -> ")) continue;
    out[rel] = { mode: fs.statSync(abs).mode & 0o777, content: fs.readFileSync(abs).toString("hex") };
  }
  return out;
}

describe("extractDownloadedArchives", () => {
  it("unpacks each archive into a sibling folder named after its stem and removes the archive", async () => {
    place("dl/ext_1.zip", zip());
    place("a.tar.gz", await tgz());
    const problems = await extractDownloadedArchives(mount, ["dl/ext_1.zip", "a.tar.gz"], SIBLING);
    expect(problems).toEqual([]);
    expect(listTree(mount)).toEqual(["a/", "a/lib/", "a/lib/x.so", "a/t.txt", "dl/", "dl/ext_1/", "dl/ext_1/bin/", "dl/ext_1/bin/run", "dl/ext_1/m.json"]);
    expect(filesUnder(path.join(mount, "dl/ext_1"))).toEqual({
      "bin/run": { mode: 0o755, content: Buffer.from("#!/bin/sh\n").toString("hex") },
      "m.json": { mode: 0o644, content: Buffer.from('{"v":1}').toString("hex") },
    });
    expect(filesUnder(path.join(mount, "a"))).toEqual({
      "lib/x.so": { mode: 0o755, content: "000102ff" },
      "t.txt": { mode: 0o640, content: Buffer.from("tar").toString("hex") },
    });
    expect(fs.statSync(path.join(mount, "a/t.txt")).mtimeMs).toBe(MTIME.getTime());
  });

  it("unpacks into the archive's own folder with extractToCurrentFolder, keeping the archive without deleteSrcFile", async () => {
    place("d/ext_1.zip", zip());
    place("d/b.tgz", await tgz());
    expect(await extractDownloadedArchives(mount, ["d/ext_1.zip", "d/b.tgz"], CURRENT)).toEqual([]);
    expect(listTree(path.join(mount, "d"))).toEqual(["b.tgz", "bin/", "bin/run", "ext_1.zip", "lib/", "lib/x.so", "m.json", "t.txt"]);
  });

  it("recognises extensions in any case: .ZIP, .TGZ, .Tar.Gz and .TAR", async () => {
    place("A.ZIP", zip());
    place("B.TGZ", await tgz());
    place("C.Tar.Gz", await tgz());
    place("D.TAR", await buildTar([{ name: "d.txt", data: "d" }]));
    expect(await extractDownloadedArchives(mount, ["A.ZIP", "B.TGZ", "C.Tar.Gz", "D.TAR"], SIBLING)).toEqual([]);
    expect(listTree(mount).filter((p) => !p.includes("/") || p.split("/").length === 2 && p.endsWith("/"))).toEqual(["A/", "B/", "C/", "D/"]);
  });

  it("does nothing when extract is off, and passes over non-archives, missing paths and symlinks", async () => {
    place("a.zip", zip());
    place("notes.txt", Buffer.from("n"));
    fs.symlinkSync("a.zip", path.join(mount, "link.zip"));
    expect(await extractDownloadedArchives(mount, ["a.zip"], { ...SIBLING, extract: false })).toEqual([]);
    expect(listTree(mount)).toEqual(["a.zip", "link.zip -> a.zip", "notes.txt"]);
    expect(await extractDownloadedArchives(mount, ["notes.txt", "gone.zip", "link.zip"], SIBLING)).toEqual([]);
    expect(listTree(mount)).toEqual(["a.zip", "link.zip -> a.zip", "notes.txt"]);
  });

  it("reports a rejected archive as a problem, keeps it, and still unpacks the others", async () => {
    place("evil.zip", buildZip([{ name: "ok.txt", data: "x" }, { name: "../../escape.txt", data: "x" }]));
    place("good.zip", zip());
    const problems = await extractDownloadedArchives(mount, ["evil.zip", "good.zip"], SIBLING);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.key).toBe("evil.zip");
    expect(problems[0]!.message).toMatch(/entry "\.\.\/\.\.\/escape\.txt" has a "\.\." segment.*Nothing was extracted/);
    expect(listTree(root)).toEqual(["mount/", "mount/evil.zip", "mount/good/", "mount/good/bin/", "mount/good/bin/run", "mount/good/m.json"]);
  });

  it("keeps what an archive unpacked over its own name", async () => {
    place("self.zip", buildZip([{ name: "self.zip", data: "not the archive" }]));
    expect(await extractDownloadedArchives(mount, ["self.zip"], { ...CURRENT, deleteSrcFile: true })).toEqual([]);
    expect(fs.readFileSync(path.join(mount, "self.zip"), "utf8")).toBe("not the archive");
  });

  it("refuses an archive under a symlinked folder", async () => {
    const elsewhere = path.join(root, "elsewhere");
    fs.mkdirSync(elsewhere);
    fs.writeFileSync(path.join(elsewhere, "a.zip"), zip());
    fs.symlinkSync(elsewhere, path.join(mount, "d"));
    const problems = await extractDownloadedArchives(mount, ["d/a.zip"], SIBLING);
    expect(problems).toEqual([{ key: "d/a.zip", message: expect.stringMatching(/is a symlink/) as unknown }]);
    expect(fs.readdirSync(elsewhere)).toEqual(["a.zip"]);
  });
});
