import { spawn } from "node:child_process";
import path from "node:path";
import type { Command } from "commander";
import { ContextSync } from "../sdk/index.js";
import { check, openClient } from "./open-client.js";

/**
 * `ctxsync exec --mount NAME:PATH … -- command`: a session around one command. Mounts the contexts
 * (creating missing ones), runs the command with the first mount as working directory, then releases the
 * session, which uploads what changed. Exits with the command's exit code (1 if the upload failed).
 */
export function buildExecCommand(program: Command): void {
  program
    .command("exec")
    .description("run a command in a session with contexts mounted; upload what changed when it exits")
    .requiredOption("-m, --mount <name:path...>", "context name and session path, e.g. notes:/home/user/notes")
    .option("--root <dir>", "local directory holding the session's filesystem", "/")
    .argument("<command...>", "the command to run (put it after --)")
    .action(async (command: string[], opts: { mount: string[]; root: string }, cmd: Command) => {
      const client = openClient(cmd);
      try {
        const syncs: ContextSync[] = [];
        for (const spec of opts.mount) {
          const at = spec.indexOf(":");
          if (at <= 0) throw new Error(`--mount ${spec}: expected NAME:PATH, e.g. notes:/home/user/notes`);
          const { contextId } = check(await client.context.create(spec.slice(0, at)));
          syncs.push(ContextSync.new(contextId, spec.slice(at + 1)));
        }
        const { session } = check(await client.create({ contextSync: syncs, root: opts.root }));
        const cwd = path.join(session!.root, syncs[0]!.path);
        const code = await run(command, cwd, session!.sessionId);
        const released = await session!.delete();
        if (!released.success) console.error(`ctxsync: ${released.errorMessage}`);
        process.exitCode = released.success ? code : 1;
      } finally {
        await client.close();
      }
    });
}

function run(command: string[], cwd: string, sessionId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), {
      cwd,
      stdio: "inherit",
      env: { ...process.env, CTXSYNC_SESSION_ID: sessionId },
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
