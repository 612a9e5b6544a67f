import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../errors/index.js";
import { BWList, newBWList } from "./bw-list.js";
import { DeletePolicy, newDeletePolicy } from "./delete-policy.js";
import { DownloadPolicy, newDownloadPolicy } from "./download-policy.js";
import { DownloadStrategy, UploadMode, UploadStrategy } from "./enums.js";
import { ExtractPolicy, newExtractPolicy } from "./extract-policy.js";
import { Lifecycle } from "./lifecycle.js";
import { MappingPolicy, newMappingPolicy } from "./mapping-policy.js";
import { RecyclePolicy, newRecyclePolicy } from "./recycle-policy.js";
import { SyncPolicy, newSyncPolicy, newSyncPolicyWithDefaults, resolveSyncPolicy } from "./sync-policy.js";
import { UploadPolicy, newUploadPolicy } from "./upload-policy.js";
import { WhiteList, newWhiteList } from "./white-list.js";

const DEFAULT_WIRE =
  '{"uploadPolicy":{"autoUpload":true,"uploadStrategy":"UploadBeforeResourceRelease","uploadMode":"File"},' +
  '"downloadPolicy":{"autoDownload":true,"downloadStrategy":"DownloadAsync"},"deletePolicy":{"syncLocalFile":true},' +
  '"extractPolicy":{"extract":true,"deleteSrcFile":true,"extractToCurrentFolder":false},' +
  '"recyclePolicy":{"lifecycle":"Lifecycle_Forever","paths":[""]},"bwList":{"whiteLists":[{"path":"","excludePaths":[]}]}}';
const MAPPING_WIRE = ',"mappingPolicy":{"path":"c:\\\\Users\\\\Administrator\\\\Downloads"}}';
const WINDOWS_DOWNLOADS = "c:\\Users\\Administrator\\Downloads";

// Every field away from its default, so a round trip that drops or resets a field shows.
const NON_DEFAULT = {
  uploadPolicy: { autoUpload: false, uploadStrategy: UploadStrategy.UploadBeforeResourceRelease, uploadMode: UploadMode.ARCHIVE },
  downloadPolicy: { autoDownload: false, downloadStrategy: DownloadStrategy.DownloadAsync },
  deletePolicy: { syncLocalFile: false },
  extractPolicy: { extract: false, deleteSrcFile: false, extractToCurrentFolder: true },
  recyclePolicy: { lifecycle: Lifecycle.LIFECYCLE_30DAYS, paths: ["tmp", "/cache/"] },
  bwList: { whiteLists: [{ path: "/src", excludePaths: ["node_modules", "dist"] }, { path: "docs", excludePaths: [] }] },
  mappingPolicy: { path: WINDOWS_DOWNLOADS },
};

describe("sub-policy defaults are exactly the seed's", () => {
  it("UploadPolicy", () => {
    for (const p of [new UploadPolicy(), newUploadPolicy(), new UploadPolicy({}), new UploadPolicy(null)]) {
      expect(p.toJSON()).toEqual({ autoUpload: true, uploadStrategy: "UploadBeforeResourceRelease", uploadMode: "File" });
    }
  });
  it("DownloadPolicy", () => {
    for (const p of [new DownloadPolicy(), newDownloadPolicy()]) {
      expect(p.toJSON()).toEqual({ autoDownload: true, downloadStrategy: "DownloadAsync" });
    }
  });
  it("DeletePolicy", () => {
    for (const p of [new DeletePolicy(), newDeletePolicy()]) expect(p.toJSON()).toEqual({ syncLocalFile: true });
  });
  it("ExtractPolicy", () => {
    for (const p of [new ExtractPolicy(), newExtractPolicy()]) {
      expect(p.toJSON()).toEqual({ extract: true, deleteSrcFile: true, extractToCurrentFolder: false });
    }
  });
  it("RecyclePolicy", () => {
    for (const p of [new RecyclePolicy(), newRecyclePolicy()]) {
      expect(p.toJSON()).toEqual({ lifecycle: "Lifecycle_Forever", paths: [""] });
    }
  });
  it("WhiteList", () => {
    for (const p of [new WhiteList(), newWhiteList()]) expect(p.toJSON()).toEqual({ path: "", excludePaths: [] });
  });
  it("BWList", () => {
    for (const p of [new BWList(), newBWList()]) expect(p.toJSON()).toEqual({ whiteLists: [] });
  });
  it("MappingPolicy", () => {
    for (const p of [new MappingPolicy(), newMappingPolicy(), MappingPolicy.default()]) {
      expect(p.toJSON()).toEqual({ path: "" });
    }
  });
});

