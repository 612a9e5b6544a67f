import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { ContextSync, type Session } from "../sdk/index.js";
import { check, openClient } from "./open-client.js";

/** Signals exec passes on to its command, and outlives: the session is released after the command ends. */
const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * `ctxsync exec --mount NAME:PATH … -- command`: a session around one command. Mounts the contexts
 * (creating missing ones), runs the command with the first mount as working directory, then releases the
 * session, which uploads what changed. Exits with the command's exit code (1 if the upload failed).
 * A download that failed stops the command from running (exit 1); a command that cannot be started exits
 * 127 (not found) or 126; one ended by a signal 128 + its number, as shells do. The session is released
 * in every case, also when exec is interrupted: the signal goes to the command, and exec waits for it.
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
        const session = check(await client.create({ contextSync: syncs, root: opts.root })).session!;
        let code = 1;
        try {
          const failed = await failedDownloads(session);
          if (failed === "") code = await run(command, path.join(session.root, syncs[0]!.path), session.sessionId);
          else console.error(`ctxsync: the session's download failed, so the command was not run: ${failed}`);
        } finally {
          const released = await session.delete();
          if (!released.success) console.error(`ctxsync: ${released.errorMessage}`);
          process.exitCode = released.success ? code : 1;
        }
      } finally {
        await client.close();
      }
    });
}

/** `path: message; …` of the session's failed downloads, or "". */
async function failedDownloads(session: Session): Promise<string> {
  const tasks = (await session.context.info()).contextStatusData;
  return tasks
    .filter((t) => t.taskType === "download" && t.status === "Failed")
    .map((t) => `${t.path}: ${t.errorMessage}`)
    .join("; ");
}

/** Runs the command to its end and returns the exit code a shell would give it. */
function run(command: string[], cwd: string, sessionId: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), {
      cwd,
      stdio: "inherit",
      env: { ...process.env, CTXSYNC_SESSION_ID: sessionId },
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    for (const s of FORWARDED_SIGNALS) process.on(s, forward);
    const done = (code: number) => {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
      resolve(code);
    };
    child.on("error", (err: NodeJS.ErrnoException) => {
      console.error(`ctxsync: cannot run ${command[0]}: ${err.message}`);
      done(err.code === "ENOENT" ? 127 : 126);
    });
    child.on("exit", (code, signal) => done(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
  });
}
