import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../errors/index.js";
import { BlobWriterThread } from "./blob-writer-thread.js";
import { sha256 } from "./contract.test-suite.js";

const run = promisify(execFile);

describe("BlobWriterThread", () => {
  let dir: string;
  let thread: BlobWriterThread;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-writer-"));
    fs.mkdirSync(path.join(dir, "tmp"));
    thread = new BlobWriterThread(dir, path.join(dir, "tmp"));
  });
  afterEach(async () => {
    await thread.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("fails only the blob it cannot store, with its error code, and stores the others", async () => {
    const blocked = Buffer.from("its shard is a file");
    const other = Buffer.from("x");
    expect(sha256(other).slice(0, 2)).not.toBe(sha256(blocked).slice(0, 2));
    fs.writeFileSync(path.join(dir, sha256(blocked).slice(0, 2)), "in the way");
    const [failed, stored] = await thread.ingest([blocked, other]);
    expect(failed).toMatchObject({ error: { code: "ENOTDIR" } });
    expect(stored).toEqual({ digest: sha256(other), sizeBytes: 1 });
    expect(fs.readFileSync(path.join(dir, sha256(other).slice(0, 2), sha256(other)), "utf8")).toBe("x");
    expect(fs.readdirSync(path.join(dir, "tmp"))).toEqual([]); // the failed blob's temp file is gone
  });

  it("fails the calls waiting on a thread that stops with StoreUnavailable, and starts a new thread for the next", async () => {
    const waiting = thread.ingest([Buffer.from("never stored")]);
    await thread.stop();
    await expect(waiting).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await thread.ingest([Buffer.from("after")])).toEqual([{ digest: sha256(Buffer.from("after")), sizeBytes: 5 }]);
  });

  it("does not keep a process alive once idle", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", path.join("test", "fixtures", "ingest-many-then-return.ts"), path.join(dir, "store")], {
      timeout: 30_000,
    });
    expect(stdout.trim()).toBe(sha256(Buffer.from("stored by a thread")));
  });
});
