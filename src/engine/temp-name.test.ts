import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DOWNLOAD_TEMP_PREFIX, downloadTempName, removeStaleDownloadTemps } from "./temp-name.js";

describe("removeStaleDownloadTemps", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-temps-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("removes the temp files of a process that is gone, and keeps those of live processes and every other file", () => {
    // A process that has exited: its id names no process now (ids are not reused this soon).
    const gone = spawnSync(process.execPath, ["-e", ""]).pid!;
    const names = {
      dead: `${DOWNLOAD_TEMP_PREFIX}p${gone}-abc-0`,
      ours: downloadTempName(),
      parent: `${DOWNLOAD_TEMP_PREFIX}p${process.ppid}-def-1`,
      older: `${DOWNLOAD_TEMP_PREFIX}123456789012-2`,
      file: "notes.txt",
    };
    for (const n of Object.values(names)) fs.writeFileSync(path.join(dir, n), "x");
    expect(removeStaleDownloadTemps([dir, path.join(dir, "missing")])).toBe(1);
    expect(fs.readdirSync(dir).sort()).toEqual([names.ours, names.parent, names.older, names.file].sort());
  });
});
