import { InvalidKeyError, InvalidParameterError } from "../errors/index.js";
import { MAX_KEY_LENGTH } from "./limits.js";

/**
 * Path rules shared by mounts, context keys and policy paths.
 *
 * A session path or context key is canonical when it is POSIX-absolute, has no trailing `/` (except the root
 * `/`), and no empty, `.` or `..` segment and no NUL. Windows paths map onto that form with the drive as the
 * first segment: `C:\Users\A\f.txt` → `/c:/Users/A/f.txt`. Nothing is collapsed silently: a path that would
 * need `..` resolved or `//` squeezed is refused, so two spellings never name one file by accident.
 */

// `C:\…`, `c:/…` or a bare `C:`; the drive must be followed by a separator or the end.
const WINDOWS_DRIVE_PATH = /^[A-Za-z]:(?:[\\/]|$)/;
// The first segment of a canonical Windows-derived key, `c:`.
const DRIVE_SEGMENT = /^[A-Za-z]:$/;

/** Outcome of checking a session path: its canonical form, or why it has none. */
export type SessionPathCheck = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Checks `p` as a session path without throwing; normalizeSessionPath is the throwing form.
 * Exported for validators that report their own error type (a mapping policy path is a policy field).
 */
export function checkSessionPath(p: unknown): SessionPathCheck {
  if (typeof p === "string" && isPlainCanonicalPath(p)) return { ok: true, path: p };
  return checkSessionPathInFull(p);
}

/**
 * checkSessionPath without the quick yes: the rules themselves, segment by segment. Exported for the test
 * that holds isPlainCanonicalPath to them.
 */
export function checkSessionPathInFull(p: unknown): SessionPathCheck {
  if (typeof p !== "string") return { ok: false, reason: `it is a ${p === null ? "null" : typeof p}, not a string` };
  if (p === "") return { ok: false, reason: "it is empty" };
  if (p.length > MAX_KEY_LENGTH) return { ok: false, reason: `it is longer than ${MAX_KEY_LENGTH} characters` };
  if (p.includes("\0")) return { ok: false, reason: "it contains a NUL byte" };
  let s = p;
  if (WINDOWS_DRIVE_PATH.test(s)) {
    s = `/${s.slice(0, 1).toLowerCase()}${s.slice(1).replaceAll("\\", "/")}`;
  } else if (s.startsWith("\\")) {
    const reason = "it starts with a backslash but has no drive letter (UNC and drive-relative paths are not supported)";
    return { ok: false, reason };
  } else if (!s.startsWith("/")) {
    return { ok: false, reason: "it is relative" };
  }
  // One trailing separator is how people often write directories; more than one is an empty segment.
  if (s.length > 1 && s.endsWith("/")) s = s.slice(0, -1);
  if (s === "/") return { ok: true, path: "/" };
  const segments = s.slice(1).split("/");
  for (const segment of segments) {
    if (segment === "") return { ok: false, reason: 'it has an empty segment ("//")' };
    if (segment === "." || segment === "..") return { ok: false, reason: `it has a "${segment}" segment` };
  }
  const first = segments[0] ?? "";
  if (DRIVE_SEGMENT.test(first)) segments[0] = first.toLowerCase();
  return { ok: true, path: `/${segments.join("/")}` };
}

/** Segments after `/`, none empty, `.` or `..`, none with `/` or NUL: the shape of most canonical paths. */
const PLAIN_CANONICAL = /^(?:\/(?!\.\.?(?:\/|$))[^/\0]+)+$/;
/** A first segment that is a drive with an upper-case letter: canonical keys have it lower-case. */
const UPPER_DRIVE_FIRST = /^\/[A-Z]:(?:\/|$)/;

/**
 * A quick yes for a path that is canonical already (normalizeSessionPath(p) === p), as most keys are:
 * checkSessionPath asks it first, one regular expression instead of splitting the path, for the 10,000
 * keys of a large commit. False means "not known": check it the long way.
 */
export function isPlainCanonicalPath(p: string): boolean {
  return p.length <= MAX_KEY_LENGTH && PLAIN_CANONICAL.test(p) && !UPPER_DRIVE_FIRST.test(p);
}

/**
 * Canonical context key or session path for `p`; throws InvalidKeyError when `p` has none.
 * `C:\Users\A\f.txt` → `/c:/Users/A/f.txt`, `/home/user/` → `/home/user`, `/` → `/`.
 * Refuses relative paths, `.`/`..` segments, empty segments (`/a//b`), NUL bytes and `""`. Idempotent.
 */
