import type { Command } from "commander";
import { createServer } from "../server/index.js";

/**
 * `ctxsync serve`: the HTTP API on 127.0.0.1:8787 by default, over the embedded store in `--data` (or the
 * global `--home`, $CTXSYNC_HOME, ~/.ctxsync). The first start on an empty store prints an admin API key
 * once (or stores CTXSYNC_ADMIN_KEY). SIGTERM or SIGINT stops it gracefully: no new connections, in-flight
 * requests finish, then the store closes.
 */
export function buildServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run the ctxsync HTTP API (JSON under /v1, OpenAPI at /v1/openapi.json)")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on (0 = any free port)", "8787")
    .option("--data <dir>", "embedded store directory (default: --home, $CTXSYNC_HOME or ~/.ctxsync)")
    .option("--public-url <url>", "origin to put in signed URLs, e.g. https://ctxsync.example.com (default: the request's)")
    .option("--max-file-mb <n>", "largest file a signed PUT URL or an agent blob upload takes, in MiB (default 5120)")
    .option("--heartbeat-timeout-seconds <n>", "an agent silent this long loses its session (default 30)")
    .option("--agent-start-timeout-seconds <n>", "a session whose agent never calls in is lost after this long (default 120)")
    .option("--gc-interval-minutes <n>", "how often garbage collection runs (default 60)")
    .action(async (opts: ServeFlags, cmd: Command) => {
      const { home } = cmd.optsWithGlobals<{ home?: string }>();
      const options: NonNullable<Parameters<typeof createServer>[0]>["options"] = {};
      if (opts.publicUrl !== undefined) options.publicUrl = opts.publicUrl;
      if (opts.maxFileMb !== undefined) options.maxFileBytes = positive(opts.maxFileMb, "--max-file-mb") * 1024 * 1024;
      if (opts.gcIntervalMinutes !== undefined) options.gcIntervalMs = positive(opts.gcIntervalMinutes, "--gc-interval-minutes") * 60_000;
      const external: NonNullable<typeof options.external> = {};
      if (opts.heartbeatTimeoutSeconds !== undefined) external.heartbeatTimeoutMs = positive(opts.heartbeatTimeoutSeconds, "--heartbeat-timeout-seconds") * 1000;
      if (opts.agentStartTimeoutSeconds !== undefined) external.agentStartTimeoutMs = positive(opts.agentStartTimeoutSeconds, "--agent-start-timeout-seconds") * 1000;
      options.external = external;
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number from 0 to 65535; got ${opts.port}`);
      const server = await createServer({ host: opts.host, port, dataDir: opts.data ?? home, options });
      await new Promise<void>((resolve, reject) => {
        const onSignal = (signal: NodeJS.Signals) => {
          process.off("SIGTERM", onSignal);
          process.off("SIGINT", onSignal);
          console.error(`ctxsync: ${signal} received, stopping (in-flight requests finish first)`);
          server.stop().then(resolve, reject);
        };
        process.on("SIGTERM", onSignal);
        process.on("SIGINT", onSignal);
      });
    });
}

interface ServeFlags {
  host: string;
  port: string;
  data?: string;
  publicUrl?: string;
  maxFileMb?: string;
  heartbeatTimeoutSeconds?: string;
  agentStartTimeoutSeconds?: string;
  gcIntervalMinutes?: string;
}

function positive(text: string, option: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0) throw new Error(`${option} must be a positive number; got ${text}`);
  return n;
}
