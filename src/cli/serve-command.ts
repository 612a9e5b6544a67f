import type { Command } from "commander";
import { createServer } from "../server/index.js";
import { defaultHome, parseBoolean, storeConfigFromEnv } from "../service/index.js";
import { positiveOption } from "./number-options.js";

/**
 * `ctxsync serve`: the HTTP API on 127.0.0.1:8787 by default, over the embedded store in `--data` (or the
 * global `--home`, $CTXSYNC_HOME, ~/.ctxsync), or over PostgreSQL and/or an S3-compatible bucket
 * (`--pg-url`, `--s3-bucket` … or their CTXSYNC_ variables; see storeConfigFromEnv). The first start on an empty store prints an admin API key
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
    .option("--pg-url <url>", "metadata in this PostgreSQL database (default: $CTXSYNC_PG_URL; prefer the variable: a command line is visible to every user)")
    .option("--s3-bucket <name>", "blobs in this S3-compatible bucket (default: $CTXSYNC_S3_BUCKET; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    .option("--s3-prefix <prefix>", "key prefix in the bucket (default: $CTXSYNC_S3_PREFIX, none)")
    .option("--s3-endpoint <url>", "endpoint of a non-AWS store: MinIO, OSS, R2, Ceph (default: $CTXSYNC_S3_ENDPOINT)")
    .option("--s3-region <region>", "region (default: $CTXSYNC_S3_REGION, else the AWS SDK's: $AWS_REGION, the profile)")
    .option("--s3-path-style <bool>", "bucket in the URL path, not the host name (default: $CTXSYNC_S3_PATH_STYLE, true with an endpoint)")
    .option("--public-url <url>", "origin to put in signed URLs, e.g. https://ctxsync.example.com (default: the request's)")
    .option("--max-file-mb <n>", "largest file a signed PUT URL or an agent blob upload takes, in MiB (default 5120)")
    .option("--heartbeat-timeout-seconds <n>", "an agent silent this long loses its session (default 30)")
    .option("--agent-start-timeout-seconds <n>", "a session whose agent never calls in is lost after this long (default 120)")
    .option("--gc-interval-minutes <n>", "how often garbage collection runs (default 60)")
    .action(async (opts: ServeFlags, cmd: Command) => {
      const { home } = cmd.optsWithGlobals<{ home?: string }>();
      const options: NonNullable<Parameters<typeof createServer>[0]>["options"] = {};
      if (opts.publicUrl !== undefined) options.publicUrl = opts.publicUrl;
      if (opts.maxFileMb !== undefined) options.maxFileBytes = positiveOption(opts.maxFileMb, "--max-file-mb") * 1024 * 1024;
      if (opts.gcIntervalMinutes !== undefined) options.gcIntervalMs = positiveOption(opts.gcIntervalMinutes, "--gc-interval-minutes") * 60_000;
      const external: NonNullable<typeof options.external> = {};
      if (opts.heartbeatTimeoutSeconds !== undefined) external.heartbeatTimeoutMs = positiveOption(opts.heartbeatTimeoutSeconds, "--heartbeat-timeout-seconds") * 1000;
      if (opts.agentStartTimeoutSeconds !== undefined) external.agentStartTimeoutMs = positiveOption(opts.agentStartTimeoutSeconds, "--agent-start-timeout-seconds") * 1000;
      options.external = external;
      // Digits only: Number() would take "" (an unset $PORT) as 0, any free port, and "0x1F90" or "1e3" too.
      const port = /^\d{1,5}$/.test(opts.port) ? Number(opts.port) : -1;
      if (port < 0 || port > 65535) throw new Error(`--port must be a port number from 0 to 65535; got ${JSON.stringify(opts.port)}`);
      const dataDir = opts.data ?? home ?? defaultHome();
      const stores = storeConfigFromEnv(dataDir);
      if (opts.pgUrl !== undefined) stores.postgresUrl = opts.pgUrl;
      if (opts.s3Bucket !== undefined) stores.s3 = { ...stores.s3, bucket: opts.s3Bucket };
      const s3Flags = [["s3Prefix", "prefix", "--s3-prefix"], ["s3Endpoint", "endpoint", "--s3-endpoint"], ["s3Region", "region", "--s3-region"]] as const;
      for (const [flag, field, name] of s3Flags) {
        const value = opts[flag];
        if (value === undefined) continue;
        if (!stores.s3) throw new Error(`${name} needs a bucket: pass --s3-bucket or set CTXSYNC_S3_BUCKET`);
        stores.s3[field] = value;
      }
      if (opts.s3PathStyle !== undefined) {
        if (!stores.s3) throw new Error("--s3-path-style needs a bucket: pass --s3-bucket or set CTXSYNC_S3_BUCKET");
        stores.s3.forcePathStyle = parseBoolean(opts.s3PathStyle, "--s3-path-style");
      }
      const server = await createServer({ host: opts.host, port, dataDir, postgresUrl: stores.postgresUrl, s3: stores.s3, options });
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
  pgUrl?: string;
  s3Bucket?: string;
  s3Prefix?: string;
  s3Endpoint?: string;
  s3Region?: string;
  s3PathStyle?: string;
  publicUrl?: string;
  maxFileMb?: string;
  heartbeatTimeoutSeconds?: string;
  agentStartTimeoutSeconds?: string;
  gcIntervalMinutes?: string;
}
