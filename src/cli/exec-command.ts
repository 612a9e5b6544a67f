import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { normalizeSessionPath } from "../policy/index.js";
import { ContextSync, type Session } from "../sdk/index.js";
import { check, openClient } from "./open-client.js";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
type ExecSignal = (typeof SIGNALS)[number];

/**
 * `ctxsync exec --mount NAME:PATH … -- command`: a session around one command. Mounts the contexts
 * (creating missing ones), runs the command with the first mount as working directory, uploads every
 * mount, then releases the session. Exits with the command's exit code (1 if the upload failed).
 *
 * The upload is exec's own step, not the release's (the mounts do not autoUpload): a session whose
 * download failed, or that was interrupted before the command ran, is released without uploading, so a
 * stale or partial tree never overwrites the context. A command that cannot be started exits 127 (not
 * found) or 126, one ended by a signal 128 + its number, as shells do. Signals: while the command runs,
 * SIGTERM and SIGHUP are passed on to it; a first SIGINT is left to it (a terminal sends it to the whole
 * process group), a second one is passed on (whoever signals exec alone can still stop the command);
 * before and after, a first signal is noted and the session still released, a second one quits at once.
 */
export function buildExecCommand(program: Command): void {
  program
    .command("exec")
    .description("run a command in a session with contexts mounted; upload what changed when it exits")
    .requiredOption("-m, --mount <name:path...>", "context name and session path, e.g. notes:/home/user/notes")
    .option("--root <dir>", "local directory holding the session's filesystem", "/")
    .argument("<command...>", "the command to run (put it after --)")
    .action(async (command: string[], opts: { mount: string[]; root: string }, cmd: Command) => {
      const signals = new SignalGate();
      const client = openClient(cmd);
      try {
        // Every --mount is checked before any context is created: a bad one must leave nothing behind.
        const mounts = parseMounts(opts.mount);
        const syncs: ContextSync[] = [];
        for (const m of mounts) {
          const { contextId } = check(await client.context.create(m.name));
          syncs.push(ContextSync.new(contextId, m.path, { uploadPolicy: { autoUpload: false } }));
        }
        const session = check(await client.create({ contextSync: syncs, root: opts.root })).session!;
        let code = 1;
        try {
          const failed = await failedDownloads(session);
          if (failed !== "") {
            console.error(`ctxsync: the session's download failed, so the command was not run and nothing is uploaded: ${failed}`);
          } else if (signals.received) {
            code = 128 + signalNumber(signals.received);
          } else {
            code = await run(command, path.join(session.root, syncs[0]!.path), session.sessionId, signals);
            const uploaded = await session.context.sync();
            if (!uploaded.success) {
              console.error(`ctxsync: ${uploaded.errorMessage}`);
              code = 1;
            }
          }
        } finally {
          const released = await session.delete();
          if (!released.success) console.error(`ctxsync: ${released.errorMessage}`);
          process.exitCode = released.success ? code : 1;
        }
      } finally {
        signals.close();
        await client.close();
      }
    });
}

/**
 * exec's signal handling for its whole run: the command's while it runs (see buildExecCommand), else a
 * first signal is remembered (exec finishes its release) and a second one exits at once.
 */
class SignalGate {
  received: ExecSignal | undefined;
  private child: ChildProcess | undefined;
  private interruptsOfChild = 0;
  private readonly handler = (signal: ExecSignal) => this.on(signal);

  constructor() {
    for (const s of SIGNALS) process.on(s, this.handler);
  }

  /** While `child` runs, signals are its. */
  forwardTo(child: ChildProcess | undefined): void {
    this.child = child;
    this.interruptsOfChild = 0;
  }

  close(): void {
    for (const s of SIGNALS) process.off(s, this.handler);
  }

  private on(signal: ExecSignal): void {
    if (this.child) {
      if (signal !== "SIGINT" || ++this.interruptsOfChild > 1) this.child.kill(signal);
      return;
    }
    if (this.received) process.exit(128 + signalNumber(signal));
    this.received = signal;
    console.error(`ctxsync: ${signal} received; releasing the session first (send it again to quit now)`);
  }
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
function run(command: string[], cwd: string, sessionId: string, signals: SignalGate): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), {
      cwd,
      stdio: "inherit",
      env: { ...process.env, CTXSYNC_SESSION_ID: sessionId },
    });
    signals.forwardTo(child);
    const done = (code: number) => {
      signals.forwardTo(undefined);
      resolve(code);
    };
    child.on("error", (err: NodeJS.ErrnoException) => {
      console.error(`ctxsync: cannot run ${command[0]}: ${err.message}`);
      done(err.code === "ENOENT" ? 127 : 126);
    });
    child.on("exit", (code, signal) => done(code ?? (signal ? 128 + signalNumber(signal) : 1)));
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return os.constants.signals[signal] ?? 0;
}

/** The --mount values as context name and session path, each checked; a path given twice is refused. */
function parseMounts(specs: readonly string[]): { name: string; path: string }[] {
  const seen = new Set<string>();
  return specs.map((spec) => {
    const at = spec.indexOf(":");
    if (at <= 0) throw new Error(`--mount ${spec}: expected NAME:PATH, e.g. notes:/home/user/notes`);
    const p = spec.slice(at + 1);
    const key = normalizeSessionPath(p);
    if (seen.has(key)) throw new Error(`--mount ${spec}: ${key} is mounted twice; give each session path once`);
    seen.add(key);
    return { name: spec.slice(0, at), path: p };
  });
}
