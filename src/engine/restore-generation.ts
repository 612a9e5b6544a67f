import {
  BlobNotFoundError,
  GenerationNotFoundError,
  InvalidParameterError,
} from "../errors/index.js";
import { isUnder, joinKey } from "../policy/index.js";
import type { BlobStore, FileRecord, MetaStore } from "../store/index.js";
import { ARCHIVE_NAME } from "./archive/manifest.js";
import { readArchiveManifest } from "./archive/read-archive.js";
import type { Clock } from "./clock.js";
import { commitAtHead } from "./commit-at-head.js";
import { planRestore } from "./plan-restore.js";

export interface RestoreDeps {
  meta: Pick<
    MetaStore,
    "getContext" | "getGeneration" | "listFilesAtGeneration" | "listLiveFiles" | "getLiveFile" | "commitGeneration"
  >;
  blobs: Pick<BlobStore, "touch" | "get">;
  clock: Clock;
}

/**
 * Makes the context — or everything under `prefix`, a file or a folder — equal to what it was at
 * `generation`, as one new generation (see planRestore for what "equal" means with expiry). Returns the
 * new generation, or the unchanged head when nothing differed.
 *
 * Rejects with GenerationNotFoundError when the generation never existed or was pruned, also when GC
 * prunes it while the restore runs; with InvalidParameterError when `prefix` lies inside an ARCHIVE-mode
 * archive (its files are one object: restore the archive's namespace instead).
 *
 * Works on stored objects: an archive restores as a whole, with the namespace that holds it. Sessions
 * that have the context mounted see the restore as a commit by someone else: their next upload keeps it,
 * except for files they changed themselves.
 */
export async function restoreGeneration(
  deps: RestoreDeps,
  args: { tenantId: string; contextId: string; generation: number; prefix: string },
): Promise<number> {
  const { contextId, generation, prefix } = args;
  if (!Number.isSafeInteger(generation)) {
    throw new InvalidParameterError(`A generation is a whole number (see context.log); got ${generation}.`);
  }
  return commitAtHead(deps, { tenantId: args.tenantId, contextId, sessionId: null }, async ({ nowMs, attempt }) => {
    await requireGeneration(deps, contextId, generation);
    if (attempt === 1) await refuseInsideArchive(deps, contextId, generation, prefix, nowMs);

    const then = await deps.meta.listFilesAtGeneration(contextId, generation, prefix);
    const live = await deps.meta.listLiveFiles(contextId, prefix, nowMs);
    const changes = planRestore(then, live, nowMs);
    if (changes.length === 0) return { changes };

    // The old versions' blobs may be referenced by nothing but history, which GC may prune at any moment.
    // Touch them first, then check the generation still exists: a collection that pruned it before the
    // check stops us here; one that prunes it after lists the blobs after our touch, finds them younger
    // than its grace period and leaves them. Either way every blob the commit names is there.
    for (const digest of new Set(changes.flatMap((c) => (c.kind === "put" && c.meta.digest ? [c.meta.digest] : [])))) {
      if (!(await deps.blobs.touch(digest))) throw new BlobNotFoundError(digest);
    }
    await requireGeneration(deps, contextId, generation);
    return { changes };
  });
}

async function requireGeneration(deps: RestoreDeps, contextId: string, generation: number): Promise<void> {
  if (!(await deps.meta.getGeneration(contextId, generation))) throw new GenerationNotFoundError(contextId, generation);
}

/**
 * Refuses a prefix that holds files of an archive (then or now) of a namespace above it: those files are
 * entries of one object, which a key-level restore can neither bring back nor remove one by one.
 * TODO: restore single archived files by rewriting the archive, as an ARCHIVE-mode upload does.
 */
async function refuseInsideArchive(
  deps: RestoreDeps,
  contextId: string,
  generation: number,
  prefix: string,
  nowMs: number,
): Promise<void> {
  for (const namespace of ancestorsOf(prefix)) {
    const archiveKey = joinKey(namespace, ARCHIVE_NAME);
    const archives: FileRecord[] = await deps.meta.listFilesAtGeneration(contextId, generation, archiveKey);
    const current = await deps.meta.getLiveFile(contextId, archiveKey, nowMs);
    if (current) archives.push(current);
    for (const archive of archives) {
      if (!archive.digest) continue;
      const entries = await readArchiveManifest(deps.blobs, archive.digest);
      if (entries.some((e) => isUnder(joinKey(namespace, e.rel), prefix))) {
        throw new InvalidParameterError(
          `${prefix} lies inside the archive of ${namespace} (ARCHIVE upload mode), whose files are stored as one object; restore ${namespace} instead.`,
        );
      }
    }
  }
}

/** Proper ancestors of a canonical path, root first: `/a/b/c` → `/`, `/a`, `/a/b`; `/` → none. */
function ancestorsOf(key: string): string[] {
  if (key === "/") return [];
  const segments = key.split("/").slice(1, -1);
  const out = ["/"];
  for (let i = 1; i <= segments.length; i++) out.push(`/${segments.slice(0, i).join("/")}`);
  return out;
}
