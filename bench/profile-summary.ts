/**
 * Summarises a V8 CPU profile (from `npm run bench -- --cpu-prof DIR`, which profiles the timed op
 * only): time by kind of work, then self time per function. Time inside a synchronous fs call counts
 * against the native fs function (open, writeBuffer, rename, ...); "(idle)" is waiting, e.g. for the
 * `sync -f` child that makes uploaded blobs durable.
 *
 *   npx tsx bench/profile-summary.ts FILE.cpuprofile [--top 25]
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

/** Self time per function (name + file:line), largest first. */
export function selfTimes(profile: CpuProfile): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
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

function main(): void {
  const { values, positionals } = parseArgs({ options: { top: { type: "string", default: "25" } }, allowPositionals: true });
  const file = positionals[0];
  if (!file) {
    console.error("usage: tsx bench/profile-summary.ts FILE.cpuprofile [--top N]");
    process.exit(2);
  }
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  const rows = selfTimes(profile);
  const total = (profile.endTime - profile.startTime) / 1000;
  const print = (r: SelfTime): void => console.log(`${r.ms.toFixed(0).padStart(7)} ms ${((100 * r.ms) / total).toFixed(1).padStart(5)} %  ${r.fn}`);
  console.log(`${path.basename(file)}: ${total.toFixed(0)} ms profiled\nby kind:`);
  byKind(rows).forEach(print);
  console.log("by function (self time):");
  rows.slice(0, Number(values.top)).forEach(print);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
