import type { z } from "@hono/zod-openapi";
import { InvalidParameterError } from "../errors/index.js";
import type { BaseEntryWire, CommitBaseBody, FileChangeWire } from "./schemas.js";

type Change = z.infer<typeof FileChangeWire>;
type FileMeta = Extract<Change, { kind: "put" }>["meta"];
type BaseEntry = z.infer<typeof BaseEntryWire>;
type CommitBase = z.infer<typeof CommitBaseBody>;

/**
 * A commit's base update mostly repeats its puts: after an upload the session's base holds exactly the
 * files it wrote. Such upserts travel as the index of their put (`upsertPuts`), which halves the body
 * of a large commit and the server's work to parse and validate it. Only for servers that list
 * AGENT_FEATURES.commitUpsertPuts: an older one would drop the field and record a base without those files.
 */
export function packBaseUpserts(
  changes: readonly Change[],
  upserts: readonly BaseEntry[],
): Pick<CommitBase, "upserts" | "upsertPuts"> {
  const putIndex = new Map<string, number>();
  changes.forEach((c, i) => {
    if (c.kind === "put") putIndex.set(c.key, i);
  });
  const rest: BaseEntry[] = [];
  const upsertPuts: number[] = [];
  for (const e of upserts) {
    const i = putIndex.get(e.key);
    const put = i === undefined ? undefined : changes[i];
    if (i !== undefined && put?.kind === "put" && sameMeta(put.meta, e)) upsertPuts.push(i);
    else rest.push(e);
  }
  return upsertPuts.length > 0 ? { upserts: rest, upsertPuts } : { upserts: rest };
}

/**
 * The base upserts `base` stands for: its own, then one per `upsertPuts` index, built from the put (a key
 * given both ways ends as its put says: later entries win). Each index may appear once, so the entries
 * built can never outnumber the changes the body carries.
 */
export function unpackBaseUpserts(changes: readonly Change[], base: CommitBase): BaseEntry[] {
  const out = [...base.upserts];
  const seen = new Set<number>();
  for (const i of base.upsertPuts ?? []) {
    if (seen.has(i)) throw new InvalidParameterError(`base.upsertPuts names change ${i} more than once; name each put at most once.`);
    seen.add(i);
    const put = changes[i];
    if (put?.kind !== "put") {
      throw new InvalidParameterError(`base.upsertPuts names change ${i}, which is not a put of this commit; name only the indexes of puts.`);
    }
    out.push({ key: put.key, ...put.meta });
  }
  return out;
}

function sameMeta(a: FileMeta, b: FileMeta): boolean {
  return (
    a.type === b.type &&
    a.digest === b.digest &&
    a.sizeBytes === b.sizeBytes &&
    a.mode === b.mode &&
    a.mtimeMs === b.mtimeMs &&
    a.linkTarget === b.linkTarget
  );
}
