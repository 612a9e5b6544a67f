import { describe, expect, it } from "vitest";
import { SyncPolicy } from "../policy/index.js";
import { checkScope, MountLayout, mountSpecFor, syncPathOf, type MountSpec } from "./mount-spec.js";

const mount = (contextId: string, path: string, policy = new SyncPolicy()): MountSpec => ({ contextId, path, namespace: path, policy });

describe("mountSpecFor", () => {
  const mounts = [mount("a", "/w"), mount("a", "/w/inner"), mount("b", "/w/sub"), mount("a", "/x")];

  it("takes the mount at exactly that path whole, and the innermost mount of the context holding a deeper path", () => {
    expect(mountSpecFor(mounts, "a", "/w/inner")).toEqual(mounts[1]);
    expect(mountSpecFor(mounts, "a", "/w/inner/d/e")).toMatchObject({ path: "/w/inner", scope: "d/e" });
    // /w/sub is context b's mount: a sync of context a there is a part of a's mount at /w.
    expect(mountSpecFor(mounts, "a", "/w/sub")).toMatchObject({ path: "/w", scope: "sub" });
  });

  it("holds paths by whole segments, and is undefined where no mount of the context holds the path", () => {
    expect(mountSpecFor(mounts, "a", "/wx/f")).toBeUndefined();
    expect(mountSpecFor(mounts, "b", "/w")).toBeUndefined();
    expect(mountSpecFor(mounts, "c", "/w/inner")).toBeUndefined();
  });

  it("names the synced path back", () => {
    expect(syncPathOf(mountSpecFor(mounts, "a", "/w/inner/d")!)).toBe("/w/inner/d");
    expect(syncPathOf(mounts[0]!)).toBe("/w");
  });
});

describe("a mount limited to a scope", () => {
  it("lets only the scope's files take part, and scans only towards and inside it", () => {
    const layout = new MountLayout("/root", { ...mount("a", "/w"), scope: "d/e" });
    expect(layout.filter.matches("d/e/f.txt")).toBe(true);
    expect(layout.filter.matches("d/ef.txt")).toBe(false);
    expect(layout.filter.matches("top.txt")).toBe(false);
    expect(layout.filter.mayContain("")).toBe(true);
    expect(layout.filter.mayContain("d")).toBe(true);
    expect(layout.filter.mayContain("d/e/g")).toBe(true);
    expect(layout.filter.mayContain("other")).toBe(false);
    expect(layout.relOf("/w/d/e/f.txt")).toBe("d/e/f.txt");
    expect(layout.relOf("/w/top.txt")).toBeNull();
  });

  it("is refused in ARCHIVE mode and outside the white list, with what to do instead", () => {
    const archive = SyncPolicy.fromJSON({ uploadPolicy: { uploadMode: "Archive" } });
    expect(() => checkScope({ ...mount("a", "/w", archive), scope: "d" })).toThrow("sync /w itself");
    const listed = SyncPolicy.fromJSON({ bwList: { whiteLists: [{ path: "src", excludePaths: ["gen"] }] } });
    expect(() => checkScope({ ...mount("a", "/w", listed), scope: "secret" })).toThrow("outside its white list");
    expect(() => checkScope({ ...mount("a", "/w", listed), scope: "src/gen" })).toThrow("outside its white list");
    expect(() => checkScope({ ...mount("a", "/w", listed), scope: "src/lib" })).not.toThrow();
    expect(() => checkScope(mount("a", "/w", archive))).not.toThrow();
  });
});