export function normalizeSessionPath(p: string): string {
  const check = checkSessionPath(p);
  if (!check.ok) throw new InvalidKeyError(String(p), check.reason);
  return check.path;
}

/**
 * True when canonical `key` is `prefix` or lies below it by whole segments.
 * `isUnder("/w/src/a.ts", "/w/src")` → true; `isUnder("/w/srcx", "/w/src")` → false; everything is under `/`.
 * Both arguments must already be canonical (output of normalizeSessionPath).
 */
export function isUnder(key: string, prefix: string): boolean {
  if (prefix === "/") return key.startsWith("/");
  return key === prefix || (key.startsWith(prefix) && key.charCodeAt(prefix.length) === 0x2f);
}

/**
 * isUnder for paths relative to a mount: true when `path` equals `prefix` or lies below it by whole segments.
 * `isUnderRelative("src/a.ts", "src")` → true; `isUnderRelative("srcx/a", "src")` → false; all is under `""`.
 */
export function isUnderRelative(path: string, prefix: string): boolean {
  if (prefix === "") return true;
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 0x2f);
}

/**
 * The key of relative path `relPosix` inside canonical `namespace`: `joinKey("/w", "a/b.txt")` → `/w/a/b.txt`,
 * `joinKey("/w", "")` → `/w`. `relPosix` must be clean (no leading `/`, no empty, `.` or `..` segment, no NUL);
 * throws InvalidKeyError otherwise, so a file name can never climb out of its mount.
 */
export function joinKey(namespace: string, relPosix: string): string {
  if (relPosix === "") return namespace;
  const joined = namespace === "/" ? `/${relPosix}` : `${namespace}/${relPosix}`;
  if (relPosix.includes("\0")) throw new InvalidKeyError(joined, "it contains a NUL byte");
  for (const segment of relPosix.split("/")) {
    if (segment === "") {
      throw new InvalidKeyError(joined, 'the relative part has an empty segment or a leading or trailing "/"');
    }
    if (segment === "." || segment === "..") throw new InvalidKeyError(joined, `it has a "${segment}" segment`);
  }
  return joined;
}

/**
 * `key` relative to canonical `namespace`, or null when `key` is not under it.
 * `relativeKey("/w", "/w/a/b.txt")` → `a/b.txt`; `relativeKey("/w", "/w")` → `""`;
 * `relativeKey("/w", "/wx/a")` → null.
 */
export function relativeKey(namespace: string, key: string): string | null {
  if (!isUnder(key, namespace)) return null;
  if (key === namespace) return "";
  return namespace === "/" ? key.slice(1) : key.slice(namespace.length + 1);
}

/**
 * Clean form of a white-list, exclude or recycle path, which is relative to the mount (or, for an exclude, to
 * its white-list path). A leading `/` is optional, one trailing `/` is dropped and `\` counts as `/`; `""` and
 * `/` mean the whole mount. `/src/lib/` → `src/lib`, `logs\\old` → `logs/old`, `/` → `""`.
 * Throws InvalidParameterError (naming `field`) for `.`/`..` or empty segments, NUL bytes, and Windows
 * absolute paths such as `C:\data` (these paths are relative to the mount, never absolute).
 */
export function normalizeRelativePolicyPath(p: string, field = "policy path"): string {
  const fail = (reason: string): never => {
    throw new InvalidParameterError(
      `Invalid ${field} ${JSON.stringify(p)}: ${reason}. Use a path relative to the mount path, such as "src/data" (or "" for the whole mount).`,
    );
  };
  if (typeof p !== "string") return fail("it is not a string");
  if (p.includes("\0")) return fail("it contains a NUL byte");
  if (WINDOWS_DRIVE_PATH.test(p)) return fail("it is an absolute Windows path");
  let s = p.replaceAll("\\", "/");
  if (s === "" || s === "/") return "";
  if (s.startsWith("/")) s = s.slice(1);
  if (s.endsWith("/")) s = s.slice(0, -1);
  for (const segment of s.split("/")) {
    if (segment === "") fail('it has an empty segment ("//")');
    if (segment === "." || segment === "..") fail(`it has a "${segment}" segment`);
  }
  return s;
}
