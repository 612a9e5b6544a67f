import type { AgentService, Principal } from "../service/index.js";

/** What middleware leaves on a request's context for the handlers. */
export interface ServerEnv {
  Variables: {
    requestId: string;
    /** Set on API-key routes: who is calling. */
    principal: Principal;
    /** Set on /v1/agent routes: the session the token belongs to. */
    agent: AgentService;
  };
}