describe("sub-policies", () => {
  it("take a partial object and default the rest", () => {
    const upload = new UploadPolicy({ uploadMode: UploadMode.ARCHIVE });
    expect(upload).toMatchObject({ autoUpload: true, uploadStrategy: "UploadBeforeResourceRelease", uploadMode: "Archive" });
    expect(new ExtractPolicy({ extractToCurrentFolder: true }).toJSON()).toEqual({
      extract: true,
      deleteSrcFile: true,
      extractToCurrentFolder: true,
    });
    expect(new RecyclePolicy({ lifecycle: Lifecycle.Lifecycle_1Day }).paths).toEqual([""]);
    expect(new WhiteList({ path: "src" }).excludePaths).toEqual([]);
  });

  it("treat a null field as missing", () => {
    expect(new UploadPolicy({ autoUpload: null, uploadMode: null }).toJSON()).toEqual(newUploadPolicy().toJSON());
    expect(new RecyclePolicy({ paths: null }).paths).toEqual([""]);
  });

  it("copy arrays so later changes to the caller's array do not leak in", () => {
    const paths = ["a"];
    const recycle = new RecyclePolicy({ paths });
    paths.push("b");
    expect(recycle.paths).toEqual(["a"]);
  });

  it("turn plain white lists into WhiteList instances", () => {
    const bw = new BWList({ whiteLists: [{ path: "src" }] });
    expect(bw.whiteLists[0]).toBeInstanceOf(WhiteList);
    expect(bw.toJSON()).toEqual({ whiteLists: [{ path: "src", excludePaths: [] }] });
  });

  it("round-trip through toJSON and fromJSON", () => {
    const cases = [
      [UploadPolicy, NON_DEFAULT.uploadPolicy],
      [DownloadPolicy, NON_DEFAULT.downloadPolicy],
      [DeletePolicy, NON_DEFAULT.deletePolicy],
      [ExtractPolicy, NON_DEFAULT.extractPolicy],
      [RecyclePolicy, NON_DEFAULT.recyclePolicy],
      [BWList, NON_DEFAULT.bwList],
      [MappingPolicy, NON_DEFAULT.mappingPolicy],
    ] as const;
    for (const [cls, init] of cases) {
      const json: unknown = JSON.parse(JSON.stringify(cls.fromJSON(init)));
      expect(json).toEqual(init);
      expect(cls.fromJSON(json).toJSON()).toEqual(init);
    }
  });

  it("validate in the constructor and in fromJSON", () => {
    expect(() => new UploadPolicy({ uploadMode: "Zip" as UploadMode })).toThrow(InvalidParameterError);
    expect(() => DeletePolicy.fromJSON({ syncLocalFile: "yes" })).toThrow(InvalidParameterError);
    expect(() => WhiteList.fromJSON({ path: "src/*" })).toThrow(InvalidParameterError);
    expect(() => MappingPolicy.fromJSON({ path: "relative/dir" })).toThrow(InvalidParameterError);
  });
});

