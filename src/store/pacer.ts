import { setImmediate as yieldToEventLoop } from "node:timers/promises";

/** Files, and bytes, of synchronous work between two turns of the event loop. */
const YIELD_EVERY_FILES = 128;
const YIELD_EVERY_BYTES = 8 << 20;

/**
 * Paces a loop of synchronous file work (cheaper than a promise per small file): after every 128 files
 * or 8 MiB, `tick` gives the event loop a turn, so timers, heartbeats and other I/O keep flowing.
 */
export class Pacer {
  private files = 0;
  private bytes = 0;

  /** Counts one file of `sizeBytes`; resolves after a turn of the event loop when one is due. */
  async tick(sizeBytes: number): Promise<void> {
    this.files += 1;
    this.bytes += sizeBytes;
    if (this.files >= YIELD_EVERY_FILES || this.bytes >= YIELD_EVERY_BYTES) {
      this.files = 0;
      this.bytes = 0;
      await yieldToEventLoop();
    }
  }
}
