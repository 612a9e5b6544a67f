import { randomBytes } from "node:crypto";

/** Prefix of the temp files a download writes before renaming them into place. */
export const DOWNLOAD_TEMP_PREFIX = ".ctxsync-tmp-";

/** A fresh temp file name for a download, unique enough to never collide within one folder. */
export function downloadTempName(): string {
  return `${DOWNLOAD_TEMP_PREFIX}${randomBytes(6).toString("hex")}`;
}
