/**
 * ctxsync benchmark: initial upload, no-op upload, upload after a 1 % change and download into an empty
 * session, against rsync and rclone doing the same to the same data in the same run.
 *
 *   npm run bench -- [--scale N] [--data DIR] [--keep] [--json FILE] [--runs N] [--cpu-prof DIR] [--work-dir DIR] [--quiet-wait S]
 *                    [--archive] [--remote] [--only archive|remote]
 *
 * --scale N     data set size (1 = 10,000 small files + 2 × 100 MiB); default 1
 * --data DIR    keep the data set in DIR and reuse it next time (default: a temp dir, removed at the end)
 * --keep        keep the temp dir (stores, copies, downloads) for inspection
 * --json FILE   also write the results as JSON
 * --runs N      repeat the whole sequence N times on fresh destinations and report the best; default 1
 * --cpu-prof D  write a V8 CPU profile of every timed ctxsync op to D (slows ctxsync a little), and with
 *               --remote one of the server's whole life (runN-server.cpuprofile); read one
 *               with `npx tsx bench/profile-summary.ts FILE`
 * --work-dir D  where the temp dir goes (default the OS temp dir); /dev/shm takes the disk out of the
 *               picture, which on a shared VM disk is the largest source of noise
 * --quiet-wait S before each op, wait up to S seconds (default 30) for other work to leave the CPUs idle
 * --archive     also time an ARCHIVE-mode upload (fresh store) and download (empty root) against
 *               `tar czf` / `tar xzf` of the same tree (target ≤ 1.3× tar)
 * --remote      also time the initial upload and the download through `ctxsync serve` (child process,
 *               loopback) and the SDK's in-process agent, against the embedded figures (target ≤ 1.5×)
 * --only archive  time only the ARCHIVE-mode ops against tar (implies --archive): skips the FILE-mode
 *               ops and their rsync/rclone anchors, for quick iteration on ARCHIVE mode
 * --only remote   time only the embedded initial upload and download and the same through the server
 *               (implies --remote; no anchors, no-op or change ops), for quick iteration on the remote path
 * --cold-server time the remote ops on a server fresh from start; by default a small untimed upload and
 *               download (a tenth of the data set, another context) warm it first, as a server that has
 *               served sessions before: a fresh server's first upload also compiles its hot code paths
 *
 * Method: before every timed op the op's source tree is read once (warm page cache: dropping caches
 * needs privileges a CI box may lack), `sync` flushes earlier write-back, and the bench waits for idle
 * CPUs (other work on a 2-CPU box swamps any ratio), so every tool starts from the same state. Each op runs once per run, except no-op uploads, which run 3 times (best kept).
 * ctxsync ops run in child processes (bench/ctxsync-op.ts) for their own peak RSS; their time is the
 * SDK call alone, and the child's whole wall time is shown beside it.
 * Exits 1 when a copy does not match its source, or when a target fails.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { changeFiles, makeDataset, planDataset, type DatasetPlan } from "./make-dataset.js";
import {
  emptyExtraSamples,
  emptySamples,
  formatExtraTable,
  formatFlushNote,
  formatTable,
  formatTargets,
  judge,
  judgeExtras,
  summarize,
  summarizeExtras,
  type ExtraOp,
  type ExtraSamples,
  type OpName,
  type Samples,
  type Tool,
} from "./report.js";
import { commandOutput, flushWrites, haveGnuTime, runAnchor, runCtxsyncOp, startServer, stopChildren, waitForQuiet, type Sample } from "./runners.js";
import type { OpResult } from "./op-protocol.js";
import { assertSameTree, walk, warmTree } from "./tree.js";

interface Config {
  scale: number;
  seed: number;
  dataDir: string | undefined;
  keep: boolean;
  jsonFile: string | undefined;
  runs: number;
  cpuProfDir: string | undefined;
  /** Longest wait, in seconds, for idle CPUs before each op. */
  quietWait: number;
  /** Parent of the temp dir. */
  workDir: string;
  /** Also compare ARCHIVE mode with tar. */
  archive: boolean;
  /** Also run the initial upload and the download through a loopback server. */
  remote: boolean;
  /**
   * --only archive: only the ARCHIVE-mode comparison (no FILE-mode ops, no anchors);
   * --only remote: only the embedded initial upload and download and their remote counterparts.
   */
  only: "archive" | "remote" | undefined;
  /** Time the remote ops on a server fresh from start, without the untimed warm-up. */
  coldServer: boolean;
}

