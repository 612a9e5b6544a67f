import type { Command } from "commander";
import { CtxSync, type CtxSyncOptions } from "../sdk/index.js";

/** Global options every client command reads. */
interface ClientFlags {
  home?: string;
  endpoint?: string;
  apiKey?: string;
}

/**
 * The client for a command: a server's when `--endpoint` (or $CTXSYNC_ENDPOINT, unless `--home` names an
 * embedded store) is given, with `--api-key` or $CTXSYNC_API_KEY; else the embedded store of `--home`,
 * $CTXSYNC_HOME or ~/.ctxsync. `extra` options apply to either.
 */
export function openClient(cmd: Command, extra: Omit<CtxSyncOptions, "home" | "endpoint" | "apiKey"> = {}): CtxSync {
  const { home, endpoint: flag, apiKey } = cmd.optsWithGlobals<ClientFlags>();
  const endpoint = flag ?? (home ? undefined : process.env.CTXSYNC_ENDPOINT || undefined);
  if (endpoint !== undefined) {
    const key = apiKey ?? process.env.CTXSYNC_API_KEY;
    if (!key) throw new Error(`--endpoint needs an API key: pass --api-key or set CTXSYNC_API_KEY`);
    return new CtxSync({ ...extra, endpoint, apiKey: key });
  }
  return new CtxSync(home ? { ...extra, home } : extra);
}

/** Throws the result's error when it failed, so the CLI prints it and exits 1. */
export function check<T extends { success: boolean; errorMessage?: string }>(result: T): T {
  if (!result.success) throw new Error(result.errorMessage ?? "the operation failed");
  return result;
}
