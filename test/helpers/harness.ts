import type { CtxSync, Session, SyncPolicyInput } from "../../src/sdk/index.js";
import { useClientHarness } from "./client-harness.js";

/** A client on a fresh store, plus helpers to make sessions with their own roots. */
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

/** Registers beforeEach/afterEach that give each test a fresh Harness on the embedded client. */
export function useHarness(): () => Harness {
  return useClientHarness("embedded");
}