/** The data set's home: the tree sits at `root/home/user/data`, so `root` serves as session R1 directly. */
interface DataWorkspace {
  dir: string;
  root: string;
  tree: string;
  plan: DatasetPlan;
  /** The next change round: a reused data set was already changed by earlier benchmark runs. */
  nextRound: number;
}

interface Manifest {
  seed: number;
  scale: number;
  changeRounds: number;
}

/** Where the session mounts the context; the data lives at R1 + this path. */
const MOUNT_PATH = "/home/user/data";
const NOOP_REPEATS = 3;
const SRC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "src");

/** Set by Ctrl-C; checked between ops so the run stops at the next one and cleans up. */
let interrupted = false;

function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: "string", default: "1" },
      seed: { type: "string", default: "1" },
      data: { type: "string" },
      keep: { type: "boolean", default: false },
      json: { type: "string" },
      runs: { type: "string", default: "1" },
      "cpu-prof": { type: "string" },
      "quiet-wait": { type: "string", default: "30" },
      "work-dir": { type: "string", default: os.tmpdir() },
      archive: { type: "boolean", default: false },
      remote: { type: "boolean", default: false },
      only: { type: "string" },
      "cold-server": { type: "boolean", default: false },
    },
  });
  const only = values.only;
  if (only !== undefined && only !== "archive" && only !== "remote") throw new Error(`--only takes "archive" or "remote", got ${only}`);
  if (only === "archive" && values.remote) throw new Error("--only archive skips the embedded ops --remote compares with; drop one of them");
  const scale = Number(values.scale);
  const runs = Number(values.runs);
  if (!(scale > 0)) throw new Error(`--scale must be a positive number, got ${values.scale}`);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  return {
    scale,
    seed: Number(values.seed),
    dataDir: values.data && path.resolve(values.data),
    keep: values.keep,
    jsonFile: values.json && path.resolve(values.json),
    runs,
    cpuProfDir: values["cpu-prof"] && path.resolve(values["cpu-prof"]),
    quietWait: Number(values["quiet-wait"]),
    workDir: path.resolve(values["work-dir"]),
    archive: (values.archive && only !== "remote") || only === "archive",
    remote: values.remote || only === "remote",
    only,
    coldServer: values["cold-server"],
  };
}

/** Generates the data set, or reuses the one in `dir` when it was made with the same seed and scale. */
function prepareData(dir: string, cfg: Config): DataWorkspace {
  const root = path.join(dir, "root");
  const tree = path.join(root, MOUNT_PATH);
  const manifestFile = path.join(dir, "manifest.json");
  const manifest = readManifest(manifestFile);
  if (!manifest && fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    throw new Error(`${dir} is not empty and holds no benchmark data set; pass a new or empty directory to --data`);
  }
  if (manifest && manifest.seed === cfg.seed && manifest.scale === cfg.scale && fs.existsSync(tree)) {
    log(`reusing the data set in ${tree} (changed ${manifest.changeRounds} times before)`);
    return { dir, root, tree, plan: planDataset(cfg), nextRound: manifest.changeRounds + 1 };
  }
  const t0 = performance.now();
  const plan = makeDataset(tree, cfg);
  writeManifest(manifestFile, { seed: cfg.seed, scale: cfg.scale, changeRounds: 0 });
  log(`generated the data set in ${tree} in ${elapsed(t0)} s`);
  return { dir, root, tree, plan, nextRound: 1 };
}

function readManifest(file: string): Manifest | undefined {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Manifest) : undefined;
}

function writeManifest(file: string, m: Manifest): void {
  fs.writeFileSync(file, `${JSON.stringify(m, null, 2)}\n`);
}

