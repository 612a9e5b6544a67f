import path from "node:path";
import { afterEach, beforeEach } from "vitest";
import { ContextSync, CtxSync, type Session, type SyncPolicyInput } from "../../src/sdk/index.js";
import { tempDir } from "./tree.js";

/** A client on a fresh embedded store, plus helpers to make sessions with their own roots. */
export interface Harness {
  dir: string;
  client: CtxSync;
  /** A new context with a unique name; returns its id. */
  newContext(name?: string): Promise<string>;
  /** Creates a session rooted at `<dir>/<rootName>` mounting `contextId` at `mountPath`; throws on failure. */
  session(rootName: string, mounts: [contextId: string, mountPath: string, policy?: SyncPolicyInput][]): Promise<Session>;
  /** Local directory of a session path under a root: `local("a", "/home/u")` → `<dir>/a/home/u`. */
  local(rootName: string, sessionPath: string): string;
}

/** Registers beforeEach/afterEach that give each test a fresh Harness. */
export function useHarness(): () => Harness {
  let h: Harness | undefined;
  let cleanup = () => {};
  let n = 0;
  beforeEach(() => {
    const t = tempDir();
    cleanup = t.cleanup;
    const client = new CtxSync({ home: path.join(t.dir, "store") });
    h = {
      dir: t.dir,
      client,
      async newContext(name) {
        const r = await client.context.create(name ?? `ctx-${++n}`);
        if (!r.success) throw new Error(r.errorMessage);
        return r.contextId;
      },
      async session(rootName, mounts) {
        const r = await client.create({
          root: path.join(t.dir, rootName),
          contextSync: mounts.map(([id, p, policy]) => ContextSync.new(id, p, policy)),
        });
        if (!r.session) throw new Error(r.errorMessage);
        return r.session;
      },
      local: (rootName, sessionPath) => path.join(t.dir, rootName, sessionPath),
    };
  });
  afterEach(async () => {
    await h?.client.close();
    cleanup();
  });
  return () => h!;
}
