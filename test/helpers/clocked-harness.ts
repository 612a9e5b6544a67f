import path from "node:path";
import { afterEach, beforeEach } from "vitest";
import { CtxSync, type CtxSyncOptions, type Session, type SyncPolicyInput } from "../../src/sdk/index.js";
import { LocalDirBlobStore, SqliteMetaStore } from "../../src/store/index.js";
import { FakeClock } from "./fake-clock.js";
import { harnessFor } from "./harness-for.js";
import { tempDir } from "./tree.js";

/** A client on a fresh embedded store whose time is a FakeClock, with views into the store for GC checks. */
export interface ClockedHarness {
  dir: string;
  clock: FakeClock;
  client: CtxSync;
  /** A new context with a unique name; returns its id. */
  newContext(name?: string): Promise<string>;
  /** Creates a session rooted at `<dir>/<rootName>` with the given mounts (initial downloads done); throws on failure. */
  session(rootName: string, mounts: [contextId: string, mountPath: string, policy?: SyncPolicyInput][]): Promise<Session>;
  /** Local directory of a session path under a root: `local("a", "/w")` → `<dir>/a/w`. */
  local(rootName: string, sessionPath: string): string;
  /** Digests of every blob in the store's blob directory. */
  storedDigests(): Promise<Set<string>>;
  /** Digests the metadata store references (what GC must keep). */
  referencedDigests(): Promise<Set<string>>;
  /** The store's blob directory, opened a second time (as another process would). */
  blobStore(): Promise<LocalDirBlobStore>;
}

/** Registers beforeEach/afterEach that give each test a fresh ClockedHarness; `options` go to CtxSync. */
export function useClockedHarness(options: Omit<CtxSyncOptions, "home" | "clock"> = {}): () => ClockedHarness {
  let h: ClockedHarness | undefined;
  let cleanup = () => {};
  beforeEach(() => {
    const t = tempDir();
    cleanup = t.cleanup;
    const home = path.join(t.dir, "store");
    const clock = new FakeClock();
    const client = new CtxSync({ ...options, home, clock });
    const blobStore = () => LocalDirBlobStore.open(path.join(home, "blobs"));
    h = {
      ...harnessFor(t.dir, client),
      clock,
      async storedDigests() {
        const out = new Set<string>();
        for await (const b of (await blobStore()).list()) out.add(b.digest);
        return out;
      },
      async referencedDigests() {
        const meta = SqliteMetaStore.open(path.join(home, "meta.db"));
        try {
          return await meta.listReferencedDigests();
        } finally {
          await meta.close();
        }
      },
      blobStore,
    };
  });
  afterEach(async () => {
    await h?.client.close();
    cleanup();
  });
  return () => h!;
}
