export type AgentLogLevel = "debug" | "info" | "warn" | "error";

/**
 * Where an agent says what it does. Messages never contain the session token or a signed URL: they name
 * the server by its origin and tasks by id, type and mount path.
 */
export type AgentLog = (level: AgentLogLevel, message: string) => void;
