import type { Command } from "commander";
import type { CtxSync } from "../sdk/index.js";
import { wholeNumberOption } from "./number-options.js";
import { check, openClient } from "./open-client.js";

/** `ctxsync context …` and `ctxsync files …`. */
export function buildContextCommands(program: Command): void {
  const context = program.command("context").description("manage contexts");

  context
    .command("list")
    .description("list contexts")
    .option("--max <n>", "contexts per page", "50")
    .action(async (opts: { max: string }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        let nextToken: string | undefined;
        do {
          const page = check(await client.context.list({ maxResults: wholeNumberOption(opts.max, "--max", 1, 1000), nextToken }));
          for (const c of page.contexts) console.log(`${c.id}\t${c.name}\tlast used ${c.lastUsedAt}`);
          nextToken = page.nextToken;
        } while (nextToken);
      });
    });

  context
    .command("create <name>")
    .description("create a context (or print the existing one of that name)")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => console.log(check(await client.context.create(name)).contextId));
    });

  context
    .command("rename <name> <newName>")
    .description("rename a context; its id stays")
    .action(async (name: string, newName: string, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const ctx = check(await client.context.get(name)).context!;
        ctx.name = newName;
        check(await client.context.update(ctx));
      });
    });

  context
    .command("delete <name>")
    .description("delete a context and its files")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        check(await client.context.delete(check(await client.context.get(name)).context!));
      });
    });

  program
    .command("files <context> [folder]")
    .description("list the files of a context folder (default /)")
    .action(async (name: string, folder: string | undefined, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const { contextId } = check(await client.context.get(name));
        let page = 1;
        for (;;) {
          const r = check(await client.context.listFiles(contextId, folder ?? "/", page, 500));
          // Silence would read as "listed"; an empty answer is no error (an empty or missing folder).
          if (page === 1 && (r.count ?? 0) === 0) console.error(`ctxsync: no files in ${name} under ${folder ?? "/"} (a folder lists its files; a file's path lists nothing)`);
          for (const e of r.entries) {
            console.log(`${e.fileType === "FOLDER" ? "d" : "-"}\t${e.size}\t${e.gmtModified}\t${e.filePath}`);
          }
          if (page * 500 >= (r.count ?? 0)) break;
          page++;
        }
      });
    });
}

async function withClient(cmd: Command, fn: (client: CtxSync) => Promise<void>): Promise<void> {
  const client = openClient(cmd);
  try {
    await fn(client);
  } finally {
    await client.close();
  }
}
