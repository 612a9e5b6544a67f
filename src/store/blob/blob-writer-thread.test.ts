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

  it("fails the call with StoreUnavailable when the disk refuses a blob, naming the error but none of the server's paths", async () => {
    const stored = Buffer.from("x");
    const blocked = Buffer.from("its shard is a file");
    expect(sha256(stored).slice(0, 2)).not.toBe(sha256(blocked).slice(0, 2));
    fs.writeFileSync(path.join(dir, sha256(blocked).slice(0, 2)), "in the way");
    const failure = await thread.ingest([stored, blocked]).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).message).toContain("ENOTDIR");
    expect((failure as Error).message).not.toContain(dir);
    expect(((failure as Error).cause as Error).message).toContain(dir); // for the server's log
    // The blob before it stays stored; the refused one leaves no temp file.
    expect(fs.readFileSync(path.join(dir, sha256(stored).slice(0, 2), sha256(stored)), "utf8")).toBe("x");
    expect(fs.readdirSync(path.join(dir, "tmp"))).toEqual([]);
  });

  it("fails the calls waiting on a thread that stops with StoreUnavailable, and starts a new thread for the next", async () => {
    const waiting = thread.ingest([Buffer.from("never stored")]);
    await thread.stop();
    await expect(waiting).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await thread.ingest([Buffer.from("after")])).toEqual([{ digest: sha256(Buffer.from("after")), sizeBytes: 5 }]);
  });

  it("stores each call's blobs exactly when it reuses a larger call's buffer", async () => {
    const stored = (b: Buffer) => fs.readFileSync(path.join(dir, sha256(b).slice(0, 2), sha256(b)));
    const large = [Buffer.alloc(700_000, 1), Buffer.alloc(600_000, 2)];
    await thread.ingest(large);
    const small = [Buffer.from("after a larger call"), Buffer.alloc(0), Buffer.from("its buffer holds stale bytes past these")];
    expect(await thread.ingest(small)).toEqual(small.map((b) => ({ digest: sha256(b), sizeBytes: b.length })));
    for (const b of [...large, ...small]) expect(stored(b).equals(b)).toBe(true);
  });

  it("does not keep a process alive once idle", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", path.join("test", "fixtures", "ingest-many-then-return.ts"), path.join(dir, "store")], {
      timeout: 30_000,
    });
    expect(stdout.trim()).toBe(sha256(Buffer.from("stored by a thread")));
  });
});
