/**
 * Turns the benchmark's samples into the printed table, the target verdicts and the JSON record.
 */
import type { Sample } from "./runners.js";

export const TOOLS = ["ctxsync", "rsync", "rclone"] as const;
export type Tool = (typeof TOOLS)[number];

export const OPS = ["initial", "noop", "change", "download"] as const;
export type OpName = (typeof OPS)[number];

/** Every sample taken, by operation and tool. */
export type Samples = Record<OpName, Record<Tool, Sample[]>>;

/** The summary of one operation by one tool. */
export interface Summary {
  /** Fastest sample: the least disturbed by the rest of the machine. */
  bestSeconds: number;
  /** Child wall time of that sample (ctxsync: includes Node start and opening the store). */
  bestWallSeconds: number;
  /** Least CPU time (user + system) over all samples: the work itself, with less of the machine's noise. */
  bestCpuSeconds: number | null;
  /** Highest peak RSS over all samples, MB. */
  peakRssMB: number | null;
  /** `sync` right after the op: write-back the tool left behind (ctxsync's upload ends with its own syncfs). */
  flushAfterSeconds: number | null;
  filesMoved: number | null;
  runs: number;
}

/** A pass/fail goal. */
export interface Target {
  name: string;
  /** What was measured, in the unit of `limit`. */
  value: number;
  limit: number;
  unit: string;
  pass: boolean;
}

const OP_LABELS: Record<OpName, string> = {
  initial: "initial upload",
  noop: "no-op upload",
  change: "upload after 1 % change",
  download: "download to empty dir",
};

/** The anchor each operation's ratio is taken against: the one its target names (rsync where none does). */
const RATIO_ANCHOR: Record<OpName, Exclude<Tool, "ctxsync">> = {
  initial: "rclone",
  noop: "rsync",
  change: "rsync",
  download: "rsync",
};

const RSS_LIMIT_MB = 300;

/** Creates an empty sample table. */
export function emptySamples(): Samples {
  const byTool = (): Record<Tool, Sample[]> => ({ ctxsync: [], rsync: [], rclone: [] });
  return { initial: byTool(), noop: byTool(), change: byTool(), download: byTool() };
}

/** Best time, peak RSS and the rest for every operation and tool that has samples. */
export function summarize(samples: Samples): Record<OpName, Partial<Record<Tool, Summary>>> {
  const out = {} as Record<OpName, Partial<Record<Tool, Summary>>>;
  for (const op of OPS) {
    out[op] = {};
    for (const tool of TOOLS) {
      const list = samples[op][tool];
      if (list.length === 0) continue;
      const best = list.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      const rss = list.map((s) => s.peakRssMB).filter((r): r is number => r !== null);
      const cpu = list.map((s) => s.cpuSeconds).filter((c): c is number => c !== null);
      out[op][tool] = {
        bestSeconds: best.seconds,
        bestWallSeconds: best.wallSeconds,
        bestCpuSeconds: cpu.length > 0 ? Math.min(...cpu) : null,
        peakRssMB: rss.length > 0 ? Math.max(...rss) : null,
        flushAfterSeconds: best.flushAfterSeconds ?? null,
        filesMoved: best.filesMoved ?? null,
        runs: list.length,
      };
    }
  }
  return out;
}

/** The four goals of the brief, judged on the summaries. */
export function judge(summary: ReturnType<typeof summarize>): Target[] {
  const ratio = (op: OpName, anchor: Tool): number => {
    const mine = summary[op].ctxsync?.bestSeconds ?? NaN;
    const theirs = summary[op][anchor]?.bestSeconds ?? NaN;
    return mine / theirs;
  };
  const ratioTarget = (name: string, value: number, limit: number): Target => ({ name, value, limit, unit: "×", pass: value <= limit });
  const peakRss = Math.max(...OPS.map((op) => summary[op].ctxsync?.peakRssMB ?? 0));
  return [
    ratioTarget("initial upload ≤ 1.5× rclone", ratio("initial", "rclone"), 1.5),
    ratioTarget("no-op upload ≤ 3× rsync no-op", ratio("noop", "rsync"), 3),
    ratioTarget("download ≤ 1.5× rsync", ratio("download", "rsync"), 1.5),
    { name: `ctxsync peak RSS < ${RSS_LIMIT_MB} MB (any op)`, value: peakRss, limit: RSS_LIMIT_MB, unit: " MB", pass: peakRss < RSS_LIMIT_MB },
  ];
}

/** The results table, one row per operation. */
export function formatTable(summary: ReturnType<typeof summarize>): string {
  const header = ["op", "ctxsync s", "(child wall s)", "rsync s", "rclone s", "ratio", "files", "CPU s ctxsync/rsync/rclone", "peak RSS MB ctxsync/rsync/rclone"];
  const rows = OPS.map((op) => {
    const s = summary[op];
    const anchor = RATIO_ANCHOR[op];
    const ratio = (s.ctxsync?.bestSeconds ?? NaN) / (s[anchor]?.bestSeconds ?? NaN);
    const runs = s.ctxsync?.runs ?? 0;
    return [
      `${OP_LABELS[op]}${runs > 1 ? ` (best of ${runs})` : ""}`,
      secs(s.ctxsync?.bestSeconds),
      secs(s.ctxsync?.bestWallSeconds),
      secs(s.rsync?.bestSeconds),
      secs(s.rclone?.bestSeconds),
      `${num(ratio, 2)}× ${anchor}`,
      String(s.ctxsync?.filesMoved ?? "-"),
      TOOLS.map((t) => num(s[t]?.bestCpuSeconds, 2)).join(" / "),
      TOOLS.map((t) => num(s[t]?.peakRssMB, 0)).join(" / "),
    ];
  });
  return alignColumns([header, ...rows]);
}

