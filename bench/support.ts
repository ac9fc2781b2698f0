// What every benchmark script here shares: option parsing, its log line, number formatting,
// and the run's context (commit, machine load) printed beside the figures.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { stopChild } from "../dev/processes.ts";

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

/** The machine a run happened on, for the report's header. */
export function machineDescription(): string {
  return `${cpus().length} cores (${cpus()[0]?.model.trim() ?? "unknown CPU"}), Node ${process.version}, ${process.platform} ${process.arch}`;
}

/** An installed package's version, for the report ("?" if it cannot be read). */
export function packageVersion(name: string): string {
  try {
    const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}

export interface PortChild {
  process: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts a baseline server script (Hocuspocus, the bare ws relay) in a Node child process
 * and waits for the `READY <port>` line it prints once it accepts connections. The child
 * stops when its stdin closes, so it does not outlive this process even on SIGKILL.
 */
export async function startPortChild(script: URL, what: string, timeoutMs = 20_000): Promise<PortChild> {
  const child = spawn(process.execPath, [script.pathname], { stdio: ["pipe", "pipe", "pipe"] });
  const output: string[] = [];
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs / 1000} s: ${output.join("")}`)), timeoutMs);
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /READY (\d+)/.exec(buffered);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with code ${code}: ${output.join("")}`));
    });
  }).catch(async (error: unknown) => {
    await stopChild(child);
    throw error;
  });
  return { process: child, port, stop: () => stopChild(child) };
}
