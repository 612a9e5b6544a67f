/**
 * Size limits every client and the server apply alike, so a request the embedded client takes is one a
 * server takes too. They bound what one call can make a store hold or a server parse.
 */

/** Longest session path or context key, in characters (Linux's PATH_MAX). */
export const MAX_KEY_LENGTH = 4096;
/** Most contexts one create() or bind() mounts. */
export const MAX_MOUNTS = 64;
/** Longest label name and value on a session, in characters. */
export const MAX_LABEL_KEY_LENGTH = 128;
export const MAX_LABEL_VALUE_LENGTH = 1024;
