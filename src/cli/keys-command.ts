import fs from "node:fs";
import type { Command } from "commander";
import { ApiClient } from "../agent/index.js";
import { ApiKeyList, apiPaths, CreatedApiKey } from "../api/index.js";
import { systemClock } from "../engine/index.js";
import { CtxSyncError } from "../errors/index.js";
import { ApiKeyService, defaultHome, describeMetaStore, openMetaStore, sqliteFileOf, storeConfigFromEnv, type ApiKeyInfo, type CreatedApiKey as CreatedKey } from "../service/index.js";

interface Target {
  data?: string;
  pgUrl?: string;
  endpoint?: string;
  apiKey?: string;
}

/** What `keys` does, on a data directory or through the admin API. */
interface KeyAdmin {
  create(tenant: string, isAdmin: boolean): Promise<CreatedKey>;
  list(): Promise<ApiKeyInfo[]>;
  revoke(id: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * `ctxsync keys create|list|revoke`: API keys of the server's tenants, managed one of two ways.
 * - On the server's metadata store directly: PostgreSQL (`--pg-url` or $CTXSYNC_PG_URL, as `serve` takes
 *   it), else SQLite in the data directory (`--data`, else the global `--home`, $CTXSYNC_HOME,
 *   ~/.ctxsync). Which store is named on stderr; a running server sees the change at once.
 * - Through a server's admin API: `--endpoint URL --api-key ADMIN_KEY`, or CTXSYNC_ENDPOINT and
 *   CTXSYNC_API_KEY (unless a store is named).
 * `create` prints the secret alone on stdout, once; only its hash is stored.
 */
export function buildKeysCommand(program: Command): void {
  const keys = program
    .command("keys")
    .description("manage the API keys of a ctxsync server")
    .option("--data <dir>", "work on this data directory (default: --home, $CTXSYNC_HOME or ~/.ctxsync)")
    .option("--pg-url <url>", "work on this PostgreSQL database, as `serve --pg-url` (default: $CTXSYNC_PG_URL)")
    // Shown here for the help; `ctxsync --endpoint/--api-key` (global) take the values, read with the globals.
    .option("--endpoint <url>", "work through this server's admin API instead (default: $CTXSYNC_ENDPOINT)")
    .option("--api-key <key>", "admin API key for --endpoint (default: $CTXSYNC_API_KEY)");

  keys
    .command("create")
    .description("create an API key for a tenant; prints the secret once")
    .requiredOption("--tenant <name>", "tenant the key belongs to (created when new)")
    .option("--admin", "the key may also manage keys (the /v1/admin routes)")
    .action(async (opts: { tenant: string; admin?: boolean }, cmd: Command) => {
      // A data directory no server used yet is fine: keys made now work from its first start.
      await withAdmin(cmd, { mustExist: false }, async (admin) => {
        const k = await admin.create(opts.tenant, opts.admin === true);
        console.error(`Created key ${k.id} for tenant ${k.tenant}${k.isAdmin ? " (admin)" : ""}. The secret below is shown only this once.`);
        console.log(k.secret);
      });
    });

  keys
    .command("list")
    .description("list API keys: id, tenant, admin, created, status (never secrets)")
    .action(async (_opts: unknown, cmd: Command) => {
      await withAdmin(cmd, { mustExist: true }, async (admin) => {
        for (const k of await admin.list()) {
          const status = k.revokedAtMs === null ? "active" : `revoked ${new Date(k.revokedAtMs).toISOString()}`;
          console.log(`${k.id}\t${k.tenant}\t${k.isAdmin ? "admin" : "-"}\t${new Date(k.createdAtMs).toISOString()}\t${status}`);
        }
      });
    });

  keys
    .command("revoke <id>")
    .description("revoke an API key; it authenticates nothing from now on")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await withAdmin(cmd, { mustExist: true }, (admin) => admin.revoke(id));
    });
}

async function withAdmin(cmd: Command, store: { mustExist: boolean }, fn: (admin: KeyAdmin) => Promise<void>): Promise<void> {
  const opts = cmd.optsWithGlobals<Target & { home?: string }>();
  // Naming a store (--data, --home, --pg-url) means that store, even with CTXSYNC_ENDPOINT set.
  const direct = opts.data !== undefined || opts.home !== undefined || opts.pgUrl !== undefined;
  const endpoint = direct ? undefined : (opts.endpoint ?? process.env.CTXSYNC_ENDPOINT);
  let admin: KeyAdmin | undefined;
  try {
    admin = endpoint
      ? remoteAdmin(endpoint, opts.apiKey ?? process.env.CTXSYNC_API_KEY)
      : await localAdmin(opts.data ?? opts.home ?? defaultHome(), opts.pgUrl, store.mustExist);
    await fn(admin);
  } catch (err) {
    // Same form as the SDK's errorMessage, so scripts can match the code.
    if (err instanceof CtxSyncError) throw new Error(`[${err.code}] ${err.message}`, { cause: err });
    throw err;
  } finally {
    await admin?.close();
  }
}

async function localAdmin(dir: string, pgUrl: string | undefined, mustExist: boolean): Promise<KeyAdmin> {
  // The server's metadata store, chosen as `serve` chooses it: --pg-url, CTXSYNC_PG_URL, else SQLite in `dir`.
  const config = storeConfigFromEnv(dir);
  if (pgUrl !== undefined) config.postgresUrl = pgUrl;
  console.error(`ctxsync keys: on ${describeMetaStore(config)}`);
  // Listing or revoking on a store that is not there is a mistyped path: say so instead of making one.
  if (mustExist && !config.postgresUrl && !fs.existsSync(sqliteFileOf(config))) {
    throw new Error(`there is no ctxsync store at ${sqliteFileOf(config)}; check --data or --home (a server makes its store on its first start)`);
  }
  const meta = await openMetaStore(config);
  const svc = new ApiKeyService(meta, systemClock);
  return {
    create: (tenant, isAdmin) => svc.create(tenant, { isAdmin }),
    list: () => svc.list(),
    revoke: (id) => svc.revoke(id),
    close: () => meta.close(),
  };
}

function remoteAdmin(endpoint: string, apiKey: string | undefined): KeyAdmin {
  if (!apiKey) throw new Error("--endpoint needs an admin key: pass --api-key or set CTXSYNC_API_KEY");
  const api = new ApiClient(endpoint, apiKey);
  const info = (k: { id: string; tenant: string; admin: boolean; createdAt: string; revokedAt: string | null }): ApiKeyInfo => ({
    id: k.id,
    tenant: k.tenant,
    isAdmin: k.admin,
    createdAtMs: Date.parse(k.createdAt),
    revokedAtMs: k.revokedAt === null ? null : Date.parse(k.revokedAt),
  });
  return {
    async create(tenant, isAdmin) {
      const k = CreatedApiKey.parse(await api.json("POST", apiPaths.adminKeys, { json: { tenant, admin: isAdmin } }));
      return { ...info(k), secret: k.key };
    },
    async list() {
      return ApiKeyList.parse(await api.json("GET", apiPaths.adminKeys)).keys.map(info);
    },
    async revoke(id) {
      await api.json("DELETE", apiPaths.adminKey(id));
    },
    close: async () => undefined,
  };
}
