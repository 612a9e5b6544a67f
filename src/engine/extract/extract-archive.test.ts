import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ExtractRejectedError } from "../../errors/index.js";
import { extractArchive } from "./extract-archive.js";
import { defaultExtractLimits, type ExtractLimits } from "./extract-limits.js";
import { buildTar, buildZeroBombTarGz, type TarEntrySpec } from "./test-tar-writer.js";
import { listTree } from "./test-tree.js";
import { buildZeroBombZip, buildZip, type ZipEntrySpec } from "./test-zip-writer.js";

const MTIME = new Date("2023-05-06T07:08:10Z");
const MiB = 1 << 20;
const LIMITS = defaultExtractLimits();

let root = "";
let mount = "";
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-extract-"));
  mount = path.join(root, "mount");
  fs.mkdirSync(mount);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** Writes `bytes` as `mount/<name>` and returns its path. */
function place(name: string, bytes: Buffer): string {
  const p = path.join(mount, name);
  fs.writeFileSync(p, bytes);
  return p;
}

/** Extracts `bytes` (named `name`) into `mount/out`, expects a rejection matching `reason`, and that nothing at all was left behind. */
async function expectRejected(name: string, bytes: Buffer, reason: RegExp, limits: ExtractLimits = LIMITS): Promise<ExtractRejectedError> {
  const archive = place(name, bytes);
  const before = listTree(root);
  const err = await extractArchive(archive, path.join(mount, "out"), limits).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExtractRejectedError);
  const rejected = err as ExtractRejectedError;
  expect(rejected.code).toBe("ExtractRejected");
  expect(rejected.archive).toBe(archive);
  expect(rejected.reason).toMatch(reason);
  expect(rejected.message).toContain("Nothing was extracted");
  expect(listTree(root)).toEqual(before); // no target, no staging folder, nothing outside
  return rejected;
}

const zipFile = (name: string, data: string, mode = 0o644): ZipEntrySpec => ({ name, data, unixMode: 0o100000 | mode, mtime: MTIME });
const zipLink = (name: string, target: string): ZipEntrySpec => ({ name, data: target, unixMode: 0o120777, mtime: MTIME });
const tarFile = (name: string, data: string, mode = 0o644): TarEntrySpec => ({ name, data, mode, mtime: MTIME });
const tarLink = (name: string, linkname: string): TarEntrySpec => ({ name, type: "symlink", linkname, mtime: MTIME });

describe("extractArchive unpacks", () => {
  it("a zip with folders, modes, mtimes and an inside symlink", async () => {
    const archive = place("a.zip", buildZip([
      { name: "bin/", unixMode: 0o040755, mtime: MTIME },
      zipFile("bin/run.sh", "#!/bin/sh\n", 0o755),
      zipFile("bin/secret", "s", 0o600),
      zipFile("docs\\readme.txt", "windows separators"),
      { name: "empty/", unixMode: 0o040700, mtime: MTIME },
      { name: "dos.txt", data: "no unix mode", store: true },
      zipLink("current", "bin/run.sh"),
    ]));
    const out = path.join(mount, "a");
    expect(await extractArchive(archive, out, LIMITS)).toEqual({ files: 4, bytes: 10 + 1 + 18 + 12 });
    expect(listTree(out)).toEqual([
      "bin/", "bin/run.sh", "bin/secret", "current -> bin/run.sh", "docs/", "docs/readme.txt", "dos.txt", "empty/",
    ]);
    expect(fs.readFileSync(path.join(out, "bin/run.sh"), "utf8")).toBe("#!/bin/sh\n");
    expect(fs.statSync(path.join(out, "bin/run.sh")).mode & 0o777).toBe(0o755);
    expect(fs.statSync(path.join(out, "bin/secret")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(out, "dos.txt")).mode & 0o777).toBe(0o644);
    expect(fs.statSync(path.join(out, "empty")).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(out, "bin/run.sh")).mtimeMs).toBe(MTIME.getTime());
    expect(fs.statSync(path.join(out, "bin")).mtimeMs).toBe(MTIME.getTime());
    expect(fs.lstatSync(path.join(out, "current")).mtimeMs).toBe(MTIME.getTime());
    expect(listTree(mount)).toContain("a.zip"); // the archive is never touched
  });

  for (const [name, gzip] of [["a.tgz", true], ["a.tar", false]] as const) {
    it(`a ${name} with ./ names, a hard link, a FIFO (skipped) and setuid bits (dropped)`, async () => {
      const bytes = await buildTar([
        { name: "./", type: "directory", mode: 0o755 },
        { name: "./pkg/", type: "directory", mode: 0o555, mtime: MTIME },
        tarFile("./pkg/tool", "binary", 0o4755),
        { name: "./pkg/tool-link", type: "link", linkname: "./pkg/tool" },
        tarLink("./pkg/up", "../top.txt"),
        tarFile("./top.txt", "top"),
        { name: "./pipe", type: "fifo" },
        { name: "./tty", type: "character-device" },
      ], gzip);
      const archive = place(name, bytes);
      const out = path.join(mount, "a");
      expect(await extractArchive(archive, out, LIMITS)).toEqual({ files: 3, bytes: 9 });
      expect(listTree(out)).toEqual(["pkg/", "pkg/tool", "pkg/tool-link", "pkg/up -> ../top.txt", "top.txt"]);
      expect(fs.statSync(path.join(out, "pkg/tool")).mode & 0o7777).toBe(0o755);
      expect(fs.statSync(path.join(out, "pkg/tool")).ino).toBe(fs.statSync(path.join(out, "pkg/tool-link")).ino);
      expect(fs.statSync(path.join(out, "pkg")).mode & 0o777).toBe(0o755); // r-x for the owner would block later writes
      expect(fs.statSync(path.join(out, "pkg")).mtimeMs).toBe(MTIME.getTime());
      expect(fs.readFileSync(path.join(out, "pkg/up"), "utf8")).toBe("top");
    });
  }

  it("into a folder that has entries: new names added, files and links replaced, folders merged", async () => {
    const outside = path.join(root, "outside.txt");
    fs.writeFileSync(outside, "untouched");
    fs.mkdirSync(path.join(mount, "sub"));
    fs.writeFileSync(path.join(mount, "keep.txt"), "keep");
    fs.writeFileSync(path.join(mount, "sub/old.txt"), "old");
    fs.writeFileSync(path.join(mount, "sub/x.txt"), "before");
    fs.symlinkSync(outside, path.join(mount, "f.txt"));
    const archive = place("a.zip", buildZip([zipFile("sub/x.txt", "after"), zipFile("sub/new/n.txt", "n"), zipFile("f.txt", "file")]));
    await extractArchive(archive, mount, LIMITS);
    expect(listTree(mount)).toEqual(["a.zip", "f.txt", "keep.txt", "sub/", "sub/new/", "sub/new/n.txt", "sub/old.txt", "sub/x.txt"]);
    expect(fs.readFileSync(path.join(mount, "sub/x.txt"), "utf8")).toBe("after");
    expect(fs.readFileSync(path.join(mount, "f.txt"), "utf8")).toBe("file");
    expect(fs.readFileSync(outside, "utf8")).toBe("untouched");
  });
});

