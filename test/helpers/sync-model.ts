/**
 * A reference model of ctxsync's per-file merge (SPEC §3, Concurrency and Upload rules 1–3) for
 * model-based tests. Files are keyed by their path relative to the mount (`a.txt`, `d/e.txt`).
 *
 * A Version is one write: the test gives every write a distinct mtime, so `mtimeMs` identifies it (ctxsync
 * compares size, mtime and mode against the base before it hashes, so two writes in one millisecond with
 * the same size would look like one version; distinct mtimes keep the model and the system in step).
 */
export interface Version {
  content: string;
  mtimeMs: number;
}

export type Files = Map<string, Version>;

/** One session's view: what is on its disk, and what it last saw (its base). */
export interface SessionModel {
  local: Files;
  base: Files;
}

export function sameVersion(a: Version | undefined, b: Version | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.content === b.content && a.mtimeMs === b.mtimeMs;
}

/**
 * The context after `s` uploads onto `context`, and `s`'s new base (its local files):
 * - a local file changed since the base (or new) is written — the later upload wins;
 * - a local file unchanged since the base keeps whatever the context has (another session's change, or
 *   another session's deletion);
 * - a base file gone locally is deleted only while the context still holds the base's version;
 * - files the session never saw and does not have are not touched.
 */
export function modelUpload(context: Files, s: SessionModel): { context: Files; base: Files } {
  const next = new Map(context);
  for (const [name, l] of s.local) {
    if (sameVersion(l, context.get(name))) continue;
    if (sameVersion(l, s.base.get(name))) continue;
    next.set(name, l);
  }
  for (const [name, b] of s.base) {
    if (s.local.has(name)) continue;
    if (sameVersion(context.get(name), b)) next.delete(name);
  }
  return { context: next, base: new Map(s.local) };
}

/**
 * The session after it downloads `context`: every context file overwrites the local one (even a locally
 * modified one) and joins the base; local files the context lacks stay on disk and in the base.
 */
export function modelDownload(context: Files, s: SessionModel): SessionModel {
  const local = new Map(s.local);
  const base = new Map(s.base);
  for (const [name, v] of context) {
    local.set(name, v);
    base.set(name, v);
  }
  return { local, base };
}

/** A Files map as a plain sorted object, for readable assertion diffs. */
export function filesToObject(files: Files): Record<string, Version> {
  return Object.fromEntries([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