/** Applies the next 1 % change and records it, so a reused data set never repeats a change. */
function changeData(data: DataWorkspace, cfg: Config): void {
  const round = data.nextRound++;
  const res = changeFiles(data.tree, { scale: cfg.scale, seed: cfg.seed, round });
  writeManifest(path.join(data.dir, "manifest.json"), { seed: cfg.seed, scale: cfg.scale, changeRounds: round });
  log(`changed ${res.files.length} files (${(res.bytes / 1e3).toFixed(0)} kB), change round ${round}`);
}

/** Shared state of one run of the sequence. */
class Round {
  readonly home: string;
  readonly rsyncDst: string;
  readonly rcloneDst: string;
  readonly r2: string;
  readonly rsyncDown: string;
  readonly rcloneDown: string;

  constructor(
    readonly dir: string,
    readonly index: number,
    private readonly samples: Samples,
    private readonly cfg: Config,
    readonly extra: ExtraSamples,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.home = path.join(dir, "ctxsync-store");
    this.rsyncDst = path.join(dir, "rsync-copy");
    this.rcloneDst = path.join(dir, "rclone-copy");
    this.r2 = path.join(dir, "ctxsync-r2");
    this.rsyncDown = path.join(dir, "rsync-download");
    this.rcloneDown = path.join(dir, "rclone-download");
  }

  /** Warms `source`, flushes earlier writes, runs `fn`, then times the write-back it left; records the sample. */
  async timed<S extends Sample>(op: OpName, tool: Tool, source: string, fn: () => Promise<S>): Promise<S> {
    const sample = await this.measure(`${op.padEnd(8)} ${tool.padEnd(7)}`, source, fn);
    this.samples[op][tool].push(sample);
    return sample;
  }

  /** Same as `timed` for an extra op (--archive, --remote): `ref` marks the reference's sample. */
  async timedExtra<S extends Sample>(op: ExtraOp, who: "ctxsync" | "ref", label: string, source: string, fn: () => Promise<S>): Promise<S> {
    const sample = await this.measure(label, source, fn);
    this.extra[op][who].push(sample);
    return sample;
  }

  private async measure<S extends Sample>(label: string, source: string, fn: () => Promise<S>): Promise<S> {
    if (interrupted) throw new Error("interrupted");
    warmTree(source);
    flushWrites();
    const busyBefore = await waitForQuiet(this.cfg.quietWait);
    if (interrupted) throw new Error("interrupted");
    const sample = await fn();
    sample.flushAfterSeconds = flushWrites();
    sample.busyBefore = busyBefore;
    const rss = sample.peakRssMB === null ? "" : `, peak RSS ${sample.peakRssMB.toFixed(0)} MB`;
    const busy = busyBefore === null ? "" : `, CPUs ${(busyBefore * 100).toFixed(0)} % busy before`;
    const cpu = sample.cpuSeconds === null ? "" : `, CPU ${sample.cpuSeconds.toFixed(2)} s`;
    const serverCpu = sample.serverCpuSeconds === undefined ? "" : ` (server ${sample.serverCpuSeconds.toFixed(2)} s)`;
    // Kernel time and first touches of memory: what a run on a VM's cold memory pays extra.
    const kernel = sample.systemSeconds === undefined || sample.minorFaults === undefined ? "" : `, sys ${sample.systemSeconds.toFixed(2)} s, ${(sample.minorFaults / 1000).toFixed(0)}k page faults`;
    log(`  ${label} ${sample.seconds.toFixed(3)} s${cpu}${serverCpu}${kernel}${rss}${busy}`);
    return sample;
  }

  /** Where a ctxsync op writes its CPU profile, when profiling is on. */
  profile(label: string): { cpuProfile?: string } {
    return this.cfg.cpuProfDir ? { cpuProfile: path.join(this.cfg.cpuProfDir, `run${this.index}-${label}.cpuprofile`) } : {};
  }

  /** rsync and rclone copying `src` to `dst`, each the way a user would call it. */
  async anchors(op: OpName, src: string, rsyncDst: string, rcloneDst: string): Promise<void> {
    await this.timed(op, "rsync", src, () => runAnchor("rsync", ["-a", `${src}/`, `${rsyncDst}/`], this.dir));
    await this.timed(op, "rclone", src, () => runAnchor("rclone", ["sync", src, rcloneDst], this.dir));
  }
}