/** One line per target with its verdict. */
export function formatTargets(targets: readonly Target[]): string {
  return targets
    .map((t) => `  ${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${num(t.value, t.unit === "×" ? 2 : 0)}${t.unit}`)
    .join("\n");
}

/** How long write-back took after each initial copy: the durability the anchors skip and ctxsync pays for. */
export function formatFlushNote(summary: ReturnType<typeof summarize>): string {
  const parts = TOOLS.map((t) => `${t} ${secs(summary.initial[t]?.flushAfterSeconds ?? undefined)} s`);
  return `write-back (\`sync\`) right after the initial upload: ${parts.join(", ")} — ctxsync's upload already ends with a syncfs of its store, the anchors do not sync.`;
}

function secs(x: number | undefined): string {
  return x === undefined ? "-" : x.toFixed(3);
}

function num(x: number | null | undefined, digits: number): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(digits);
}

function alignColumns(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: readonly string[]): string => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ");
  return [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

/** Optional comparisons (--archive, --remote): a ctxsync op against a reference measured in the same run. */
export const EXTRA_OPS = ["archiveUp", "archiveDown", "remoteInitial", "remoteDownload"] as const;
export type ExtraOp = (typeof EXTRA_OPS)[number];

/** Samples of each extra op: ctxsync's, and its reference's (tar, or embedded ctxsync for remote ops). */
export type ExtraSamples = Record<ExtraOp, { ctxsync: Sample[]; ref: Sample[] }>;

const EXTRA_INFO: Record<ExtraOp, { label: string; ref: string; limit: number }> = {
  archiveUp: { label: "archive upload (ARCHIVE mode)", ref: "tar czf", limit: 1.3 },
  archiveDown: { label: "archive download to empty dir", ref: "tar xzf", limit: 1.3 },
  remoteInitial: { label: "remote initial upload (server+agent)", ref: "embedded initial upload", limit: 1.5 },
  remoteDownload: { label: "remote download to empty dir", ref: "embedded download", limit: 1.5 },
};

export function emptyExtraSamples(): ExtraSamples {
  const pair = (): { ctxsync: Sample[]; ref: Sample[] } => ({ ctxsync: [], ref: [] });
  return { archiveUp: pair(), archiveDown: pair(), remoteInitial: pair(), remoteDownload: pair() };
}

export type ExtraSummary = Partial<Record<ExtraOp, { ctxsync: Summary; ref: Summary; refName: string; ratio: number }>>;

/** Summaries of the extra ops that ran; remote refs are filled in from the embedded samples. */
export function summarizeExtras(extra: ExtraSamples, main: ReturnType<typeof summarize>): ExtraSummary {
  const one = (list: Sample[]): Summary | undefined => {
    if (list.length === 0) return undefined;
    const s = summarize({ ...emptySamples(), initial: { ctxsync: list, rsync: [], rclone: [] } });
    return s.initial.ctxsync;
  };
  const out: ExtraSummary = {};
  for (const op of EXTRA_OPS) {
    const mine = one(extra[op].ctxsync);
    const ref = op === "remoteInitial" ? main.initial.ctxsync : op === "remoteDownload" ? main.download.ctxsync : one(extra[op].ref);
    if (!mine || !ref) continue;
    out[op] = { ctxsync: mine, ref, refName: EXTRA_INFO[op].ref, ratio: mine.bestSeconds / ref.bestSeconds };
  }
  return out;
}

export function judgeExtras(summary: ExtraSummary): Target[] {
  return EXTRA_OPS.flatMap((op) => {
    const s = summary[op];
    if (!s) return [];
    const { label, ref, limit } = EXTRA_INFO[op];
    return [{ name: `${label} ≤ ${limit}× ${ref}`, value: s.ratio, limit, unit: "×", pass: s.ratio <= limit }];
  });
}

/** The extra ops' table: ctxsync against its reference. */
export function formatExtraTable(summary: ExtraSummary): string {
  const header = ["op", "ctxsync s", "(child wall s)", "reference", "ref s", "ratio", "files", "CPU s ctxsync/ref", "peak RSS MB ctxsync/ref"];
  const rows = EXTRA_OPS.flatMap((op) => {
    const s = summary[op];
    if (!s) return [];
    return [
      [
        EXTRA_INFO[op].label,
        secs(s.ctxsync.bestSeconds),
        secs(s.ctxsync.bestWallSeconds),
        s.refName,
        secs(s.ref.bestSeconds),
        `${num(s.ratio, 2)}×`,
        String(s.ctxsync.filesMoved ?? "-"),
        `${num(s.ctxsync.bestCpuSeconds, 2)} / ${num(s.ref.bestCpuSeconds, 2)}`,
        `${num(s.ctxsync.peakRssMB, 0)} / ${num(s.ref.peakRssMB, 0)}`,
      ],
    ];
  });
  return rows.length > 0 ? alignColumns([header, ...rows]) : "";
}
