/** Longest entry name or link target accepted, in UTF-8 bytes: Linux's PATH_MAX; longer paths cannot be created. */
export const MAX_PATH_BYTES = 4096;
/** Longest single name in a path: NAME_MAX on Linux, macOS and Windows alike. */
const MAX_SEGMENT_BYTES = 255;

/** Segments of a path inside the extraction root, or why it is refused (a phrase that follows the entry's name). */
export type ParsedPath = { ok: true; segments: string[] } | { ok: false; reason: string };

/**
 * Turns an archive entry name into the segments of a path inside the extraction root, or says why the entry
 * may not be extracted. Backslashes count as separators (Windows zip tools write them), so a trick spelled
 * with them meets the same rules as its slash form. Empty and `.` segments are dropped; `..` is refused
 * even when it would stay inside, as node-tar and yauzl do.
 *   `./a//b/` → [a, b]   `./` → []   `..\x`, `a/../../x` → ".."   `C:\x`, `C:x` → drive   `/etc/x`, `\\srv\s` → absolute
 */
export function parseEntryName(name: string): ParsedPath {
  const checked = checkRaw(name, "name");
  if (checked !== null) return { ok: false, reason: checked };
  const slashed = name.replace(/\\/g, "/");
  if (/^[a-zA-Z]:/.test(slashed)) return { ok: false, reason: "starts with a drive letter and would land outside the target" };
  if (slashed.startsWith("/")) return { ok: false, reason: "is an absolute path and would land outside the target" };
  const segments: string[] = [];
  for (const seg of slashed.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") return { ok: false, reason: `has a ".." segment and could land outside the target` };
    if (Buffer.byteLength(seg) > MAX_SEGMENT_BYTES) {
      return { ok: false, reason: `has a path segment longer than ${MAX_SEGMENT_BYTES} bytes, which no file system accepts` };
    }
    segments.push(seg);
  }
  return { ok: true, segments };
}

/**
 * Splits a symlink's target into steps, `..` kept (see resolveLexically). Absolute and drive-letter targets
 * are refused whatever they name: a link inside the extraction root must stay relative to it.
 * Backslashes count as separators, as in entry names.   `../b\c` → [.., b, c]   `/` → absolute
 */
export function parseLinkTarget(target: string): { ok: true; steps: string[] } | { ok: false; reason: string } {
  const checked = checkRaw(target, "link target");
  if (checked !== null) return { ok: false, reason: checked };
  if (target === "") return { ok: false, reason: "is a link with an empty target" };
  const slashed = target.replace(/\\/g, "/");
  if (slashed.startsWith("/") || /^[a-zA-Z]:/.test(slashed)) {
    return { ok: false, reason: `is a link to the absolute path ${JSON.stringify(target)}, outside the target` };
  }
  return { ok: true, steps: slashed.split("/").filter((s) => s !== "" && s !== ".") };
}

/**
 * Follows `steps` from the folder `fromDir` by name alone; null when they climb above the root.
 *   [a] + [.., b] → [b]   [] + [..] → null
 */
export function resolveLexically(fromDir: readonly string[], steps: readonly string[]): string[] | null {
  const out = [...fromDir];
  for (const step of steps) {
    if (step !== "..") out.push(step);
    else if (out.length === 0) return null;
    else out.pop();
  }
  return out;
}

function checkRaw(value: string, what: string): string | null {
  if (value.includes("\0")) return `has a NUL byte in its ${what}`;
  if (Buffer.byteLength(value) > MAX_PATH_BYTES) return `has a ${what} longer than ${MAX_PATH_BYTES} bytes`;
  return null;
}
