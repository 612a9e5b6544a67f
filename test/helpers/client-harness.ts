import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterEach, beforeEach } from "vitest";
import { CtxSync } from "../../src/sdk/index.js";
import { createServer, type RunningServer } from "../../src/server/index.js";
import type { Harness } from "./harness.js";
import { harnessFor } from "./harness-for.js";
import { tempDir } from "./tree.js";

/** The two clients every scenario runs on: one suite, two implementations. */
export type ClientKind = "embedded" | "remote";
export const CLIENT_KINDS: readonly ClientKind[] = ["embedded", "remote"];

export interface ClientHarness extends Harness {
  kind: ClientKind;
  /** Remote: the server (on 127.0.0.1, its own store in `<dir>/server`); embedded: undefined. */
  server: RunningServer | undefined;
  /** Remote: the API key the client uses. */
  apiKey: string;
}

/**
 * Registers beforeEach/afterEach giving each test a fresh client of `kind`: embedded on a store in a temp
 * dir, or remote on a real server listening on 127.0.0.1 (port 0) with a store of its own, whose sessions'
 * agents run in the test process. Same helpers as useHarness.
 */
export function useClientHarness(kind: ClientKind): () => ClientHarness {
  let h: ClientHarness | undefined;
  let cleanup = () => {};
  beforeEach(async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    let server: RunningServer | undefined;
    let client: CtxSync;
    const apiKey = randomBytes(32).toString("base64url");
    if (kind === "remote") {
      server = await createServer({
        dataDir: path.join(t.dir, "server"),
        port: 0,
        env: { CTXSYNC_ADMIN_KEY: apiKey },
        print: () => undefined,
        log: { info: () => undefined, error: (m, err) => console.error(`server: ${m}`, err) },
      });
      client = new CtxSync({ endpoint: server.url, apiKey, agentLog: quietAgentLog });
    } else {
      client = new CtxSync({ home: path.join(t.dir, "store") });
    }
    h = { kind, server, apiKey, ...harnessFor(t.dir, client) };
  });
  afterEach(async () => {
    await h?.client.close();
    await h?.server?.stop();
    cleanup();
  });
  return () => h!;
}

/** Agent warnings that a test provokes on purpose (a released session's last poll) would be noise. */
function quietAgentLog(level: string, message: string): void {
  if (level === "error") console.error(`agent: ${message}`);
}