describe("extractArchive rejects, writing nothing", () => {
  const paths: [string, string, RegExp][] = [
    ["zip slip", "../../x", /"\.\."/],
    ["an inner ..", "a/../../x", /"\.\."/],
    ["backslash ..", "..\\..\\x", /"\.\."/],
    ["an absolute path", "/etc/x", /absolute path/],
    ["a UNC path", "\\\\server\\share\\x", /absolute path/],
    ["a drive letter with a backslash", "C:\\x", /drive letter/],
    ["a drive letter with a slash", "C:/x", /drive letter/],
  ];
  for (const [what, name, reason] of paths) {
    it(`zip entry with ${what}: ${name}`, async () => {
      const err = await expectRejected("a.zip", buildZip([zipFile("ok.txt", "fine"), zipFile(name, "evil")]), reason);
      expect(err.entry).toBe(name);
      expect(err.message).toContain(JSON.stringify(name));
    });
    it(`tar entry with ${what}: ${name}`, async () => {
      await expectRejected("a.tgz", await buildTar([tarFile("ok.txt", "fine"), tarFile(name, "evil")], true), reason);
    });
  }

  it("a NUL byte in a zip name", async () => {
    await expectRejected("a.zip", buildZip([zipFile("a\0/etc/passwd", "x")]), /NUL/);
  });

  it("a zip symlink to / followed by a file through it", async () => {
    await expectRejected("a.zip", buildZip([zipLink("link", "/"), zipFile("link/etc/passwd", "root::0:0")]), /absolute path/);
  });

  it("a tar file through a symlink that points inside", async () => {
    await expectRejected("a.tar", await buildTar([tarLink("link", "."), tarFile("link/x", "x")]), /inside "link", which is a link/);
  });

  it("a tar folder and then a symlink of the same name", async () => {
    await expectRejected("a.tar", await buildTar([tarFile("d/x", "x"), tarLink("d", "/tmp")]), /absolute path/);
    await expectRejected("b.tar", await buildTar([tarFile("d/x", "x"), tarLink("d", "e")]), /link where the archive also has a folder/);
  });

  for (const [name, target] of [["up", "../.."], ["a/b/up", "../../../x"]] as const) {
    it(`a symlink out of the target: ${name} -> ${target}`, async () => {
      await expectRejected("a.zip", buildZip([zipLink(name, target)]), /points outside the target/);
      await expectRejected("a.tgz", await buildTar([tarLink(name, target)], true), /points outside the target/);
    });
  }

  it("a symlink that leaves through another symlink although its spelling stays inside", async () => {
    // d/u -> .. is the root; v -> d/u/.. is then the root's parent, though "d/u/.." reads as "d".
    const err = await expectRejected("a.tar", await buildTar([tarLink("d/u", ".."), tarLink("v", "d/u/..")]), /passes through the link "d\/u"/);
    expect(err.entry).toBe("v");
  });

  it("hard links out of the archive or to nothing", async () => {
    await expectRejected("a.tar", await buildTar([{ name: "h", type: "link", linkname: "../../etc/passwd" }]), /hard link.*"\.\."/);
    await expectRejected("b.tar", await buildTar([{ name: "h", type: "link", linkname: "/etc/passwd" }]), /hard link.*absolute/);
    await expectRejected("c.tar", await buildTar([{ name: "h", type: "link", linkname: "later" }, tarFile("later", "x")]), /not a file earlier/);
    await expectRejected("d.tar", await buildTar([{ name: "h", type: "link", linkname: "h" }]), /not a file earlier/);
  });

  it("names that collide after Unicode NFC normalisation", async () => {
    const err = await expectRejected("a.zip", buildZip([zipFile("caf\u00e9.txt", "1"), zipFile("cafe\u0301.txt", "2")]), /NFC/);
    expect(err.entry).toBe("cafe\u0301.txt");
    await expectRejected("a.tgz", await buildTar([tarFile("e\u0301/a", "1"), tarFile("\u00e9/b", "2")], true), /NFC/);
  });

  it("an entry listed twice", async () => {
    await expectRejected("a.zip", buildZip([zipFile("a", "1"), zipFile("a", "2")]), /appears twice/);
  });

  it("too many entries", async () => {
    const limits = { ...LIMITS, maxEntries: 10 };
    const files = Array.from({ length: 11 }, (_, i) => `f${i}`);
    await expectRejected("a.zip", buildZip(files.map((f) => zipFile(f, f))), /lists 11 entries.*maxEntries/, limits);
    const err = await expectRejected("a.tar", await buildTar(files.map((f) => tarFile(f, f))), /entry number 11.*maxEntries/, limits);
    expect(err.entry).toBe("f10");
  });

  it("a 100 MB tar.gz bomb past a 1 MiB maxTotalBytes", async () => {
    const limits = { ...LIMITS, maxTotalBytes: MiB };
    await expectRejected("bomb.tgz", await buildZeroBombTarGz(100 * MiB), /past 1 MiB unpacked \(maxTotalBytes\)/, limits);
  });

  it("a 100 MB tar.gz bomb hidden in padding after the last entry, which no header declares", async () => {
    const limits = { ...LIMITS, maxTotalBytes: MiB };
    await expectRejected("pad.tgz", await buildZeroBombTarGz(100 * MiB, "padding"), /past 1 MiB unpacked/, limits);
  });

  it("a 100 MB zip bomb past a 1 MiB maxTotalBytes, also when its header understates the size", async () => {
    const limits = { ...LIMITS, maxTotalBytes: MiB };
    await expectRejected("bomb.zip", await buildZeroBombZip({ zeroBytes: 100 * MiB }), /maxTotalBytes/, limits);
    // Declares 1000 bytes: only counting what is inflated catches it.
    await expectRejected("liar.zip", await buildZeroBombZip({ zeroBytes: 100 * MiB, declaredBytes: 1000 }), /damaged.*too many bytes/);
  });

  it("a 10 GiB zip bomb of a few kB under the default limits (maxExpansionRatio)", async () => {
    // 1024 central-directory entries share one deflated body of 10 MiB of zeros: 10 GiB from ~70 kB.
    const bomb = await buildZeroBombZip({ zeroBytes: 10 * MiB, aliases: 1024 });
    expect(bomb.length).toBeLessThan(100_000);
    await expectRejected("bomb.zip", bomb, /maxExpansionRatio/);
  });

  it("damaged archives", async () => {
    await expectRejected("a.zip", Buffer.from("not a zip at all"), /not a readable zip/);
    const tgz = await buildTar([tarFile("a.txt", "x".repeat(10_000))], true);
    await expectRejected("a.tgz", tgz.subarray(0, tgz.length - 20), /damaged or not a tar.gz/);
    await expectRejected("b.tgz", Buffer.from("plain text"), /damaged or not a tar.gz/);
  });

  it("a folder entry where the target already has a symlink, which is never written through", async () => {
    const outside = path.join(root, "outside");
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, path.join(mount, "sub"));
    const archive = place("a.zip", buildZip([zipFile("first.txt", "1"), zipFile("sub/x.txt", "x")]));
    const before = listTree(root);
    await expect(extractArchive(archive, mount, LIMITS)).rejects.toThrow(/entry "sub" is a folder, but .* is a symlink/);
    expect(listTree(root)).toEqual(before);
  });

  it("a target folder that is a symlink", async () => {
    fs.symlinkSync(root, path.join(mount, "out"));
    const archive = place("a.zip", buildZip([zipFile("x", "x")]));
    await expect(extractArchive(archive, path.join(mount, "out"), LIMITS)).rejects.toThrow(/is a symlink/);
    expect(listTree(root)).toEqual(["mount/", "mount/a.zip", `mount/out -> ${root}`]);
  });

  it("an archive that is a symlink", async () => {
    const real = path.join(root, "real.zip");
    fs.writeFileSync(real, buildZip([zipFile("x", "x")]));
    fs.symlinkSync(real, path.join(mount, "a.zip"));
    await expect(extractArchive(path.join(mount, "a.zip"), path.join(mount, "a"), LIMITS)).rejects.toThrow(/archive is a symlink/);
  });
});
