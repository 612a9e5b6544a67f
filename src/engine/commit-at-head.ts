import { CommitConflictError, ContextNotFoundError } from "../errors/index.js";
import type { BaseUpdate, FileChange, MetaStore } from "../store/index.js";
import type { Clock } from "./clock.js";

/** How many times a commit is planned again when another writer committed first. */
export const MAX_COMMIT_ATTEMPTS = 8;

/** What one planning round wants committed; an empty `changes` without `base` commits nothing. */
export interface HeadCommit {
  changes: FileChange[];
  base?: BaseUpdate;
}

/**
 * The compare-and-swap every writer of a context uses: read the head, plan against it, commit with the
 * head as expectation, and plan again when another writer got there first — no lock is held while
 * planning (which may move bytes). Returns the new generation, or the head when nothing was committed.
 * Rejects with CommitConflictError after MAX_COMMIT_ATTEMPTS lost races, ContextNotFoundError when the
 * context is gone.
 */
export async function commitAtHead(
  deps: { meta: Pick<MetaStore, "getContext" | "commitGeneration">; clock: Clock },
  target: { tenantId: string; contextId: string; sessionId: string | null },
  plan: (at: { headGeneration: number; nowMs: number; attempt: number }) => Promise<HeadCommit>,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const ctx = await deps.meta.getContext(target.tenantId, target.contextId);
    if (!ctx) throw new ContextNotFoundError(target.contextId);
    const nowMs = deps.clock.now();
    const { changes, base } = await plan({ headGeneration: ctx.headGeneration, nowMs, attempt });
    if (changes.length === 0 && !base) return ctx.headGeneration;
    try {
      return await deps.meta.commitGeneration({
        contextId: target.contextId,
        expectedHead: ctx.headGeneration,
        sessionId: target.sessionId,
        timeMs: nowMs,
        changes,
        ...(base ? { base } : {}),
      });
    } catch (err) {
      if (!(err instanceof CommitConflictError)) throw err;
      if (attempt >= MAX_COMMIT_ATTEMPTS) throw new CommitConflictError(target.contextId, attempt);
    }
  }
}
