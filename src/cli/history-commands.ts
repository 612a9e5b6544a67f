import type { Command } from "commander";
import type { CtxSync, CtxSyncOptions } from "../sdk/index.js";
import { nonNegativeOption, wholeNumberOption } from "./number-options.js";
import { check, openClient } from "./open-client.js";

const HOUR_MS = 3_600_000;

/** `ctxsync log`, `ctxsync restore` and `ctxsync gc`: a context's history, and collecting garbage. */
export function buildHistoryCommands(program: Command): void {
  program
    .command("log <context>")
    .description("list the generations of a context, newest first")
    .option("--max <n>", "generations to list", "100")
    .action(async (name: string, opts: { max: string }, cmd: Command) => {
      await withClient(cmd, {}, async (client) => {
        const { contextId } = check(await client.context.get(name));
        for (const g of check(await client.context.log(contextId, wholeNumberOption(opts.max, "--max", 1, 1000))).generations) {
          console.log(`${g.generation}\t${g.time}\t+${g.added} ~${g.changed} -${g.removed}\t${g.sessionId ?? "-"}`);
        }
      });
    });

  program
    .command("restore <context> <generation>")
    .description("bring a context (or one file or folder) back to an earlier generation, as a new generation")
    .option("--path <path>", "restore only this file or folder (a session path such as /home/user/data)")
    .action(async (name: string, generation: string, opts: { path?: string }, cmd: Command) => {
      const gen = Number(generation);
      if (!Number.isSafeInteger(gen) || gen < 1) {
        throw new Error(`generation must be a whole number from 1 (see ctxsync log ${name}); got ${generation}`);
      }
      await withClient(cmd, {}, async (client) => {
        const { contextId } = check(await client.context.get(name));
        console.log(check(await client.context.restore(contextId, gen, opts.path === undefined ? {} : { path: opts.path })).generation);
      });
    });

  program
    .command("gc")
    .description("delete expired files, history past the retention period and blobs nothing references")
    .option("--retention-days <n>", "history to keep, in days (default 7)")
    .option("--min-blob-age-hours <n>", "leave unreferenced blobs younger than this, in hours (default 24)")
    .action(async (opts: { retentionDays?: string; minBlobAgeHours?: string }, cmd: Command) => {
      const extra: Omit<CtxSyncOptions, "home" | "endpoint" | "apiKey"> = {};
      if (opts.retentionDays !== undefined) extra.retentionMs = nonNegativeOption(opts.retentionDays, "--retention-days") * 24 * HOUR_MS;
      if (opts.minBlobAgeHours !== undefined) extra.minBlobAgeMs = nonNegativeOption(opts.minBlobAgeHours, "--min-blob-age-hours") * HOUR_MS;
      await withClient(cmd, extra, async (client) => {
        const r = check(await client.gc());
        console.log(`expired files\t${r.expiredFiles}`);
        console.log(`pruned versions\t${r.prunedVersions}`);
        console.log(`pruned generations\t${r.prunedGenerations}`);
        console.log(`deleted blobs\t${r.deletedBlobs}`);
        console.log(`kept blobs\t${r.keptBlobs}`);
      });
    });
}

async function withClient(cmd: Command, extra: Omit<CtxSyncOptions, "home" | "endpoint" | "apiKey">, fn: (client: CtxSync) => Promise<void>): Promise<void> {
  const client = openClient(cmd, extra);
  try {
    await fn(client);
  } finally {
    await client.close();
  }
}
