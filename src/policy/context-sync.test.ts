import { describe, expect, it } from "vitest";
import { InvalidKeyError, InvalidParameterError } from "../errors/index.js";
import { ContextSync, newContextSync } from "./context-sync.js";
import { UploadMode } from "./enums.js";
import { SyncPolicy, newSyncPolicy } from "./sync-policy.js";

const INVALID_MODE = "Invalid uploadMode value: Zip. Valid values are: File, Archive";
const UNKNOWN_KEY =
  "Unknown property in SyncPolicy: 'extra'. Valid properties are: uploadPolicy, downloadPolicy, deletePolicy, extractPolicy, recyclePolicy, bwList, mappingPolicy";

describe("ContextSync", () => {
  it("keeps contextId and path as given and has no policy by default", () => {
    const built = [
      new ContextSync("ctx-1", "/home/user/data"),
      ContextSync.new("ctx-1", "/home/user/data"),
      newContextSync("ctx-1", "/home/user/data"),
    ];
    for (const cs of built) {
      expect(cs.contextId).toBe("ctx-1");
      expect(cs.path).toBe("/home/user/data");
      expect(cs.policy).toBeUndefined();
      expect(cs.betaWaitForCompletion).toBeUndefined();
      expect(cs.toJSON()).toEqual({ contextId: "ctx-1", path: "/home/user/data" });
    }
  });

  it("accepts a Windows mount path", () => {
    expect(new ContextSync("ctx-1", "C:\\Users\\Administrator\\Downloads").path).toBe("C:\\Users\\Administrator\\Downloads");
  });

  it("accepts a plain object literal as its policy and stores it fully defaulted", () => {
    const cs = new ContextSync("ctx-1", "/w", { uploadPolicy: { uploadMode: UploadMode.Archive } });
    expect(cs.policy).toBeInstanceOf(SyncPolicy);
    expect(cs.policy?.uploadPolicy.uploadMode).toBe("Archive");
    expect(cs.policy?.uploadPolicy.autoUpload).toBe(true);
    expect(cs.policy?.bwList.toJSON()).toEqual({ whiteLists: [{ path: "", excludePaths: [] }] });
    expect(newContextSync("ctx-1", "/w", { deletePolicy: { syncLocalFile: false } }).policy?.deletePolicy.syncLocalFile).toBe(false);
    expect(ContextSync.new("ctx-1", "/w", {}).policy?.toJSON()).toEqual(newSyncPolicy().toJSON());
  });

  it("treats a null policy as no policy", () => {
    expect(new ContextSync("ctx-1", "/w", null).policy).toBeUndefined();
  });

  describe("validates the policy when constructed, before anything else happens", () => {
    const bad = { uploadPolicy: { uploadMode: "Zip" } } as never;
    it("in the constructor", () => expect(() => new ContextSync("ctx-1", "/w", bad)).toThrow(INVALID_MODE));
    it("in ContextSync.new", () => expect(() => ContextSync.new("ctx-1", "/w", bad)).toThrow(INVALID_MODE));
    it("in newContextSync", () => expect(() => newContextSync("ctx-1", "/w", bad)).toThrow(INVALID_MODE));
    it("including unknown top-level keys", () => {
      expect(() => new ContextSync("ctx-1", "/w", { extra: true } as never)).toThrow(UNKNOWN_KEY);
    });
    it("including a SyncPolicy mutated into an invalid state", () => {
      const policy = newSyncPolicy();
      (policy.uploadPolicy as { uploadMode: string }).uploadMode = "Zip";
      expect(() => new ContextSync("ctx-1", "/w", policy)).toThrow(INVALID_MODE);
    });
  });

  describe("withPolicy", () => {
    it("sets the policy and chains", () => {
      const cs = new ContextSync("ctx-1", "/w");
      const policy = newSyncPolicy();
      policy.extractPolicy.extract = false;
      expect(cs.withPolicy(policy)).toBe(cs);
      expect(cs.policy?.extractPolicy.extract).toBe(false);
    });

    it("accepts a plain object literal", () => {
      const cs = new ContextSync("ctx-1", "/w").withPolicy({ recyclePolicy: { paths: ["tmp"] } });
      expect(cs.policy?.recyclePolicy.paths).toEqual(["tmp"]);
    });

    it("validates and leaves the previous policy in place on failure", () => {
      const cs = new ContextSync("ctx-1", "/w", { deletePolicy: { syncLocalFile: false } });
      expect(() => cs.withPolicy({ uploadPolicy: { uploadMode: "Zip" } } as never)).toThrow(INVALID_MODE);
      expect(() => cs.withPolicy({ extra: 1 } as never)).toThrow(UNKNOWN_KEY);
      expect(() => cs.withPolicy({ bwList: { whiteLists: [{ path: "*.log" }] } })).toThrow(
        "Wildcard patterns are not supported in path. Got: *.log. Please use exact directory paths instead.",
      );
      expect(cs.policy?.deletePolicy.syncLocalFile).toBe(false);
    });
  });

  describe("withBetaWaitForCompletion", () => {
    it("sets the flag and chains", () => {
      const cs = new ContextSync("ctx-1", "/w");
      expect(cs.withBetaWaitForCompletion(false)).toBe(cs);
      expect(cs.betaWaitForCompletion).toBe(false);
      expect(new ContextSync("ctx-1", "/w", undefined, true).betaWaitForCompletion).toBe(true);
    });

    it("is never part of the wire form", () => {
      expect(new ContextSync("ctx-1", "/w", undefined, false).toJSON()).toEqual({ contextId: "ctx-1", path: "/w" });
    });

    it("rejects a value that is not a boolean", () => {
      expect(() => new ContextSync("ctx-1", "/w").withBetaWaitForCompletion("no" as never)).toThrow(InvalidParameterError);
    });
  });

  describe("validates contextId and path", () => {
    for (const id of ["", "   ", undefined, null, 7]) {
      it(`rejects contextId ${JSON.stringify(id)} with InvalidParameterError`, () => {
        expect(() => new ContextSync(id as never, "/w")).toThrow(InvalidParameterError);
        expect(() => new ContextSync(id as never, "/w")).toThrow(/^Invalid contextId/);
      });
    }
    for (const path of ["", "home/user", "/a/../b", "/a//b", "/a/./b", "/a\0", "\\\\server\\share"]) {
      it(`rejects path ${JSON.stringify(path)} with InvalidKeyError`, () => {
        expect(() => new ContextSync("ctx-1", path)).toThrow(InvalidKeyError);
      });
    }
  });

  describe("JSON", () => {
    it("serialises the policy as the SyncPolicy wire object", () => {
      const cs = new ContextSync("ctx-1", "/w", { mappingPolicy: { path: "c:\\Users\\A" } });
      const json = cs.toJSON();
      expect(json).toEqual({ contextId: "ctx-1", path: "/w", policy: cs.policy?.toJSON() });
      expect(json.policy?.mappingPolicy).toEqual({ path: "c:\\Users\\A" });
    });

    it("round-trips through fromJSON, from an object or a string", () => {
      const cs = new ContextSync("ctx-1", "C:\\data", { uploadPolicy: { autoUpload: false }, mappingPolicy: { path: "/srv/x" } });
      for (const input of [cs.toJSON(), JSON.stringify(cs), JSON.parse(JSON.stringify(cs)) as unknown]) {
        const back = ContextSync.fromJSON(input);
        expect(back.toJSON()).toEqual(cs.toJSON());
      }
      expect(ContextSync.fromJSON({ contextId: "c", path: "/w" }).policy).toBeUndefined();
    });

    it("accepts a policy embedded as a JSON string, as the reference sends it", () => {
      const cs = ContextSync.fromJSON({ contextId: "c", path: "/w", policy: '{"uploadPolicy":{"uploadMode":"Archive"}}' });
      expect(cs.policy?.uploadPolicy.uploadMode).toBe("Archive");
    });

    it("reads betaWaitForCompletion when present", () => {
      const cs = ContextSync.fromJSON({ contextId: "c", path: "/w", betaWaitForCompletion: false });
      expect(cs.betaWaitForCompletion).toBe(false);
    });

    it("rejects invalid wire values", () => {
      expect(() => ContextSync.fromJSON({ contextId: "c", path: "/w", policy: { nope: 1 } })).toThrow(
        "Unknown property in SyncPolicy: 'nope'. Valid properties are: uploadPolicy, downloadPolicy, deletePolicy, extractPolicy, recyclePolicy, bwList, mappingPolicy",
      );
      expect(() => ContextSync.fromJSON({ contextId: "c", path: "/w", ContextId: "x" })).toThrow(
        "Unknown property in ContextSync: 'ContextId'. Valid properties are: contextId, path, policy, betaWaitForCompletion",
      );
      expect(() => ContextSync.fromJSON({ contextId: "c" })).toThrow(/^Invalid type for ContextSync\.path/);
      expect(() => ContextSync.fromJSON({ path: "/w" })).toThrow(/^Invalid contextId/);
      expect(() => ContextSync.fromJSON({ contextId: "c", path: "rel" })).toThrow(InvalidKeyError);
      expect(() => ContextSync.fromJSON("[1]")).toThrow(InvalidParameterError);
      expect(() => ContextSync.fromJSON("{")).toThrow(/^ContextSync is not valid JSON/);
      expect(() => ContextSync.fromJSON({ contextId: "c", path: "/w", betaWaitForCompletion: "yes" })).toThrow(
        InvalidParameterError,
      );
    });
  });
});
