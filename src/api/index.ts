/**
 * api — the wire contract between the server and its clients (remote SDK, agent): paths, schemas and
 * the error-code → HTTP-status table. Depends only on zod and the error types; server, agent and sdk import it.
 */
export * from "./blob-frames.js";
export * from "./fast-body-checks.js";
export * from "./commit-wire.js";
export * from "./paths.js";
export * from "./schemas.js";
