/** Progress of one task: files and bytes done out of totals. */
export interface Progress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export type ProgressFn = (p: Progress) => void;

/** Reports at most this often, so progress on ten thousand small files is not ten thousand DB writes. */
const REPORT_INTERVAL_MS = 200;

/** Accumulates progress and forwards it to a callback, throttled; `finish()` always reports the final state. */
export class ProgressMeter {
  private readonly state: Progress;
  private lastReport = 0;

  constructor(
    private readonly onProgress: ProgressFn | undefined,
    totals: { filesTotal: number; bytesTotal: number },
  ) {
    this.state = { filesDone: 0, bytesDone: 0, ...totals };
  }

  addBytes(n: number): void {
    this.state.bytesDone += n;
    this.maybeReport();
  }

  addFiles(n: number): void {
    this.state.filesDone += n;
    this.maybeReport();
  }

  finish(): void {
    this.onProgress?.({ ...this.state });
  }

  private maybeReport(): void {
    if (!this.onProgress) return;
    const now = Date.now();
    if (now - this.lastReport < REPORT_INTERVAL_MS) return;
    this.lastReport = now;
    this.onProgress({ ...this.state });
  }
}
