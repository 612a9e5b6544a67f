import { Transform } from "node:stream";
import { ExtractRejectedError } from "../../errors/index.js";
import { EXPANSION_RATIO_FLOOR_BYTES, type ExtractLimits } from "./extract-limits.js";

/**
 * Counts what one extraction produces against its limits and throws ExtractRejectedError the moment one is
 * passed: entries as they are read, bytes as they come out of the inflater. Sizes declared in headers may
 * reject an entry early but never admit one, so a header that lies changes nothing.
 */
export class ExtractBudget {
  private bytes = 0;
  private entries = 0;
  /** The entry being read, named in errors; null before the first. */
  private current: string | null = null;

  constructor(
    private readonly archive: string,
    private readonly limits: ExtractLimits,
    private readonly archiveBytes: number,
  ) {}

  /** The entry being read, or null before the first. */
  get entry(): string | null {
    return this.current;
  }

  /** Counts one more entry and makes it the one errors name. */
  addEntry(name: string): void {
    this.current = name;
    this.entries++;
    if (this.entries > this.limits.maxEntries) {
      this.reject(`is entry number ${this.entries}, past the limit of ${this.limits.maxEntries} entries (maxEntries)`);
    }
  }

  /** Rejects up front an archive whose directory already lists more entries than allowed (zip). */
  expectEntries(count: number): void {
    if (count > this.limits.maxEntries) {
      this.reject(`it lists ${count} entries, past the limit of ${this.limits.maxEntries} (maxEntries)`);
    }
  }

  /** Rejects the current entry when its declared size alone would break a limit. */
  expect(sizeBytes: number): void {
    this.check(this.bytes + sizeBytes);
  }

  /** Counts inflated bytes. */
  addBytes(n: number): void {
    this.bytes += n;
    this.check(this.bytes);
  }

  /** A pass-through stream that counts what flows through it; it fails with the rejection. */
  counter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        try {
          this.addBytes(chunk.length);
        } catch (err) {
          done(err as Error);
          return;
        }
        done(null, chunk);
      },
    });
  }

  /** Throws ExtractRejectedError naming the current entry. */
  reject(reason: string, cause?: unknown): never {
    throw new ExtractRejectedError(this.archive, reason, this.current, cause === undefined ? undefined : { cause });
  }

  private check(total: number): void {
    const { maxTotalBytes, maxExpansionRatio } = this.limits;
    if (total > maxTotalBytes) {
      this.reject(`takes the archive past ${formatBytes(maxTotalBytes)} unpacked (maxTotalBytes); raise the limit only if you trust the archive`);
    }
    if (total > EXPANSION_RATIO_FLOOR_BYTES && total > maxExpansionRatio * Math.max(this.archiveBytes, 1)) {
      this.reject(
        `takes the archive past ${maxExpansionRatio} times its packed size of ${formatBytes(this.archiveBytes)} (maxExpansionRatio); it looks like an archive bomb`,
      );
    }
  }
}

/** `1536` → `1.5 KiB`, `10737418240` → `10 GiB`. */
function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(1))} ${units[unit]}`;
}
