/**
 * Decides, batch by batch, how an upload's small files travel. A probe batch is hashed here and the
 * server is asked which of its blobs it lacks, so content it has is not sent again; an unnamed batch is
 * sent as it is and the server names each blob by its hash. Probing costs a hash on each side and a
 * round trip per batch, and pays only when the server has many of the files already and this session
 * may name them (files touched but not changed, content its scope references); an upload of new content
 * is faster unnamed (about a tenth off a 10,000-file upload on loopback, measured).
 *
 * So: the batches begun before the first probe answers are probes, then every PROBE_EVERY-th; while
 * the latest probe found at least DUPLICATE_SHARE of its files stored, every batch is one. Probes between unnamed batches hold at most
 * PROBE_FILES files, so little is hashed twice when the content is new. Without a server that takes
 * unnamed blobs (AGENT_FEATURES.unnamedBlobs), every batch is a probe, as before there were any.
 * The same judgement (looksNew) decides whether the upload's large files go unnamed.
 */
export class DedupProbe {
  private started = 0;
  /** Share of its files the latest probe answered found stored; undefined until one answers. */
  private foundShare: number | undefined;

  constructor(private readonly unnamedAllowed: boolean) {}

  /** How the next batch goes: named (a probe) or not, and the most files it may hold (or Infinity). */
  next(): { named: boolean; maxFiles: number } {
    const n = this.started++;
    if (!this.unnamedAllowed) return { named: true, maxFiles: Infinity };
    // Until the first probe answers nothing is known: probe, but small.
    if (this.foundShare === undefined) return { named: true, maxFiles: PROBE_FILES };
    if (this.foundShare >= DUPLICATE_SHARE) return { named: true, maxFiles: Infinity };
    return n % PROBE_EVERY === 0 ? { named: true, maxFiles: PROBE_FILES } : { named: false, maxFiles: Infinity };
  }

  /**
   * True when unnamed sending is allowed and the latest probe found under DUPLICATE_SHARE of its files
   * stored: the content looks new. False until a probe answers.
   */
  looksNew(): boolean {
    return this.unnamedAllowed && this.foundShare !== undefined && this.foundShare < DUPLICATE_SHARE;
  }

  /** A probe's answer: `found` of its `of` distinct blobs were stored already. */
  answered(found: number, of: number): void {
    if (of > 0) this.foundShare = found / of;
  }
}

/** Every how many batches a probe runs while the content looks new. */
export const PROBE_EVERY = 8;
/** Files in a probe while the content looks new: enough to judge, few to hash twice. */
export const PROBE_FILES = 64;
/** Share of a probe's files found stored from which every batch is probed. */
export const DUPLICATE_SHARE = 1 / 8;
