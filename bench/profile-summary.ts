/**
 * Summarises a V8 CPU profile (from `npm run bench -- --cpu-prof DIR`, which profiles the timed op
 * only): time by kind of work, then self time per function. Time inside a synchronous fs call counts
 * against the native fs function (open, writeBuffer, rename, ...); "(idle)" is waiting, e.g. for the
 * `sync -f` child that makes uploaded blobs durable.
 *
 *   npx tsx bench/profile-summary.ts FILE.cpuprofile [--top 25] [--timeline] [--from S] [--to S]
 *
 * A server's profile covers its whole life (start, upload, idle, download): `--timeline` prints its busy
 * time per quarter second (of the whole profile), and `--from`/`--to` (seconds since the profile began)
 * summarise one stretch.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One row of the summary: a function and the milliseconds spent in it (not in its callees). */
export interface SelfTime {
  fn: string;
  ms: number;
}

/** A stretch of a profile, in milliseconds since it began. */
export interface ProfileWindow {
  fromMs: number;
  toMs: number;
}

/** Self time per function (name + file:line), largest first; only samples inside `window` when given. */
export function selfTimes(profile: CpuProfile, window?: ProfileWindow): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const totals = new Map<string, number>();
  let atMs = 0;
  profile.samples.forEach((id, i) => {
    atMs += (profile.timeDeltas[i] ?? 0) / 1000;
    if (window && (atMs < window.fromMs || atMs >= window.toMs)) return;
    const node = byId.get(id);
    if (!node) return;
    const key = describe(node, parent);
    // timeDeltas[i] is the time before sample i; attributing it to sample i is V8's own convention.
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...totals].map(([fn, ms]) => ({ fn, ms })).sort((a, b) => b.ms - a.ms);
}

/** Kinds of work, matched on the description of a function; the first match wins. */
const KINDS: [string, RegExp][] = [
  ["fs: create/open files", /^(open|openSync|existsSync|access) /],
  ["fs: read/write bytes", /^(read|writeBuffer|writeString|readSync|writeSync|close) /],
  ["fs: rename/mkdir/chmod/utimes", /^(rename|mkdir|chmod|utimes|futimes|fchmod|lutimes) /],
  ["fs: lstat/readdir", /^(lstat|lstatSync|stat|statSync|readdir|readdirSync|getStatsFromBinding) /],
  ["garbage collector", /^\(garbage collector\)/],
  ["idle (waiting)", /^\(idle\)/],
  ["crypto (hash, random)", /crypto\//],
  ["sqlite", /(better-sqlite3|store\/meta\/)/],
  ["buffers", /node:internal\/buffer/],
];

/** Self time summed by KINDS, plus "other JS". */
export function byKind(rows: readonly SelfTime[]): SelfTime[] {
  const totals = new Map<string, number>();
  for (const r of rows) {
    const kind = KINDS.find(([, re]) => re.test(`${r.fn} `))?.[0] ?? "other (JS, node internals)";
    totals.set(kind, (totals.get(kind) ?? 0) + r.ms);
  }
  return [...totals].map(([fn, ms]) => ({ fn, ms })).sort((a, b) => b.ms - a.ms);
}

/**
 * `name file:line`. A native function (no file: a syscall binding, a SQLite call) is named with its
 * nearest JS caller instead (`run <- src/store/meta/sqlite.ts:…`), so that "run" or "open" says whose it is.
 * Line numbers are of the code as tsx emitted it.
 */
function describe(n: ProfileNode, parent: ReadonlyMap<number, ProfileNode>): string {
  const name = n.callFrame.functionName || "(anonymous)";
  if (n.callFrame.url || name.startsWith("(")) return `${name}${where(n)}`;
  let caller = parent.get(n.id);
  while (caller && !caller.callFrame.url) caller = parent.get(caller.id);
  return caller ? `${name} <- ${caller.callFrame.functionName || "(anonymous)"}${where(caller)}` : name;
}

function where(n: ProfileNode): string {
  const { url, lineNumber } = n.callFrame;
  return url ? ` ${url.replace(/^file:\/\//, "").replace(/^.*\/(src|bench|node_modules)\//, "$1/")}:${lineNumber + 1}` : "";
}

/** Busy (not idle) milliseconds per quarter second, for the quarters with any work worth showing. */
export function timeline(profile: CpuProfile): { atMs: number; busyMs: number }[] {
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
  const busy = new Map<number, number>();
  let atMs = 0;
  profile.samples.forEach((id, i) => {
    const deltaMs = (profile.timeDeltas[i] ?? 0) / 1000;
    atMs += deltaMs;
    if (idle.has(id)) return;
    const quarter = Math.floor(atMs / QUARTER_MS);
    busy.set(quarter, (busy.get(quarter) ?? 0) + deltaMs);
  });
  return [...busy]
    .filter(([, ms]) => ms >= QUARTER_MS / 10)
    .sort((a, b) => a[0] - b[0])
    .map(([q, busyMs]) => ({ atMs: q * QUARTER_MS, busyMs }));
}

const QUARTER_MS = 250;

/** The stretch `--from`/`--to` name (seconds), clamped to the profile; exits 2 on values that make none. */
function windowOf(from: string | undefined, to: string | undefined, fullMs: number): ProfileWindow {
  const fromMs = 1000 * Number(from ?? 0);
  const toMs = Math.min(fullMs, to === undefined ? fullMs : 1000 * Number(to));
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs < 0 || fromMs >= toMs) {
    console.error(`--from and --to must be seconds with from < to inside the profile's ${(fullMs / 1000).toFixed(2)} s; got ${from ?? 0} and ${to ?? "its end"}`);
    process.exit(2);
  }
  return { fromMs, toMs };
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { top: { type: "string", default: "25" }, timeline: { type: "boolean", default: false }, from: { type: "string" }, to: { type: "string" } },
    allowPositionals: true,
  });
  const file = positionals[0];
  if (!file) {
    console.error("usage: tsx bench/profile-summary.ts FILE.cpuprofile [--top N] [--timeline] [--from S] [--to S]");
    process.exit(2);
  }
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  if (values.timeline) {
    for (const q of timeline(profile)) console.log(`${(q.atMs / 1000).toFixed(2).padStart(7)} s  busy ${q.busyMs.toFixed(0).padStart(4)} ms`);
    return;
  }
  const fullMs = (profile.endTime - profile.startTime) / 1000;
  const window = values.from !== undefined || values.to !== undefined ? windowOf(values.from, values.to, fullMs) : undefined;
  const rows = selfTimes(profile, window);
  const total = window ? window.toMs - window.fromMs : fullMs;
  const print = (r: SelfTime): void => console.log(`${r.ms.toFixed(0).padStart(7)} ms ${((100 * r.ms) / total).toFixed(1).padStart(5)} %  ${r.fn}`);
  const stretch = window ? ` (${(window.fromMs / 1000).toFixed(2)}–${(window.toMs / 1000).toFixed(2)} s)` : "";
  console.log(`${path.basename(file)}: ${total.toFixed(0)} ms profiled${stretch}\nby kind:`);
  byKind(rows).forEach(print);
  console.log("by function (self time):");
  rows.slice(0, Number(values.top)).forEach(print);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
