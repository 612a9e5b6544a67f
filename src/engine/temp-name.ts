import { uniqueName } from "../store/index.js";

/** Prefix of the temp files a download writes before renaming them into place. */
export const DOWNLOAD_TEMP_PREFIX = ".ctxsync-tmp-";

/** A fresh temp file name for a download, unique enough to never collide within one folder. */
export function downloadTempName(): string {
  return `${DOWNLOAD_TEMP_PREFIX}${uniqueName()}`;
}
