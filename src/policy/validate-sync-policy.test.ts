import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../errors/index.js";
import { validateBWList, validateSyncPolicy } from "./validate-sync-policy.js";

const LIFECYCLE_LIST =
  "Lifecycle_1Day, Lifecycle_3Days, Lifecycle_5Days, Lifecycle_10Days, Lifecycle_15Days, Lifecycle_30Days, Lifecycle_90Days, Lifecycle_180Days, Lifecycle_360Days, Lifecycle_Forever";

/** Runs validateSyncPolicy and returns the InvalidParameterError message, or fails the test. */
function messageFor(policy: unknown): string {
  try {
    validateSyncPolicy(policy);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidParameterError);
    expect((err as InvalidParameterError).code).toBe("InvalidParameter");
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(policy)} to be rejected`);
}

describe("validateSyncPolicy: the reference's messages, exactly", () => {
  const cases = [
    {
      name: "unknown top-level key",
      policy: { uploadPolicy: {}, syncPolicy: {} },
      want: "Unknown property in SyncPolicy: 'syncPolicy'. Valid properties are: uploadPolicy, downloadPolicy, deletePolicy, extractPolicy, recyclePolicy, bwList, mappingPolicy",
    },
    {
      name: "snake_case key from the Python SDK",
      policy: { upload_policy: { auto_upload: true } },
      want: "Unknown property in SyncPolicy: 'upload_policy'. Valid properties are: uploadPolicy, downloadPolicy, deletePolicy, extractPolicy, recyclePolicy, bwList, mappingPolicy",
    },
    {
      name: "invalid uploadMode",
      policy: { uploadPolicy: { uploadMode: "InvalidMode" } },
      want: "Invalid uploadMode value: InvalidMode. Valid values are: File, Archive",
    },
    {
      name: "uploadMode in the wrong case",
      policy: { uploadPolicy: { uploadMode: "file" } },
      want: "Invalid uploadMode value: file. Valid values are: File, Archive",
    },
    {
      name: "invalid lifecycle",
      policy: { recyclePolicy: { lifecycle: "Lifecycle_2Days" } },
      want: `Invalid lifecycle value: Lifecycle_2Days. Valid values are: ${LIFECYCLE_LIST}`,
    },
    {
      name: "wildcard in a white-list path",
      policy: { bwList: { whiteLists: [{ path: "/src/*.ts" }] } },
      want: "Wildcard patterns are not supported in path. Got: /src/*.ts. Please use exact directory paths instead.",
    },
    {
      name: "recursive wildcard in a white-list path",
      policy: { bwList: { whiteLists: [{ path: "**/logs" }] } },
      want: "Wildcard patterns are not supported in path. Got: **/logs. Please use exact directory paths instead.",
    },
    {
      name: "wildcard in an exclude path",
      policy: { bwList: { whiteLists: [{ path: "/src", excludePaths: ["/node_modules", "/tmp?"] }] } },
      want: "Wildcard patterns are not supported in exclude_paths. Got: /tmp?. Please use exact directory paths instead.",
    },
    {
      name: "character class in an exclude path",
      policy: { bwList: { whiteLists: [{ path: "", excludePaths: ["log[0-9]"] }] } },
      want: "Wildcard patterns are not supported in exclude_paths. Got: log[0-9]. Please use exact directory paths instead.",
    },
    {
      name: "wildcard in a recycle path",
      policy: { recyclePolicy: { paths: ["/path/with/*"] } },
      want: "Wildcard patterns are not supported in recycle policy paths. Got: /path/with/*. Please use exact directory paths instead.",
    },
  ];
  for (const c of cases) {
    it(`rejects ${c.name}`, () => expect(messageFor(c.policy)).toBe(c.want));
  }
});

describe("validateSyncPolicy: ctxsync's own checks", () => {
  const cases: { name: string; policy: unknown; want: string | RegExp }[] = [
    {
      name: "unknown key in UploadPolicy",
      policy: { uploadPolicy: { autoUpload: true, x: 1 } },
      want: "Unknown property in UploadPolicy: 'x'. Valid properties are: autoUpload, uploadStrategy, uploadMode",
    },
    {
      name: "unknown key in DownloadPolicy",
      policy: { downloadPolicy: { auto_download: true } },
      want: "Unknown property in DownloadPolicy: 'auto_download'. Valid properties are: autoDownload, downloadStrategy",
    },
    {
      name: "unknown key in DeletePolicy",
      policy: { deletePolicy: { syncLocalFiles: true } },
      want: "Unknown property in DeletePolicy: 'syncLocalFiles'. Valid properties are: syncLocalFile",
    },
    {
      name: "the Python attribute name in ExtractPolicy",
      policy: { extractPolicy: { extract_current_folder: true } },
      want: "Unknown property in ExtractPolicy: 'extract_current_folder'. Valid properties are: extract, deleteSrcFile, extractToCurrentFolder",
    },
    {
      name: "unknown key in RecyclePolicy",
      policy: { recyclePolicy: { lifetime: "Lifecycle_1Day" } },
      want: "Unknown property in RecyclePolicy: 'lifetime'. Valid properties are: lifecycle, paths",
    },
    {
      name: "a black list (the reference has none)",
      policy: { bwList: { blackLists: [] } },
      want: "Unknown property in BWList: 'blackLists'. Valid properties are: whiteLists",
    },
    {
      name: "unknown key in a WhiteList",
      policy: { bwList: { whiteLists: [{ path: "", exclude_paths: [] }] } },
      want: "Unknown property in WhiteList: 'exclude_paths'. Valid properties are: path, excludePaths",
    },
    {
      name: "unknown key in MappingPolicy",
      policy: { mappingPolicy: { from: "/a" } },
      want: "Unknown property in MappingPolicy: 'from'. Valid properties are: path",
    },
    {
      name: "a policy that is not an object",
      policy: "uploadPolicy",
      want: 'Invalid type for SyncPolicy: expected an object, got string "uploadPolicy".',
    },
    {
      name: "a policy that is an array",
      policy: [],
      want: "Invalid type for SyncPolicy: expected an object, got array [].",
    },
    {
      name: "a sub-policy that is not an object",
      policy: { uploadPolicy: true },
      want: "Invalid type for SyncPolicy.uploadPolicy: expected an object or null, got boolean true.",
    },
    {
      name: "autoUpload that is not a boolean",
      policy: { uploadPolicy: { autoUpload: "true" } },
      want: 'Invalid type for UploadPolicy.autoUpload: expected a boolean (true or false), got string "true".',
    },
    {
      name: "autoDownload that is not a boolean",
      policy: { downloadPolicy: { autoDownload: 1 } },
      want: "Invalid type for DownloadPolicy.autoDownload: expected a boolean (true or false), got number 1.",
    },
    {
      name: "syncLocalFile that is not a boolean",
      policy: { deletePolicy: { syncLocalFile: "no" } },
      want: /^Invalid type for DeletePolicy\.syncLocalFile: expected a boolean/,
    },
    {
      name: "extract flags that are not booleans",
      policy: { extractPolicy: { deleteSrcFile: 0 } },
      want: /^Invalid type for ExtractPolicy\.deleteSrcFile: expected a boolean/,
    },
    {
      name: "an unknown uploadStrategy",
      policy: { uploadPolicy: { uploadStrategy: "UploadPeriodically" } },
      want: "Invalid uploadStrategy value: UploadPeriodically. Valid values are: UploadBeforeResourceRelease",
    },
    {
      name: "an unknown downloadStrategy",
      policy: { downloadPolicy: { downloadStrategy: "DownloadSync" } },
      want: "Invalid downloadStrategy value: DownloadSync. Valid values are: DownloadAsync",
    },
    {
      name: "an uploadMode that is not a string",
      policy: { uploadPolicy: { uploadMode: 1 } },
      want: "Invalid uploadMode value: 1. Valid values are: File, Archive",
    },
    {
      name: "recycle paths that are not an array",
      policy: { recyclePolicy: { paths: "tmp" } },
      want: 'Invalid type for RecyclePolicy.paths: expected an array of strings, got string "tmp".',
    },
    {
      name: "recycle paths that hold a non-string",
      policy: { recyclePolicy: { paths: ["tmp", 3] } },
      want: 'Invalid type for RecyclePolicy.paths: expected an array of strings, got array ["tmp",3].',
    },
    {
      name: "whiteLists that is not an array",
      policy: { bwList: { whiteLists: { path: "" } } },
      want: /^Invalid type for BWList\.whiteLists: expected an array of white lists/,
    },
    {
      name: "a white list that is not an object",
      policy: { bwList: { whiteLists: ["src"] } },
      want: 'Invalid type for BWList.whiteLists[0]: expected an object such as { path: "src" }, got string "src".',
    },
    {
      name: "a white-list path that is not a string",
      policy: { bwList: { whiteLists: [{ path: 5 }] } },
      want: "Invalid type for WhiteList.path: expected a string, got number 5.",
    },
    {
      name: "excludePaths that is not an array of strings",
      policy: { bwList: { whiteLists: [{ path: "", excludePaths: "dist" }] } },
      want: /^Invalid type for WhiteList\.excludePaths: expected an array of strings/,
    },
    {
      name: '".." in a white-list path',
      policy: { bwList: { whiteLists: [{ path: "../etc" }] } },
      want: /^Invalid WhiteList\.path "\.\.\/etc": it has a "\.\." segment\./,
    },
    {
      name: '".." in an exclude path',
      policy: { bwList: { whiteLists: [{ path: "src", excludePaths: ["a/../../b"] }] } },
      want: /^Invalid WhiteList\.excludePaths entry "a\/\.\.\/\.\.\/b": it has a "\.\." segment\./,
    },
    {
      name: '".." in a recycle path',
      policy: { recyclePolicy: { paths: ["/.."] } },
      want: /^Invalid RecyclePolicy\.paths entry "\/\.\.": it has a "\.\." segment\./,
    },
    {
      name: "a NUL byte in a white-list path",
      policy: { bwList: { whiteLists: [{ path: "a\0b" }] } },
      want: /^Invalid WhiteList\.path "a\\u0000b": it contains a NUL byte\./,
    },
    {
      name: "a NUL byte in a recycle path",
      policy: { recyclePolicy: { paths: ["x\0"] } },
      want: /it contains a NUL byte/,
    },
    {
      name: '".." in a mapping path',
      policy: { mappingPolicy: { path: "c:\\Users\\..\\Windows" } },
      want: /^Invalid MappingPolicy\.path "c:\\\\Users\\\\\.\.\\\\Windows": it has a "\.\." segment\./,
    },
    {
      name: "a NUL byte in a mapping path",
      policy: { mappingPolicy: { path: "/home/a\0" } },
      want: /^Invalid MappingPolicy\.path .*: it contains a NUL byte\./,
    },
    {
      name: "a relative mapping path",
      policy: { mappingPolicy: { path: "Downloads" } },
      want: /^Invalid MappingPolicy\.path "Downloads": it is relative\./,
    },
    {
      name: "a mapping path that is not a string",
      policy: { mappingPolicy: { path: ["/a"] } },
      want: 'Invalid type for MappingPolicy.path: expected a string, got array ["/a"].',
    },
  ];
  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      const message = messageFor(c.policy);
      if (typeof c.want === "string") expect(message).toBe(c.want);
      else expect(message).toMatch(c.want);
    });
  }
});

describe("validateSyncPolicy: what it accepts", () => {
  const valid: { name: string; policy: unknown }[] = [
    { name: "undefined", policy: undefined },
    { name: "null", policy: null },
    { name: "an empty object", policy: {} },
    { name: "null sub-policies", policy: { uploadPolicy: null, bwList: null, mappingPolicy: null } },
    { name: "null fields", policy: { uploadPolicy: { autoUpload: null }, recyclePolicy: { paths: null } } },
    {
      name: "the browser context's white list",
      policy: { bwList: { whiteLists: [{ path: "/Default/Login Data For Account-journal" }] } },
    },
    { name: "an empty exclude list", policy: { bwList: { whiteLists: [{ path: "", excludePaths: [] }] } } },
    { name: "no white lists", policy: { bwList: { whiteLists: [] } } },
    { name: "an empty recycle path list", policy: { recyclePolicy: { paths: [] } } },
    { name: "a Windows mapping path", policy: { mappingPolicy: { path: "c:\\Users\\Administrator\\Downloads" } } },
    { name: "a POSIX mapping path", policy: { mappingPolicy: { path: "/Users/username/Downloads" } } },
    { name: "an empty mapping path", policy: { mappingPolicy: { path: "" } } },
    {
      name: "dotted names that are not . or ..",
      policy: { bwList: { whiteLists: [{ path: ".config", excludePaths: ["..cache"] }] } },
    },
  ];
  for (const c of valid) {
    it(`accepts ${c.name}`, () => expect(() => validateSyncPolicy(c.policy)).not.toThrow());
  }

  it("reports the first unknown key even when later fields are also bad", () => {
    const message = messageFor({ uploadPolicy: { uploadMode: "bad" }, nope: 1 });
    expect(message).toMatch(/^Unknown property in SyncPolicy: 'nope'/);
  });

  it("checks a single BWList on its own", () => {
    expect(() => validateBWList({ whiteLists: [{ path: "a" }] })).not.toThrow();
    expect(() => validateBWList({ whiteLists: [{ path: "a*" }] })).toThrow(InvalidParameterError);
  });
});