/** One pass of the whole sequence on fresh destinations. */
async function runSequence(round: Round, data: DataWorkspace, cfg: Config): Promise<void> {
  if (cfg.only === "archive") return runArchive(round, data);
  const src = data.tree;
  // On a VM whose host takes back freed memory, an op's place in the run changes its time: whichever
  // download came fourth took up to twice as long, in kernel time, as when it came second
  // (docs/benchmarks.md, "the order of the ops"). So the remote ops come last in odd runs and first in even ones, and
  // best-of-N compares like with like.
  const remoteFirst = cfg.remote && round.index % 2 === 0;
  if (remoteFirst) await runRemote(round, data, cfg.coldServer);
  const first = await round.timed("initial", "ctxsync", src, () =>
    runCtxsyncOp({ op: "upload-first", home: round.home, root: data.root, mountPath: MOUNT_PATH, contextName: "bench", ...round.profile("initial") }),
  );
  if (cfg.only === "remote") {
    await round.timed("download", "ctxsync", round.home, () =>
      runCtxsyncOp({ op: "download", home: round.home, root: round.r2, mountPath: MOUNT_PATH, contextId: first.contextId!, ...round.profile("download") }),
    );
    verify("ctxsync download", src, path.join(round.r2, MOUNT_PATH));
    if (!remoteFirst) await runRemote(round, data, cfg.coldServer);
    return;
  }
  await round.anchors("initial", src, round.rsyncDst, round.rcloneDst);
  const sessionId = first.sessionId!;
  const contextId = first.contextId!;

  for (let i = 0; i < NOOP_REPEATS; i++) {
    await round.timed("noop", "ctxsync", src, () => runCtxsyncOp({ op: "upload", home: round.home, sessionId, ...round.profile(`noop${i}`) }));
    await round.anchors("noop", src, round.rsyncDst, round.rcloneDst);
  }

  changeData(data, cfg);
  await round.timed("change", "ctxsync", src, () => runCtxsyncOp({ op: "upload", home: round.home, sessionId, ...round.profile("change") }));
  await round.anchors("change", src, round.rsyncDst, round.rcloneDst);

  // Downloads read what each tool stored: ctxsync's store, and the anchors' own copies.
  await round.timed("download", "ctxsync", round.home, () =>
    runCtxsyncOp({ op: "download", home: round.home, root: round.r2, mountPath: MOUNT_PATH, contextId, ...round.profile("download") }),
  );
  await round.timed("download", "rsync", round.rsyncDst, () => runAnchor("rsync", ["-a", `${round.rsyncDst}/`, `${round.rsyncDown}/`], round.dir));
  await round.timed("download", "rclone", round.rcloneDst, () => runAnchor("rclone", ["sync", round.rcloneDst, round.rcloneDown], round.dir));

  verifyCopies(round, src);
  if (cfg.archive) await runArchive(round, data);
  if (cfg.remote && !remoteFirst) await runRemote(round, data, cfg.coldServer);
}

/** ARCHIVE-mode upload into a fresh store and download into an empty root, against tar czf / tar xzf. */
async function runArchive(round: Round, data: DataWorkspace): Promise<void> {
  const src = data.tree;
  const home = path.join(round.dir, "archive-store");
  const tgzDir = path.join(round.dir, "tar-archive"); // a folder of its own, so warmTree can read it
  const tgz = path.join(tgzDir, "out.tgz");
  fs.mkdirSync(tgzDir);
  const r2 = path.join(round.dir, "archive-r2");
  const tarDown = path.join(round.dir, "tar-download");
  const up = await round.timedExtra("archiveUp", "ctxsync", "archive-up ctxsync", src, () =>
    runCtxsyncOp({ op: "upload-first", home, root: data.root, mountPath: MOUNT_PATH, contextName: "bench-archive", archive: true, ...round.profile("archive-up") }),
  );
  await round.timedExtra("archiveUp", "ref", "archive-up tar czf", src, () => runAnchor("tar", ["czf", tgz, "-C", src, "."], round.dir));
  await round.timedExtra("archiveDown", "ctxsync", "archive-dn ctxsync", home, () =>
    runCtxsyncOp({ op: "download", home, root: r2, mountPath: MOUNT_PATH, contextId: up.contextId!, archive: true, ...round.profile("archive-down") }),
  );
  fs.mkdirSync(tarDown);
  await round.timedExtra("archiveDown", "ref", "archive-dn tar xzf", tgzDir, () => runAnchor("tar", ["xzf", tgz, "-C", tarDown], round.dir));
  verify("ctxsync archive download", src, path.join(r2, MOUNT_PATH));
  verify("tar xzf download", src, tarDown);
}