describe("SyncPolicy", () => {
  it("serialises its defaults to exactly the reference's wire JSON", () => {
    expect(JSON.stringify(newSyncPolicy())).toBe(DEFAULT_WIRE);
    expect(JSON.stringify(new SyncPolicy())).toBe(DEFAULT_WIRE);
    expect(JSON.stringify(newSyncPolicyWithDefaults())).toBe(DEFAULT_WIRE);
    expect(JSON.stringify(resolveSyncPolicy(undefined))).toBe(DEFAULT_WIRE);
    expect(JSON.stringify(resolveSyncPolicy(null))).toBe(DEFAULT_WIRE);
  });

  it("appends mappingPolicy to the wire JSON when one is set", () => {
    const policy = newSyncPolicyWithDefaults({ mappingPolicy: { path: WINDOWS_DOWNLOADS } });
    expect(JSON.stringify(policy)).toBe(DEFAULT_WIRE.slice(0, -1) + MAPPING_WIRE);
  });

  it("fills all six sub-policies and leaves mappingPolicy undefined by default", () => {
    const policy = new SyncPolicy();
    expect(policy.uploadPolicy).toBeInstanceOf(UploadPolicy);
    expect(policy.downloadPolicy).toBeInstanceOf(DownloadPolicy);
    expect(policy.deletePolicy).toBeInstanceOf(DeletePolicy);
    expect(policy.extractPolicy).toBeInstanceOf(ExtractPolicy);
    expect(policy.recyclePolicy).toBeInstanceOf(RecyclePolicy);
    expect(policy.bwList).toBeInstanceOf(BWList);
    expect(policy.bwList.toJSON()).toEqual({ whiteLists: [{ path: "", excludePaths: [] }] });
    expect(policy.mappingPolicy).toBeUndefined();
    expect("mappingPolicy" in policy.toJSON()).toBe(false);
  });

  it("gives a missing or null bwList the whole-mount white list, but keeps an explicit empty one", () => {
    const whole = { whiteLists: [{ path: "", excludePaths: [] }] };
    expect(new SyncPolicy({}).bwList.toJSON()).toEqual(whole);
    expect(new SyncPolicy({ bwList: null }).bwList.toJSON()).toEqual(whole);
    expect(new SyncPolicy({ bwList: {} }).bwList.toJSON()).toEqual({ whiteLists: [] });
    expect(new SyncPolicy({ bwList: { whiteLists: [] } }).bwList.toJSON()).toEqual({ whiteLists: [] });
  });

  it("fills partial sub-policies field by field", () => {
    const policy = new SyncPolicy({ uploadPolicy: { uploadMode: UploadMode.Archive }, recyclePolicy: { paths: ["tmp"] } });
    expect(policy.uploadPolicy.toJSON()).toEqual({
      autoUpload: true,
      uploadStrategy: "UploadBeforeResourceRelease",
      uploadMode: "Archive",
    });
    expect(policy.recyclePolicy.toJSON()).toEqual({ lifecycle: "Lifecycle_Forever", paths: ["tmp"] });
    expect(policy.downloadPolicy.toJSON()).toEqual(newDownloadPolicy().toJSON());
  });

  it("treats null sub-policies as their defaults (as AgentBay's browser context sends them)", () => {
    const wire = '{"uploadPolicy":{"autoUpload":false},"downloadPolicy":null,"deletePolicy":null,"bwList":null,"recyclePolicy":null}';
    const policy = SyncPolicy.fromJSON(wire);
    expect(policy.uploadPolicy.autoUpload).toBe(false);
    expect(policy.uploadPolicy.uploadMode).toBe("File");
    const rest = { ...JSON.parse(DEFAULT_WIRE), uploadPolicy: policy.uploadPolicy.toJSON() };
    expect(policy.toJSON()).toEqual(rest);
  });

  it("round-trips every field, mappingPolicy included", () => {
    const policy = new SyncPolicy(NON_DEFAULT);
    expect(policy.toJSON()).toEqual(NON_DEFAULT);
    const fromString = SyncPolicy.fromJSON(JSON.stringify(policy));
    const fromObject = SyncPolicy.fromJSON(policy.toJSON());
    expect(fromString.toJSON()).toEqual(NON_DEFAULT);
    expect(fromObject.toJSON()).toEqual(NON_DEFAULT);
    expect(fromString.mappingPolicy?.path).toBe(WINDOWS_DOWNLOADS);
    expect(SyncPolicy.fromJSON(DEFAULT_WIRE).toJSON()).toEqual(JSON.parse(DEFAULT_WIRE));
  });

  it("parses null and partial wire values", () => {
    expect(JSON.stringify(SyncPolicy.fromJSON(null))).toBe(DEFAULT_WIRE);
    expect(JSON.stringify(SyncPolicy.fromJSON("null"))).toBe(DEFAULT_WIRE);
    expect(JSON.stringify(SyncPolicy.fromJSON("{}"))).toBe(DEFAULT_WIRE);
    expect(SyncPolicy.fromJSON({ deletePolicy: { syncLocalFile: false } }).deletePolicy.syncLocalFile).toBe(false);
  });

  it("rejects malformed JSON text with InvalidParameterError", () => {
    expect(() => SyncPolicy.fromJSON("{uploadPolicy:")).toThrow(InvalidParameterError);
    expect(() => SyncPolicy.fromJSON("{uploadPolicy:")).toThrow(/^SyncPolicy is not valid JSON/);
    expect(() => SyncPolicy.fromJSON('"just a string"')).toThrow(InvalidParameterError);
    expect(() => SyncPolicy.fromJSON("[]")).toThrow(InvalidParameterError);
  });

  it("accepts sub-policy instances and plain objects alike", () => {
    const a = new SyncPolicy({
      uploadPolicy: new UploadPolicy({ autoUpload: false }),
      bwList: new BWList({ whiteLists: [new WhiteList({ path: "x" })] }),
    });
    const b = new SyncPolicy({ uploadPolicy: { autoUpload: false }, bwList: { whiteLists: [{ path: "x" }] } });
    expect(a.toJSON()).toEqual(b.toJSON());
  });
});

describe("resolveSyncPolicy", () => {
  it("accepts a plain object literal and returns a fully defaulted SyncPolicy", () => {
    const policy = resolveSyncPolicy({ uploadPolicy: { autoUpload: false } });
    expect(policy).toBeInstanceOf(SyncPolicy);
    expect(policy.uploadPolicy).toBeInstanceOf(UploadPolicy);
    const want = { ...JSON.parse(DEFAULT_WIRE), uploadPolicy: { ...newUploadPolicy().toJSON(), autoUpload: false } };
    expect(policy.toJSON()).toEqual(want);
  });

  it("copies a SyncPolicy, so later changes to the caller's object do not leak in", () => {
    const original = newSyncPolicy();
    const resolved = resolveSyncPolicy(original);
    expect(resolved).not.toBe(original);
    expect(resolved.toJSON()).toEqual(original.toJSON());
    original.uploadPolicy.autoUpload = false;
    expect(resolved.uploadPolicy.autoUpload).toBe(true);
  });

  it("re-validates a SyncPolicy that was mutated into an invalid state", () => {
    const policy = newSyncPolicy();
    (policy.uploadPolicy as { uploadMode: string }).uploadMode = "Zip";
    expect(() => resolveSyncPolicy(policy)).toThrow("Invalid uploadMode value: Zip. Valid values are: File, Archive");
  });

  it("rejects invalid input", () => {
    expect(() => resolveSyncPolicy({ bogus: 1 } as never)).toThrow(InvalidParameterError);
  });
});
