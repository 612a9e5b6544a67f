import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openEmbeddedServices } from "../service/index.js";
import type { ClearState, ContextBackend } from "./backend.js";
import { ClearanceTimeoutError, ContextClient } from "./context-client.js";
import { EmbeddedBackend } from "./embedded-backend.js";

describe("ContextClient.clear", () => {
  let dir: string;
  let backend: EmbeddedBackend;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-clear-"));
    backend = new EmbeddedBackend(openEmbeddedServices({ home: dir }));
  });
  afterEach(async () => {
    await backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The real contexts, except that a clear never looks finished (a server whose clear is stuck). */
  const neverAvailable = (real: ContextBackend): ContextBackend =>
    new Proxy(real, {
      get(target, prop) {
        if (prop === "getClearStatus") return async (contextId: string): Promise<ClearState> => ({ contextId, status: "clearing" });
        const value: unknown = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });

  it("throws the reference's timeout error when the context never becomes available", async () => {
    const client = new ContextClient(neverAvailable(backend.contexts));
    const { contextId } = await client.create("stuck");
    const err = await client.clear(contextId, 0.2, 0.05).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClearanceTimeoutError);
    expect((err as Error).message).toMatch(/^Context clearing timed out after 0\.\d\d seconds$/);
    expect(err).toMatchObject({ contextId });
  });

  it("returns a failed start as it is, without waiting", async () => {
    const client = new ContextClient(backend.contexts);
    expect(await client.clear("ctx-missing", 60, 2)).toMatchObject({ success: false, errorCode: "ContextNotFound", contextId: "ctx-missing" });
  });
});
