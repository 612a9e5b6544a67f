import { ApiClient, type AgentLog } from "../agent/index.js";
import type { GcStats } from "../service/index.js";
import type { SdkBackend } from "./backend.js";
import { NotSupportedError } from "../errors/index.js";
import { RemoteContexts } from "./remote-contexts.js";
import { RemoteSessions } from "./remote-sessions.js";

export interface RemoteBackendOptions {
  endpoint: string;
  apiKey: string;
  /** Where in-process agents log; default: warnings and errors to stderr. */
  agentLog?: AgentLog;
}

/**
 * The SDK over a ctxsync server's HTTP API, authenticated with an API key. The key is held by the
 * ApiClient only, which prints itself redacted.
 */
export class RemoteBackend implements SdkBackend {
  readonly kind = "remote";
  readonly contexts: RemoteContexts;
  readonly sessions: RemoteSessions;

  constructor(opts: RemoteBackendOptions) {
    const api = new ApiClient(opts.endpoint, opts.apiKey);
    this.contexts = new RemoteContexts(api);
    this.sessions = new RemoteSessions(api, opts.endpoint, opts.agentLog ?? defaultAgentLog);
  }

  async ready(): Promise<void> {}

  async gc(): Promise<GcStats> {
    throw new NotSupportedError("gc() runs on the server, which collects garbage on its schedule; run `ctxsync gc` where the server's store is.");
  }

  /** Stops this process's agents; the server keeps the sessions (they become lost once their agent is silent). */
  async close(): Promise<void> {
    await this.sessions.close();
  }
}

const defaultAgentLog: AgentLog = (level, message) => {
  if (level === "warn" || level === "error") console.warn(`ctxsync agent: ${message}`);
};
