import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../engine/index.js";
import { ContextService } from "./context-service.js";
import { openEmbeddedStores, type Stores } from "./embedded-stores.js";

describe("ContextService.writeFile", () => {
  let dir: string;
  let stores: Stores;
  let svc: ContextService;
  let contextId: string;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-write-file-"));
    stores = await openEmbeddedStores(dir);
    svc = new ContextService(stores, await stores.meta.ensureTenant("acme"), systemClock);
    contextId = (await svc.get("work", true)).id;
  });
  afterEach(async () => {
    await stores.meta.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const bodyOf = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));
  const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
  const readBack = async (key: string) => {
    const chunks: Buffer[] = [];
    for await (const c of (await svc.readFile(contextId, key)).body) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  };
  const spoolDir = () => path.join(dir, "spool");

  it.each([
    { how: "with its length known (one pass)", sizeBytes: 11 },
    { how: "with its length unknown (spooled first)", sizeBytes: undefined },
  ])("stores the bytes and commits the file, $how", async ({ sizeBytes }) => {
    fs.mkdirSync(spoolDir());
    const r = await svc.writeFile(contextId, "/notes/a.txt", bodyOf("hello", " world"), { maxBytes: 100, tmpDir: spoolDir(), sizeBytes });
    expect(r).toMatchObject({ digest: sha256("hello world"), sizeBytes: 11 });
    expect(await readBack("/notes/a.txt")).toBe("hello world");
    expect(fs.readdirSync(spoolDir())).toEqual([]); // no spool file left behind
  });

  it("refuses a body shorter or longer than its announced length with InvalidParameter, and commits nothing", async () => {
    for (const sizeBytes of [20, 5]) {
      await expect(svc.writeFile(contextId, "/a.txt", bodyOf("hello", " world"), { maxBytes: 100, tmpDir: dir, sizeBytes })).rejects.toMatchObject({
        code: "InvalidParameter",
      });
    }
    await expect(svc.readFile(contextId, "/a.txt")).rejects.toMatchObject({ code: "FileNotFound" });
  });

  it("refuses an announced length over maxBytes with PayloadTooLarge before reading the body", async () => {
    let read = false;
    const body = new Readable({
      read() {
        read = true;
        this.push(null);
      },
    });
    await expect(svc.writeFile(contextId, "/a.txt", body, { maxBytes: 10, tmpDir: dir, sizeBytes: 11 })).rejects.toMatchObject({ code: "PayloadTooLarge" });
    expect(read).toBe(false);
    await expect(svc.readFile(contextId, "/a.txt")).rejects.toMatchObject({ code: "FileNotFound" });
  });
});
