import type { Command } from "commander";
import { runAgent, type AgentLogLevel } from "../agent/index.js";

interface AgentCommandOptions {
  endpoint?: string;
  session: string;
  token?: string;
  root: string;
  verbose?: boolean;
}

/** Exit codes: the session ended normally (or the agent was asked to stop) vs. it did not. */
const EXIT_OK = 0;
const EXIT_FAILED = 1;

/**
 * `ctxsync agent --endpoint URL --session ID --token T [--root /]`: the agent of one session, run in the
 * session's sandbox. It moves the session's files between `root` and the server until the session is
 * released (exit 0), or is lost or refused (exit 1). SIGINT/SIGTERM stop it (exit 0); the server marks
 * the session lost once it stops calling in.
 * The token may come from $CTXSYNC_SESSION_TOKEN instead of --token, which keeps it out of `ps`.
 * Logs go to stderr and never show the token; stdout gets one line once the agent is connected.
 */
export function buildAgentCommand(program: Command): void {
  program
    .command("agent")
    .description("run the agent of a session inside its sandbox: sync its files with the server until it is released")
    // Not requiredOption: `ctxsync --endpoint` is also a global option (client commands), and Commander
    // gives the flag to the program, so the value is read with the globals below.
    .option("--endpoint <url>", "the ctxsync server, e.g. http://ctxsync.internal:8787 (default: $CTXSYNC_ENDPOINT)")
    .requiredOption("--session <id>", "the session's id (checked against the token)")
    .option("--token <token>", "the session token from session creation (default: $CTXSYNC_SESSION_TOKEN)")
    .option("--root <dir>", "local directory holding the session's filesystem", "/")
    .option("-v, --verbose", "also log each task as it is claimed, and progress reports that failed")
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<AgentCommandOptions>();
      const endpoint = opts.endpoint ?? (process.env.CTXSYNC_ENDPOINT || undefined);
      if (!endpoint) throw new Error("the server is needed: pass --endpoint URL (or set CTXSYNC_ENDPOINT), e.g. --endpoint http://ctxsync.internal:8787");
      const token = opts.token ?? process.env.CTXSYNC_SESSION_TOKEN;
      if (!token) throw new Error("a session token is needed: pass --token or set CTXSYNC_SESSION_TOKEN");
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      let mismatch: string | undefined;
      try {
        const exit = await runAgent({
          endpoint,
          sessionToken: token,
          root: opts.root,
          signal: controller.signal,
          onLog: (level, message) => log(level, message, opts.verbose === true),
          onReady: (session) => {
            if (session.sessionId !== opts.session) {
              mismatch = `the token belongs to session ${session.sessionId}, not ${opts.session}`;
              controller.abort();
              return;
            }
            console.log(`ctxsync agent: connected, session ${session.sessionId} (${session.status})`);
          },
        }).catch((err: unknown) => {
          // Stopped by a signal before it could attach: a stop as asked, not a failure.
          if (controller.signal.aborted && mismatch === undefined) return { reason: "aborted" as const };
          throw err;
        });
        if (mismatch) throw new Error(mismatch);
        process.exitCode = exit.reason === "released" || exit.reason === "aborted" ? EXIT_OK : EXIT_FAILED;
        if (exit.reason === "replaced") console.error("ctxsync agent: stopped, another agent attached to this session (one agent per session)");
        else if (process.exitCode !== EXIT_OK) console.error(`ctxsync agent: stopped, the session is ${exit.reason}`);
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });
}

function log(level: AgentLogLevel, message: string, verbose: boolean): void {
  if (!verbose && level === "debug") return;
  console.error(`${new Date().toISOString()} ${level} ${message}`);
}
