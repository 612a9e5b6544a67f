import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterEach, beforeEach } from "vitest";
import { CtxSync } from "../../src/sdk/index.js";
import { createServer, type RunningServer } from "../../src/server/index.js";
import type { Harness } from "./harness.js";
import { harnessFor } from "./harness-for.js";
import { useSharedStores } from "./shared-stores.js";
import { tempDir } from "./tree.js";

/**
 * The clients every scenario runs on: one suite, three backends. `remote` is a server on its embedded
 * store; `remote-pg-s3` a server on PostgreSQL and an S3 bucket, as replicas run.
 */
export type ClientKind = "embedded" | "remote" | "remote-pg-s3";
export const CLIENT_KINDS: readonly ClientKind[] = ["embedded", "remote", "remote-pg-s3"];

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
  let cleanup = async () => {};
  const shared = kind === "remote-pg-s3" ? useSharedStores() : undefined;
  beforeEach(async () => {
    const t = tempDir();
    let server: RunningServer | undefined;
    let client: CtxSync;
    const apiKey = randomBytes(32).toString("base64url");
    const stores = await shared?.fresh();
    cleanup = async () => {
      await stores?.drop();
      t.cleanup();
    };
    if (kind !== "embedded") {
      server = await createServer({
        dataDir: path.join(t.dir, "server"),
        postgresUrl: stores?.postgresUrl,
        s3: stores?.s3,
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
    await cleanup();
  });
  return () => h!;
}

/** Agent warnings that a test provokes on purpose (a released session's last poll) would be noise. */
function quietAgentLog(level: string, message: string): void {
  if (level === "error") console.error(`agent: ${message}`);
}
