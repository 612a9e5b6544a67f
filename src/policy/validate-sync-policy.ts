import { InvalidParameterError } from "../errors/index.js";
import { DOWNLOAD_STRATEGIES, UPLOAD_MODES, UPLOAD_STRATEGIES } from "./enums.js";
import { invalidLifecycleMessage, isLifecycle } from "./lifecycle.js";
import { checkSessionPath, normalizeRelativePolicyPath } from "./normalize-path.js";

/**
 * Validation of sync policies as they arrive: class instances, plain object literals, or parsed wire JSON.
 * Each validator takes `unknown`, throws InvalidParameterError on the first problem and returns nothing.
 * A missing or `null` policy, sub-policy or field is valid everywhere: it means "use the default".
 *
 * Messages the reference SDK defines are reproduced exactly (unknown SyncPolicy key, uploadMode, lifecycle,
 * wildcards); the rest are ctxsync's own and name the type and field, e.g. `UploadPolicy.autoUpload`.
 */

/** The keys a SyncPolicy may have, in wire order. */
export const SYNC_POLICY_KEYS = [
  "uploadPolicy",
  "downloadPolicy",
  "deletePolicy",
  "extractPolicy",
  "recyclePolicy",
  "bwList",
  "mappingPolicy",
] as const;

// The reference rejects these because its server cannot match patterns (it silently syncs nothing instead).
const WILDCARD = /[*?[\]]/;

/** Throws unless `input` is a valid SyncPolicy (or null/undefined, meaning all defaults). */
export function validateSyncPolicy(input: unknown): void {
  if (input == null) return;
  const policy = expectObject(input, "SyncPolicy");
  rejectUnknownKeys(policy, "SyncPolicy", SYNC_POLICY_KEYS);
  validateUploadPolicy(subPolicy(policy, "uploadPolicy"));
  validateDownloadPolicy(subPolicy(policy, "downloadPolicy"));
  validateDeletePolicy(subPolicy(policy, "deletePolicy"));
  validateExtractPolicy(subPolicy(policy, "extractPolicy"));
  validateRecyclePolicy(subPolicy(policy, "recyclePolicy"));
  validateBWList(subPolicy(policy, "bwList"));
  validateMappingPolicy(subPolicy(policy, "mappingPolicy"));
}

/** Throws unless `input` is a valid UploadPolicy (or null/undefined). */
export function validateUploadPolicy(input: unknown): void {
  if (input == null) return;
  const policy = expectObject(input, "UploadPolicy");
  rejectUnknownKeys(policy, "UploadPolicy", ["autoUpload", "uploadStrategy", "uploadMode"]);
  expectBoolean(policy, "UploadPolicy", "autoUpload");
  expectOneOf(policy, "uploadStrategy", UPLOAD_STRATEGIES);
  expectOneOf(policy, "uploadMode", UPLOAD_MODES);
}

/** Throws unless `input` is a valid DownloadPolicy (or null/undefined). */
export function validateDownloadPolicy(input: unknown): void {
  if (input == null) return;
  const policy = expectObject(input, "DownloadPolicy");
  rejectUnknownKeys(policy, "DownloadPolicy", ["autoDownload", "downloadStrategy"]);
  expectBoolean(policy, "DownloadPolicy", "autoDownload");
  expectOneOf(policy, "downloadStrategy", DOWNLOAD_STRATEGIES);
}

/** Throws unless `input` is a valid DeletePolicy (or null/undefined). */
export function validateDeletePolicy(input: unknown): void {
  if (input == null) return;
  const policy = expectObject(input, "DeletePolicy");
  rejectUnknownKeys(policy, "DeletePolicy", ["syncLocalFile"]);
  expectBoolean(policy, "DeletePolicy", "syncLocalFile");
}

/** Throws unless `input` is a valid ExtractPolicy (or null/undefined). */
export function validateExtractPolicy(input: unknown): void {
  if (input == null) return;
  const policy = expectObject(input, "ExtractPolicy");
  rejectUnknownKeys(policy, "ExtractPolicy", ["extract", "deleteSrcFile", "extractToCurrentFolder"]);
  expectBoolean(policy, "ExtractPolicy", "extract");
  expectBoolean(policy, "ExtractPolicy", "deleteSrcFile");
  expectBoolean(policy, "ExtractPolicy", "extractToCurrentFolder");
}

/** Throws unless `input` is a valid RecyclePolicy (or null/undefined). */
export function validateRecyclePolicy(input: unknown): void {
  if (input == null) return;
  const policy = expectObject(input, "RecyclePolicy");
  rejectUnknownKeys(policy, "RecyclePolicy", ["lifecycle", "paths"]);
  const lifecycle = policy["lifecycle"];
  if (lifecycle != null && !isLifecycle(lifecycle)) {
    throw new InvalidParameterError(invalidLifecycleMessage(show(lifecycle)));
  }
  for (const path of expectStringArray(policy, "RecyclePolicy", "paths")) {
    expectPolicyPath(path, "recycle policy paths", "RecyclePolicy.paths entry");
  }
}