/** Initial upload and download through `ctxsync serve` on loopback; compared with the embedded ops. */
async function runRemote(round: Round, data: DataWorkspace, coldServer: boolean): Promise<void> {
  const src = data.tree;
  const r2 = path.join(round.dir, "remote-r2");
  const store = path.join(round.dir, "remote-store");
  const server = await startServer(store, round.profile("server").cpuProfile);
  log(`  ctxsync serve at ${server.endpoint}`);
  try {
    const conn = { home: "", endpoint: server.endpoint, apiKey: server.apiKey };
    if (!coldServer) await warmUp(conn, round, data.plan);
    // On one machine agent and server share the CPUs: the op's CPU time is both together.
    const withServerCpu = async (op: () => Promise<Sample & OpResult>): Promise<Sample & OpResult> => {
      const before = server.usage();
      const sample = await op();
      const after = server.usage();
      if (before !== null && after !== null) {
        sample.serverCpuSeconds = after.cpuSeconds - before.cpuSeconds;
        sample.cpuSeconds += sample.serverCpuSeconds;
        sample.systemSeconds += after.systemSeconds - before.systemSeconds;
        sample.minorFaults += after.minorFaults - before.minorFaults;
      }
      return sample;
    };
    const up = await round.timedExtra("remoteInitial", "ctxsync", "remote-up ctxsync", src, () =>
      withServerCpu(() =>
        runCtxsyncOp({ op: "upload-first", ...conn, root: data.root, mountPath: MOUNT_PATH, contextName: "bench-remote", ...round.profile("remote-up") }),
      ),
    );
    await round.timedExtra("remoteDownload", "ctxsync", "remote-dn ctxsync", store, () =>
      withServerCpu(() => runCtxsyncOp({ op: "download", ...conn, root: r2, mountPath: MOUNT_PATH, contextId: up.contextId!, ...round.profile("remote-down") })),
    );
    const rss = server.peakRssMB();
    log(`  server peak RSS ${rss === null ? "?" : rss.toFixed(0)} MB`);
  } finally {
    await server.stop();
  }
  verify("ctxsync remote download", src, path.join(r2, MOUNT_PATH));
}

/**
 * Untimed: a small data set (a tenth of the timed one's scale, another seed) uploaded to a context of its
 * own and downloaded again, so that the timed ops meet a server whose hot code paths V8 has compiled
 * already (about 0.3 s of CPU on a fresh server's first upload, once per server life), as a running
 * service's would be. The agent's side stays cold: each op is a new child process.
 */
async function warmUp(conn: { home: string; endpoint: string; apiKey: string }, round: Round, plan: DatasetPlan): Promise<void> {
  const t0 = performance.now();
  const root = path.join(round.dir, "remote-warmup");
  makeDataset(path.join(root, MOUNT_PATH), { scale: plan.scale / 10, seed: plan.seed + 1 });
  const up = await runCtxsyncOp({ op: "upload-first", ...conn, root, mountPath: MOUNT_PATH, contextName: "bench-remote-warmup" });
  await runCtxsyncOp({ op: "download", ...conn, root: path.join(round.dir, "remote-warmup-r2"), mountPath: MOUNT_PATH, contextId: up.contextId! });
  log(`  warmed the server with a tenth of the data set in ${elapsed(t0)} s (untimed; --cold-server skips this)`);
}

function verify(label: string, src: string, dir: string): void {
  const { entries, hashed } = assertSameTree(src, dir, label);
  log(`  verified ${label}: ${entries} entries match (size, mtime, mode), ${hashed} files hashed`);
}

