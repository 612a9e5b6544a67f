/**
 * The seed's string enums for upload and download, as `const` objects so each value is a plain string on the
 * wire. Members carry the seed's names (`UploadMode.FILE`) and AgentBay's TypeScript names (`UploadMode.File`);
 * both spell the same value.
 */

/** When an automatic upload happens. The only strategy: before the session's resources are released. */
export const UploadStrategy = {
  UPLOAD_BEFORE_RESOURCE_RELEASE: "UploadBeforeResourceRelease",
  UploadBeforeResourceRelease: "UploadBeforeResourceRelease",
} as const;
/** A value of UploadStrategy: `"UploadBeforeResourceRelease"`. */
export type UploadStrategy = (typeof UploadStrategy)[keyof typeof UploadStrategy];
/** Every valid UploadStrategy, in the order error messages list them. */
export const UPLOAD_STRATEGIES: readonly UploadStrategy[] = [UploadStrategy.UPLOAD_BEFORE_RESOURCE_RELEASE];

/** How an automatic download runs. The only strategy: in the background, started with the session. */
export const DownloadStrategy = {
  DOWNLOAD_ASYNC: "DownloadAsync",
  DownloadAsync: "DownloadAsync",
} as const;
/** A value of DownloadStrategy: `"DownloadAsync"`. */
export type DownloadStrategy = (typeof DownloadStrategy)[keyof typeof DownloadStrategy];
/** Every valid DownloadStrategy, in the order error messages list them. */
export const DOWNLOAD_STRATEGIES: readonly DownloadStrategy[] = [DownloadStrategy.DOWNLOAD_ASYNC];

/** How an upload stores a mount: one object per file, or one `.tar.gz` archive of the whole mount. */
export const UploadMode = {
  FILE: "File",
  ARCHIVE: "Archive",
  File: "File",
  Archive: "Archive",
} as const;
/** A value of UploadMode: `"File"` or `"Archive"`. */
export type UploadMode = (typeof UploadMode)[keyof typeof UploadMode];
/** Every valid UploadMode, in the order the reference's error message lists them. */
export const UPLOAD_MODES: readonly UploadMode[] = [UploadMode.FILE, UploadMode.ARCHIVE];

/** True when `value` is one of UPLOAD_MODES. */
export function isUploadMode(value: unknown): value is UploadMode {
  return (UPLOAD_MODES as readonly unknown[]).includes(value);
}

/** True when `value` is one of UPLOAD_STRATEGIES. */
export function isUploadStrategy(value: unknown): value is UploadStrategy {
  return (UPLOAD_STRATEGIES as readonly unknown[]).includes(value);
}

/** True when `value` is one of DOWNLOAD_STRATEGIES. */
export function isDownloadStrategy(value: unknown): value is DownloadStrategy {
  return (DOWNLOAD_STRATEGIES as readonly unknown[]).includes(value);
}
