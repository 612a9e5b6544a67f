import type { Command } from "commander";
import { CtxSync, type CtxSyncOptions } from "../sdk/index.js";

/** The client for a command, on the store named by the global `--home` option, with any `extra` options. */
export function openClient(cmd: Command, extra: Omit<CtxSyncOptions, "home"> = {}): CtxSync {
  const { home } = cmd.optsWithGlobals<{ home?: string }>();
  return new CtxSync(home ? { ...extra, home } : extra);
}

/** Throws the result's error when it failed, so the CLI prints it and exits 1. */
export function check<T extends { success: boolean; errorMessage?: string }>(result: T): T {
  if (!result.success) throw new Error(result.errorMessage ?? "the operation failed");
  return result;
}