/** Fails loudly unless every download equals the source (listing of size, mtime, mode; hashed sample). */
function verifyCopies(round: Round, src: string): void {
  const copies: [string, string][] = [
    ["ctxsync download", path.join(round.r2, MOUNT_PATH)],
    ["rsync download", round.rsyncDown],
    ["rclone download", round.rcloneDown],
  ];
  for (const [label, dir] of copies) verify(label, src, dir);
}

interface MachineFacts {
  /** 1-minute load average when the run started: other work on the machine skews every number. */
  loadAvg: number;
  /** sha256 of src/ (paths and contents), to tell which version of the code a result belongs to. */
  srcDigest: string;
  nproc: number;
  cpu: string;
  memGB: number;
  kernel: string;
  filesystem: string;
  node: string;
  rsync: string;
  rclone: string;
}

function machineFacts(workDir: string): MachineFacts {
  return {
    loadAvg: os.loadavg()[0] ?? 0,
    srcDigest: treeDigest(SRC_DIR).slice(0, 12),
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? "?",
    memGB: Math.round(os.totalmem() / 1e9),
    kernel: `${os.type()} ${os.release()}`,
    filesystem: commandOutput("findmnt", ["-no", "FSTYPE,SOURCE", "-T", workDir]),
    node: process.version,
    rsync: commandOutput("rsync", ["--version"]).split("\n")[0] ?? "?",
    rclone: commandOutput("rclone", ["version"]).split("\n")[0] ?? "?",
  };
}

function treeDigest(root: string): string {
  const hash = createHash("sha256");
  for (const rel of walk(root)) {
    const abs = path.join(root, rel);
    if (fs.statSync(abs).isFile()) hash.update(`${rel}\0`).update(fs.readFileSync(abs));
  }
  return hash.digest("hex");
}