/** Throws unless `input` is a valid WhiteList (or null/undefined). */
export function validateWhiteList(input: unknown): void {
  if (input == null) return;
  const whiteList = expectObject(input, "WhiteList");
  rejectUnknownKeys(whiteList, "WhiteList", ["path", "excludePaths"]);
  const path = whiteList["path"];
  if (path != null) {
    if (typeof path !== "string") typeError("WhiteList.path", "a string", path);
    expectPolicyPath(path, "path", "WhiteList.path");
  }
  for (const exclude of expectStringArray(whiteList, "WhiteList", "excludePaths")) {
    expectPolicyPath(exclude, "exclude_paths", "WhiteList.excludePaths entry");
  }
}

/** Throws unless `input` is a valid BWList (or null/undefined). */
export function validateBWList(input: unknown): void {
  if (input == null) return;
  const bwList = expectObject(input, "BWList");
  rejectUnknownKeys(bwList, "BWList", ["whiteLists"]);
  const whiteLists = bwList["whiteLists"];
  if (whiteLists == null) return;
  if (!Array.isArray(whiteLists)) typeError("BWList.whiteLists", "an array of white lists", whiteLists);
  whiteLists.forEach((entry: unknown, i) => {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      typeError(`BWList.whiteLists[${i}]`, "an object such as { path: \"src\" }", entry);
    }
    validateWhiteList(entry);
  });
}

/**
 * Throws unless `input` is a valid MappingPolicy (or null/undefined). Its path is `""` (no mapping) or the
 * absolute path, POSIX or Windows, where the data was stored: `c:\Users\Administrator\Downloads`.
 */
export function validateMappingPolicy(input: unknown): void {
  if (input == null) return;
  const policy = expectObject(input, "MappingPolicy");
  rejectUnknownKeys(policy, "MappingPolicy", ["path"]);
  const path = policy["path"];
  if (path == null || path === "") return;
  if (typeof path !== "string") typeError("MappingPolicy.path", "a string", path);
  const check = checkSessionPath(path);
  if (!check.ok) {
    throw new InvalidParameterError(
      `Invalid MappingPolicy.path ${JSON.stringify(path)}: ${check.reason}. Use the absolute path where the data was stored, such as c:\\Users\\Administrator\\Downloads or /home/user/Downloads.`,
    );
  }
}

function subPolicy(policy: Record<string, unknown>, key: (typeof SYNC_POLICY_KEYS)[number]): unknown {
  const value = policy[key];
  if (value != null && (typeof value !== "object" || Array.isArray(value))) {
    typeError(`SyncPolicy.${key}`, "an object or null", value);
  }
  return value;
}

function expectObject(value: unknown, typeName: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    typeError(typeName, "an object", value);
  }
  return value as Record<string, unknown>;
}

function rejectUnknownKeys(value: Record<string, unknown>, typeName: string, valid: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!valid.includes(key)) {
      throw new InvalidParameterError(
        `Unknown property in ${typeName}: '${key}'. Valid properties are: ${valid.join(", ")}`,
      );
    }
  }
}

function expectBoolean(value: Record<string, unknown>, typeName: string, key: string): void {
  const field = value[key];
  if (field != null && typeof field !== "boolean") typeError(`${typeName}.${key}`, "a boolean (true or false)", field);
}

// Same wording as the reference's uploadMode message, so every enum field reads alike.
function expectOneOf(value: Record<string, unknown>, key: string, valid: readonly string[]): void {
  const field = value[key];
  if (field != null && !valid.includes(field as string)) {
    throw new InvalidParameterError(`Invalid ${key} value: ${show(field)}. Valid values are: ${valid.join(", ")}`);
  }
}

function expectStringArray(value: Record<string, unknown>, typeName: string, key: string): string[] {
  const field = value[key];
  if (field == null) return [];
  if (!Array.isArray(field) || field.some((item) => typeof item !== "string")) {
    typeError(`${typeName}.${key}`, "an array of strings", field);
  }
  return field as string[];
}

function expectPolicyPath(path: string, wildcardField: string, field: string): void {
  if (WILDCARD.test(path)) {
    throw new InvalidParameterError(
      `Wildcard patterns are not supported in ${wildcardField}. Got: ${path}. Please use exact directory paths instead.`,
    );
  }
  normalizeRelativePolicyPath(path, field);
}

function typeError(where: string, expected: string, got: unknown): never {
  throw new InvalidParameterError(`Invalid type for ${where}: expected ${expected}, got ${describe(got)}.`);
}

// Strings appear as they are (the reference's messages interpolate them raw); other values as JSON.
function show(value: unknown): string {
  if (typeof value === "string") return value;
  return preview(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  const kind = Array.isArray(value) ? "array" : typeof value;
  return `${kind} ${preview(value)}`;
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
