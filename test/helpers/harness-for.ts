import path from "node:path";
import { ContextSync, type CtxSync, type Session } from "../../src/sdk/index.js";
import type { Harness } from "./harness.js";

/** The Harness helpers over a client whose sessions get roots under `dir`; every harness builds on it. */
export function harnessFor(dir: string, client: CtxSync): Harness {
  let n = 0;
  return {
    dir,
    client,
    async newContext(name) {
      const r = await client.context.create(name ?? `ctx-${++n}`);
      if (!r.success) throw new Error(r.errorMessage);
      return r.contextId;
    },
    async session(rootName, mounts) {
      const r = await client.create({
        root: path.join(dir, rootName),
        contextSync: mounts.map(([id, p, policy]) => ContextSync.new(id, p, policy)),
      });
      if (!r.session) throw new Error(r.errorMessage);
      return r.session as Session;
    },
    local: (rootName, sessionPath) => path.join(dir, rootName, sessionPath),
  };
}
