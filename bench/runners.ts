/**
 * Runs the timed commands of the benchmark: a ctxsync operation in a child Node process, or an anchor
 * tool (rsync, rclone) under GNU time for its peak RSS.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { RESULT_PREFIX, type OpRequest, type OpResult } from "./op-protocol.js";

/** One timed run of one operation by one tool. */
export interface Sample {
  /** Time of the operation itself (ctxsync: measured in the child; anchors: the whole process). */
  seconds: number;
  /** Whole child process, start to exit. */
  wallSeconds: number;
  /** Peak RSS in MB (10^6 bytes); null when it could not be measured. */
  peakRssMB: number | null;
  /** User + system CPU seconds of the op: less sensitive than `seconds` to other work on the machine. */
  cpuSeconds: number | null;
  /** The system (kernel) part of `cpuSeconds`; ctxsync ops only. */
  systemSeconds?: number;
  /** Minor page faults during the op (memory touched for the first time); ctxsync ops only. */
  minorFaults?: number;
  /** Remote ops: the server's share of `cpuSeconds` (which then is agent + server). */
  serverCpuSeconds?: number;
  filesMoved?: number;
  bytesMoved?: number;
  /** Time of a system-wide `sync` right after the op: the write-back it left behind. */
  flushAfterSeconds?: number;
  /** Busy share of all CPUs just before the op (other work competing with it), 0–1. */
  busyBefore?: number | null;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OP_SCRIPT = path.join(REPO_ROOT, "bench", "ctxsync-op.ts");
const GNU_TIME = "/usr/bin/time";
/** USER_HZ, the unit of /proc/PID/stat's CPU times: 100 on every Linux a Node 20 runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Children running now, so that an interrupted benchmark can stop them before it cleans up. */
const running = new Set<ChildProcess>();

/** Sends `signal` to every child the benchmark is running. */
export function stopChildren(signal: NodeJS.Signals = "SIGTERM"): void {
  for (const child of running) child.kill(signal);
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Runs a process to completion, asynchronously: the event loop stays free, so Ctrl-C is handled at
 * once instead of after the whole (synchronous) benchmark.
 */
function runProcess(file: string, args: readonly string[], cwd?: string): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (err) => {
      running.delete(child);
      reject(err);
    });
    child.on("close", (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

/** Runs one ctxsync operation in a fresh `node --import tsx` process and returns its sample. */
export async function runCtxsyncOp(req: OpRequest): Promise<Sample & OpResult> {
  // cwd: `--import tsx` resolves from there.
  const res = await runProcess(process.execPath, ["--import", "tsx", OP_SCRIPT, JSON.stringify(req)], REPO_ROOT);
  const line = res.stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
  if (res.code !== 0 || !line) {
    throw new Error(`ctxsync ${req.op} failed (exit ${res.code ?? res.signal}):\n${res.stderr}${res.stdout}`);
  }
  const out = JSON.parse(line.slice(RESULT_PREFIX.length)) as OpResult;
  return { ...out, wallSeconds: res.seconds, peakRssMB: (out.maxRssKiB * 1024) / 1e6 };
}

/** True when GNU time is installed; without it anchors run bare and report no RSS. */
export function haveGnuTime(): boolean {
  return fs.existsSync(GNU_TIME);
}

/**
 * Runs an anchor command to completion and times it. Peak RSS and CPU time come from GNU time: `%M` (KiB)
 * is the largest of the process and its children (for rsync, its biggest helper process); `%U`/`%S`
 * sum them all.
 */
export async function runAnchor(cmd: string, args: readonly string[], scratchDir: string): Promise<Sample> {
  const rssFile = path.join(scratchDir, "time-rss.txt");
  const useTime = haveGnuTime();
  const [file, argv] = useTime ? [GNU_TIME, ["-f", "%M %U %S", "-o", rssFile, cmd, ...args]] : [cmd, [...args]];
  const res = await runProcess(file, argv);
  if (res.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${res.code ?? res.signal}):\n${res.stderr}${res.stdout}`);
  }
  // GNU time writes "maxRSS-KiB user-s sys-s" on the last line of its output file.
  const [rssKiB = NaN, user = NaN, sys = NaN] = useTime ? (fs.readFileSync(rssFile, "utf8").trim().split("\n").at(-1) ?? "").split(" ").map(Number) : [];
  return {
    seconds: res.seconds,
    wallSeconds: res.seconds,
    peakRssMB: Number.isFinite(rssKiB) ? (rssKiB * 1024) / 1e6 : null,
    cpuSeconds: Number.isFinite(user + sys) ? user + sys : null,
  };
}

/** Runs a command for its output (versions and the like); "?" when it is not there. */
export function commandOutput(cmd: string, args: readonly string[]): string {
  const res = spawnSync(cmd, args, { encoding: "utf8" });
  return res.status === 0 ? res.stdout.trim() : "?";
}

/** Flushes dirty pages system-wide, so one operation's write-back is not billed to the next; returns seconds. */
export function flushWrites(): number {
  const t0 = performance.now();
  spawnSync("sync");
  return (performance.now() - t0) / 1000;
}

/** Busy share of all CPUs over `ms` milliseconds, from /proc/stat; null where there is none (not Linux). */
export async function cpuBusy(ms: number): Promise<number | null> {
  const read = (): { busy: number; total: number } | null => {
    let line: string | undefined;
    try {
      line = fs.readFileSync("/proc/stat", "utf8").split("\n")[0];
    } catch {
      return null;
    }
    const f = (line ?? "").trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  };
  const a = read();
  await sleep(ms);
  const b = read();
  if (!a || !b || b.total === a.total) return null;
  return (b.busy - a.busy) / (b.total - a.total);
}

/**
 * Waits (up to `maxSeconds`) until other work leaves the CPUs mostly idle, so a timed op does not share
 * them with, say, a test run in another terminal. Returns the busy share seen last.
 */
export async function waitForQuiet(maxSeconds: number, threshold = 0.15): Promise<number | null> {
  const deadline = performance.now() + maxSeconds * 1000;
  for (;;) {
    const busy = await cpuBusy(500);
    if (busy === null || busy <= threshold || performance.now() > deadline) return busy;
  }
}

/** What a process has used so far. */
export interface ProcessUsage {
  cpuSeconds: number;
  systemSeconds: number;
  minorFaults: number;
}

/** A `ctxsync serve` child process on loopback. */
export interface ServerProcess {
  endpoint: string;
  apiKey: string;
  /** Peak RSS of the server process so far (VmHWM), MB; null where /proc is missing. */
  peakRssMB(): number | null;
  /** CPU seconds (user + system, and system alone) and minor page faults of the server so far; null where /proc is missing. */
  usage(): ProcessUsage | null;
  stop(): Promise<void>;
}

/**
 * Starts `node --import tsx src/cli/main.ts serve --port 0 --data DIR` with a fresh admin key and waits
 * for its `listening on URL` line (stderr). With `cpuProfile`, the server writes a V8 CPU profile of its
 * whole life to that file when it stops.
 */
export async function startServer(dataDir: string, cpuProfile?: string): Promise<ServerProcess> {
  const apiKey = `bench-admin-${"k".repeat(32)}`;
  const profArgs = cpuProfile ? ["--cpu-prof", "--cpu-prof-dir", path.dirname(cpuProfile), "--cpu-prof-name", path.basename(cpuProfile)] : [];
  const child = spawn(process.execPath, [...profArgs, "--import", "tsx", path.join(REPO_ROOT, "src", "cli", "main.ts"), "serve", "--port", "0", "--data", dataDir], {
    cwd: REPO_ROOT,
    env: { ...process.env, CTXSYNC_ADMIN_KEY: apiKey },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let output = "";
  const exited = new Promise<void>((resolve) => child.on("close", () => (running.delete(child), resolve())));
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ctxsync serve did not start in 60 s:\n${output}`)), 60_000);
    const onData = (d: string): void => {
      output += d;
      const m = /listening on (http:\/\/[^\s)]+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", onData);
    child.on("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`ctxsync serve exited (${code}) before listening:\n${output}`));
    });
  });
  return {
    endpoint,
    apiKey,
    peakRssMB() {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"));
        return m ? (Number(m[1]) * 1024) / 1e6 : null;
      } catch {
        return null;
      }
    },
    usage() {
      try {
        // Fields 10 (minflt), 14 and 15 (utime, stime, in clock ticks) of /proc/PID/stat; the name before
        // them is in parentheses and may hold spaces, so count from its closing one.
        const stat = fs.readFileSync(`/proc/${child.pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const systemSeconds = Number(fields[12]) / CLOCK_TICKS_PER_SECOND;
        return { cpuSeconds: Number(fields[11]) / CLOCK_TICKS_PER_SECOND + systemSeconds, systemSeconds, minorFaults: Number(fields[7]) };
      } catch {
        return null;
      }
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