function printReport(facts: MachineFacts, plan: DatasetPlan, cfg: Config, samples: Samples, extra: ExtraSamples, baselineMB: number): boolean {
  const summary = summarize(samples);
  const extraSummary = summarizeExtras(extra, summary);
  // --only: the FILE-mode table and targets lack samples (archive: all; remote: the anchors') and would only report failures.
  const fileTable = cfg.only === undefined;
  const targets = [...(fileTable ? judge(summary) : []), ...judgeExtras(extraSummary)];
  const extraTable = formatExtraTable(extraSummary);
  const files = plan.small.length + plan.large.length;
  console.log(`
machine: ${facts.nproc} CPUs (${facts.cpu}), ${facts.memGB} GB RAM, ${facts.kernel}, work dir on ${facts.filesystem}
         load average ${facts.loadAvg.toFixed(2)} at start, ${(os.loadavg()[0] ?? 0).toFixed(2)} at end${facts.loadAvg > 0.5 ? " — other work was running: expect noise" : ""}
tools:   node ${facts.node}; ${facts.rsync}; ${facts.rclone}; ctxsync src digest ${facts.srcDigest}
data:    scale ${cfg.scale}, seed ${cfg.seed}: ${files} files in ${plan.dirs.length} folders, ${(plan.totalBytes / 1e6).toFixed(1)} MB (2 files of ${(plan.large[0]!.sizeBytes / 1e6).toFixed(1)} MB)
method:  ${cfg.runs} run(s); before each op its source is read once (warm cache), \`sync\` flushes earlier writes,
         and the bench waits up to ${cfg.quietWait} s for idle CPUs;
         each op once per run, no-op ${NOOP_REPEATS}× per run; best time shown. rsync -a, rclone sync (defaults), local paths.
         ctxsync s = the SDK call alone, in a child process; child wall s adds Node/tsx start-up and opening the store.
         CPU s = user + system time (best sample; anchors: all their processes and threads; remote: agent + server,
         the server's over the op's whole child process) — the least noisy number here.
         peak RSS: ctxsync from process.resourceUsage().maxRSS; anchors from GNU time (%M).${cfg.remote ? `\n         remote: ${cfg.coldServer ? "on a server fresh from start (--cold-server)" : "the server is warmed first by an untimed upload and download of a tenth of the data set; the agent is a fresh process per op"};\n         the remote ops run last in odd runs, first in even ones (an op's place in the run changes its time on a VM).` : ""}${cfg.cpuProfDir ? "\n         NOTE: --cpu-prof was on; ctxsync times include profiler overhead." : ""}

${fileTable ? formatTable(summary) : ""}
${extraTable ? `\n${extraTable}\n` : ""}
idle ctxsync child (tsx + SDK + open store) peak RSS: ${baselineMB.toFixed(0)} MB
${fileTable ? formatFlushNote(summary) : ""}

targets:
${formatTargets(targets)}`);
  const pass = targets.every((t) => t.pass);
  if (cfg.jsonFile) {
    const record = { date: new Date().toISOString(), machine: facts, config: cfg, dataset: { files, dirs: plan.dirs.length, bytes: plan.totalBytes }, summary, samples, ...(extraTable ? { extraSummary, extraSamples: extra } : {}), baselineMB, targets, pass };
    fs.writeFileSync(cfg.jsonFile, `${JSON.stringify(record, null, 2)}\n`);
    console.log(`\nresults written to ${cfg.jsonFile}`);
  }
  return pass;
}

async function main(): Promise<void> {
  const cfg = parseConfig(process.argv.slice(2));
  const work = fs.mkdtempSync(path.join(cfg.workDir, "ctxsync-bench-"));
  const cleanup = (): void => {
    if (cfg.keep) console.log(`kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  };
  // Ctrl-C (or npm's SIGTERM): stop the running child, so its op throws, and let `finally` below clean
  // up. Without a handler Node would exit at once and leave gigabytes in /tmp.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      interrupted = true;
      log(`${signal}: stopping and cleaning up`);
      stopChildren();
    });
  }
  try {
    if (!haveGnuTime()) log("GNU time (/usr/bin/time) not found: anchors' peak RSS will not be measured");
    if (cfg.cpuProfDir) fs.mkdirSync(cfg.cpuProfDir, { recursive: true });
    const facts = machineFacts(work);
    const settle = performance.now();
    flushWrites(); // a previous run's cleanup may still be pending (see removeAndSettle)
    log(`initial sync took ${elapsed(settle)} s`);
    const data = prepareData(cfg.dataDir ?? path.join(work, "data"), cfg);
    const baseline = await runCtxsyncOp({ op: "baseline", home: path.join(work, "baseline-store") });
    const samples = emptySamples();
    const extra = emptyExtraSamples();
    for (let i = 1; i <= cfg.runs; i++) {
      log(`run ${i} of ${cfg.runs}`);
      const round = new Round(path.join(work, `run-${i}`), i, samples, cfg, extra);
      await runSequence(round, data, cfg);
      // Each run holds several copies of the data set; drop them before the next unless asked to keep.
      if (!cfg.keep) removeAndSettle(round.dir);
    }
    if (!printReport(facts, data.plan, cfg, samples, extra, baseline.peakRssMB ?? NaN)) process.exitCode = 1;
  } catch (err) {
    console.error(`\nBENCHMARK FAILED: ${err instanceof Error ? err.message : String(err)}`);
    if (!cfg.keep) console.error("(rerun with --keep to inspect the stores and copies)");
    process.exitCode = interrupted ? 130 : 1;
  } finally {
    cleanup();
  }
}

/**
 * Removes a tree and waits for the filesystem to absorb it. On a filesystem mounted with `discard`
 * (as ext4 on many VMs is), freeing a gigabyte costs seconds of TRIM at the next journal commit; the
 * `sync` here takes that hit, instead of whichever timed op would come next.
 */
function removeAndSettle(dir: string): void {
  const t0 = performance.now();
  fs.rmSync(dir, { recursive: true, force: true });
  flushWrites();
  log(`removed ${dir} and synced in ${elapsed(t0)} s`);
}

function log(msg: string): void {
  console.log(`[bench] ${msg}`);
}

function elapsed(t0: number): string {
  return ((performance.now() - t0) / 1000).toFixed(2);
}

await main();
