// What every benchmark script here shares: option parsing, its log line, number formatting,
// and the run's context (commit, machine load) printed beside the figures.

import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";

/** An integer option of at least `min`, or a clear error naming the flag. */
export function intOption(name: string, text: string | undefined, min = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min}, got ${text}`);
  return value;
}

/** Progress lines on stderr, so stdout stays the report. */
export function benchLogger(name: string): (line: string) => void {
  return (line) => console.error(`[${name} ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "n/a";
}

/** The 1, 5 and 15 minute load averages: how busy the machine was around a run. */
export function loads(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(" ");
}

/** The checkout's commit and whether its working tree differs, if this is a git checkout. */
export function revision(): string {
  try {
    const cwd = new URL("..", import.meta.url).pathname;
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return `${head}${dirty ? " + uncommitted changes" : ""}`;
  } catch {
    // A `git archive` snapshot (how some README figures were taken) can say which commit it is.
    return process.env.BENCH_CODE_REVISION ? `${process.env.BENCH_CODE_REVISION} (snapshot, not a git checkout)` : "not a git checkout";
  }
}
