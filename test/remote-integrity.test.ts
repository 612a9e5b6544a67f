import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ContextSync } from "../src/sdk/index.js";
import { useClientHarness } from "./helpers/client-harness.js";
import { writeTree } from "./helpers/tree.js";

describe("a remote download of blobs damaged in the server's store", () => {
  const h = useClientHarness("remote");

  it("fails those files with BlobUnreadable, small or streamed, creates none of them, and places the rest", async () => {
    const ctx = await h().newContext();
    const s1 = await h().session("r1", [[ctx, "/w"]]);
    const small = randomBytes(3000);
    const large = randomBytes(3 << 20); // over 1 MiB: streamed on its own, not in a batch
    writeTree(h().local("r1", "/w"), { "small.bin": small, "large.bin": large, "ok.txt": "ok" });
    await s1.delete(true);
    // The server checks each blob as it reads it: the small one comes back "unreadable", the streamed one
    // is cut short once its last byte fails the check.
    for (const bytes of [small, large]) {
      const digest = createHash("sha256").update(bytes).digest("hex");
      const blob = path.join(h().dir, "server", "blobs", digest.slice(0, 2), digest);
      const stored = fs.readFileSync(blob);
      stored[stored.length - 1] = stored[stored.length - 1]! ^ 0xff;
      fs.writeFileSync(blob, stored);
    }

    const root = path.join(h().dir, "r2");
    const r = await h().client.create({ root, contextSync: [ContextSync.new(ctx, "/w")] });
    const info = await r.session!.context.infoWithParams(ctx, "/w", "download");
    expect(info.contextStatusData[0]).toMatchObject({ status: "Failed", taskType: "download" });
    const message = info.contextStatusData[0]!.errorMessage;
    expect(message).toMatch(/\/w\/small\.bin: The server could not send blob [0-9a-f]{64}: its stored copy is damaged/);
    expect(message).toMatch(/\/w\/large\.bin: The server could not send blob [0-9a-f]{64}: its stored copy is damaged/);
    const local = path.join(root, "w");
    expect(fs.readdirSync(local).sort()).toEqual(["ok.txt"]);
    expect(fs.readFileSync(path.join(local, "ok.txt"), "utf8")).toBe("ok");
    await r.session!.delete();
  });
});
