#!/usr/bin/env node
/**
 * cli — `ctxsync`: the server (`serve`, `keys`), the in-sandbox agent (`agent`), and context, file,
 * history and `exec` commands on the embedded store or, with `--endpoint`, on a server. Failures print
 * the error and exit 1.
 */
import { Command } from "commander";
import { buildAgentCommand } from "./agent-command.js";
import { buildContextCommands } from "./context-commands.js";
import { buildExecCommand } from "./exec-command.js";
import { buildHistoryCommands } from "./history-commands.js";
import { buildKeysCommand } from "./keys-command.js";
import { buildServeCommand } from "./serve-command.js";

const program = new Command()
  .name("ctxsync")
  .description("Keep sandbox working state (contexts) in a store and sync it into sessions.")
  .option("--home <dir>", "embedded store directory (default: $CTXSYNC_HOME or ~/.ctxsync)")
  .option("--endpoint <url>", "work on this ctxsync server instead (default: $CTXSYNC_ENDPOINT unless --home is given)")
  .option("--api-key <key>", "API key for --endpoint (default: $CTXSYNC_API_KEY)")
  .showHelpAfterError();

// A reader that stops early (`ctxsync files big | head`) closes the pipe: the output is no longer wanted.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(process.exitCode ?? 0);
});

buildServeCommand(program);
buildKeysCommand(program);
buildAgentCommand(program);
buildContextCommands(program);
buildExecCommand(program);
buildHistoryCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  console.error(`ctxsync: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
