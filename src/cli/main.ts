#!/usr/bin/env node
/**
 * cli — `ctxsync`, the command line over the SDK (embedded store for now).
 * Commands print JSON-free, human-readable lines; failures print the error and exit 1.
 */
import { Command } from "commander";
import { buildContextCommands } from "./context-commands.js";
import { buildExecCommand } from "./exec-command.js";
import { buildHistoryCommands } from "./history-commands.js";

const program = new Command()
  .name("ctxsync")
  .description("Keep sandbox working state (contexts) in a store and sync it into sessions.")
  .option("--home <dir>", "embedded store directory (default: $CTXSYNC_HOME or ~/.ctxsync)")
  .showHelpAfterError();

buildContextCommands(program);
buildExecCommand(program);
buildHistoryCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  console.error(`ctxsync: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
