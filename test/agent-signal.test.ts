import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ContextSync } from "../src/sdk/index.js";
import { useClientHarness } from "./helpers/client-harness.js";
import { writeTree } from "./helpers/tree.js";

describe("an in-process agent with many transfers in flight", () => {
  const h = useClientHarness("remote");
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  afterEach(() => {
    process.off("warning", onWarning);
  });

  it("downloads without a MaxListenersExceededWarning in the SDK user's process", async () => {
    process.on("warning", onWarning);
    const ctx = await h().newContext();
    const s1 = await h().session("r1", [[ctx, "/w"]]);
    // Files over 1 MiB stream one per request, several at once: more requests in flight than the 10
    // abort listeners an AbortSignal takes before Node warns of a leak.
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 24; i++) files[`f${i}.bin`] = randomBytes((1 << 20) + 1000);
    writeTree(h().local("r1", "/w"), files);
    await s1.delete(true);

    const root = path.join(h().dir, "r2");
    const r = await h().client.create({ root, contextSync: [ContextSync.new(ctx, "/w")] });
    const info = await r.session!.context.infoWithParams(ctx, "/w", "download");
    expect(info.contextStatusData[0]).toMatchObject({ status: "Success" });
    expect(fs.readdirSync(path.join(root, "w"))).toHaveLength(24);
    await r.session!.delete();
    expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning").map((w) => w.message)).toEqual([]);
  });
});
