import { InvalidParameterError } from "../../errors/index.js";
import { isDigest, type Digest } from "../blob-store.js";

/**
 * Where an S3BlobStore keeps its blobs in the bucket: `<prefix>blobs/<first two hex>/<digest>`
 * (prefix `ctxsync/`, digest `ab12…` → `ctxsync/blobs/ab/ab12…`). S3 scales its request rate per key
 * prefix, and the 256 shard prefixes let it spread a busy store; they also mirror local-dir's layout.
 */
export class S3KeyLayout {
  /** The prefix every blob key starts with, and what `list()` lists. */
  readonly blobsPrefix: string;

  constructor(readonly prefix: string) {
    this.blobsPrefix = `${prefix}blobs/`;
  }

  /** The key of a blob; refuses anything but a Digest, so no caller can name another key. */
  blobKey(digest: Digest): string {
    // Same refusal, word for word, as local-dir's: callers see one error whatever the store.
    if (!isDigest(digest)) throw new InvalidParameterError(`Invalid blob digest ${JSON.stringify(digest)}: expected 64 lower-case hex characters.`);
    return `${this.blobsPrefix}${digest.slice(0, 2)}/${digest}`;
  }

  /** The digest a listed key stores, or undefined for a key that is not a blob key of this layout. */
  digestOf(key: string): Digest | undefined {
    if (!key.startsWith(this.blobsPrefix)) return undefined;
    const rest = key.slice(this.blobsPrefix.length); // "ab/ab12…"
    const digest = rest.slice(3);
    return rest.length === 67 && rest[2] === "/" && isDigest(digest) && rest.startsWith(digest.slice(0, 2)) ? digest : undefined;
  }
}
