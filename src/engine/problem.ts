/**
 * A per-file failure: the file's key and what went wrong. Tasks collect problems, finish what can
 * finish, and fail with a summary, so one unreadable file does not stop a thousand others.
 */
export interface Problem {
  key: string;
  message: string;
}

/** How many problems a summary names before it says "and N more". */
const SUMMARY_MAX = 5;

/** One line for a task's errorMessage: `2 files failed: /a: why; /b: why`. */
export function summarizeProblems(problems: readonly Problem[]): string {
  const head = problems.slice(0, SUMMARY_MAX).map((p) => `${p.key}: ${p.message}`);
  const more = problems.length > SUMMARY_MAX ? `; and ${problems.length - SUMMARY_MAX} more` : "";
  const noun = problems.length === 1 ? "file" : "files";
  return `${problems.length} ${noun} failed: ${head.join("; ")}${more}`;
}
