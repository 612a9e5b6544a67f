import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../engine/index.js";
import type { MetaStore } from "../store/index.js";
import { ContextService } from "./context-service.js";
import { openEmbeddedStores, type Stores } from "./embedded-stores.js";

describe("ContextService clear", () => {
  let dir: string;
  let stores: Stores;
  let close: () => Promise<void>;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-clear-"));
    const opened = await openEmbeddedStores(dir);
    stores = opened;
    close = () => opened.meta.close();
  });
  afterEach(async () => {
    await close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("starts again when asked after a clear that failed, which left the context `clearing`", async () => {
    let failNext = false;
    // The store fails once, in the middle of the clear (after the state became `clearing`).
    const flaky = new Proxy(stores.meta, {
      get(target, prop, receiver) {
        if (prop === "listLiveFiles" && failNext) {
          return () => {
            failNext = false;
            return Promise.reject(new Error("the store is briefly unreachable"));
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as MetaStore;
    const tenant = await stores.meta.ensureTenant("acme");
    const svc = new ContextService({ meta: flaky, blobs: stores.blobs }, tenant, systemClock);
    const ctx = await svc.get("work", true);
    await svc.writeFile(ctx.id, "/a.txt", Readable.from([Buffer.from("x")]), { maxBytes: 100, tmpDir: dir });
    failNext = true;

    const first = await svc.clearAsync(ctx.id);
    expect(first.started).toBe(true);
    await expect(first.done).rejects.toThrow("briefly unreachable");
    expect(await svc.getClearStatus(ctx.id)).toBe("clearing");

    const again = await svc.clearAsync(ctx.id);
    expect(again.started).toBe(true);
    // While it runs, asking once more starts nothing.
    expect((await svc.clearAsync(ctx.id)).started).toBe(false);
    await again.done;
    expect(await svc.getClearStatus(ctx.id)).toBe("available");
    expect(await stores.meta.listLiveFiles(ctx.id, "/", Date.now())).toEqual([]);
  });
});
