// What every benchmark script here shares: option parsing, its log line, number formatting,
// and the run's context (commit, machine load) printed beside the figures.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { freePort, waitForHttpOk } from "../dev/ports.ts";
import { stopChild } from "../dev/processes.ts";
import { newId } from "../schema/tables.ts";
import { signSession } from "../worker/auth/tokens.ts";
import { answersAsWorker, descendantCpu, machineBusyMs, threadCpuMs } from "./ingest/measure.ts";

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

// --- shared by the fanout, runtime-floor and co-edit benchmarks -----------------------------

/** CPU use so far: this process (main thread, whole process), its child processes, the machine. */
export interface CpuSnapshot {
  at: number;
  mainThread: number;
  children: Map<number, { comm: string; cpuMs: number }>;
  machine: number;
  process: number;
}

/** A CpuSnapshot now; `entryPort` is wrangler dev's port, to tell its proxy workerd from the Worker's. */
export function cpuSnapshot(entryPort?: string): CpuSnapshot {
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    mainThread: threadCpuMs(),
    children: descendantCpu(process.pid, entryPort),
    machine: machineBusyMs(),
    process: (usage.user + usage.system) / 1000,
  };
}

/**
 * CPU ms per process kind between two snapshots; the Hocuspocus child is named by its pid.
 * `clientsMs` is the CPU of the worker thread that runs the clients (measured there).
 */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot, hocuspocusPid: number | undefined, clientsMs: number): { wallMs: number; by: [string, number][] } {
  const byName = new Map<string, number>();
  for (const [pid, now] of after.children) {
    const name = pid === hocuspocusPid ? HOCUSPOCUS_PROCESS : now.comm;
    const used = now.cpuMs - (before.children.get(pid)?.cpuMs ?? 0);
    byName.set(name, (byName.get(name) ?? 0) + used);
  }
  const processMs = after.process - before.process;
  const mainMs = after.mainThread - before.mainThread;
  const by: [string, number][] = [
    ["bench worker thread: the N clients", clientsMs],
    ["bench main thread (shard host, idle here)", mainMs],
    ["bench other threads (worker start, GC, libuv)", Math.max(0, processMs - mainMs - clientsMs)],
  ];
  for (const [name, ms] of [...byName].sort((a, b) => b[1] - a[1])) by.push([name, ms]);
  const ours = processMs + [...byName.values()].reduce((a, b) => a + b, 0);
  by.push([OTHER_PROCESSES, Math.max(0, after.machine - before.machine - ours)]);
  return { wallMs: after.at - before.at, by };
}

export const HOCUSPOCUS_PROCESS = "Hocuspocus server (node, child process)";
export const OTHER_PROCESSES = "other processes on the machine";

/**
 * Whether a process kind counts as the local workerd server's CPU: both workerd processes
 * (the Worker's and wrangler's proxy) and wrangler itself, not wrangler's esbuild file
 * watcher (~1 % of a core whatever the Worker does).
 */
export function isWorkerdServerProcess(name: string): boolean {
  return name.startsWith("workerd") || name === "wrangler (node)";
}

/** Lines of wrangler's debug logs (WRANGLER_LOG_PATH) that look like errors or warnings, and the Worker's reloads. */
export function wranglerTrouble(dir: string): { count: number; sample: string[]; reloads: number } {
  const sample: string[] = [];
  let count = 0;
  let reloads = 0;
  let files: string[] = [];
  try {
    files = readdirSync(dir);
  } catch {
    return { count: 0, sample, reloads };
  }
  for (const file of files) {
    let text = "";
    try {
      text = readFileSync(join(dir, file), "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      // One reloadStart when wrangler first starts the Worker, one more per rebuild.
      if (line.includes('"type":"reloadStart"')) reloads++;
      if (!/\b(error|warn|warning|exception|uncaught)\b|✘|▲/i.test(line)) continue;
      // wrangler's own chatter about the local dev session, not the Worker.
      if (/X_LOCAL_OBSERVABILITY|metrics|update available|telemetry/i.test(line)) continue;
      count++;
      if (sample.length < 8) sample.push(line.trim().slice(0, 300));
    }
  }
  return { count, sample, reloads: Math.max(0, reloads - 1) };
}

export interface BenchAgent {
  agentId: string;
  name: string;
  /** A session token signed like POST /api/auth/login's. */
  token: string;
}

/**
 * `count` agents of `accountId`: rows on the account's shard (without a usable password),
 * so they are real agents of it whatever a room may look up, and session tokens signed
 * exactly like `POST /api/auth/login`'s with the stack's secret.
 */
export async function createBenchAgents(shardUrls: readonly string[], secret: string, accountId: string, count: number, runId: string): Promise<BenchAgent[]> {
  const directory = createClient({ url: shardUrls[0]! });
  const placement = await directory.execute({ sql: "SELECT shard_index FROM accounts WHERE id = ?", args: [accountId] });
  directory.close();
  const shardIndex = Number(placement.rows[0]?.shard_index);
  const shard = createClient({ url: shardUrls[shardIndex]! });
  const now = Date.now();
  const agents: BenchAgent[] = [];
  for (let i = 0; i < count; i++) {
    const agentId = newId("agent");
    const name = `Bench Agent ${i + 1}`;
    agents.push({ agentId, name, token: await signSession({ agentId, accountId, name, role: "agent" }, secret) });
  }
  await shard.batch(
    agents.map((agent, i) => ({
      sql: "INSERT INTO agents (id, account_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, 'agent', ?, ?)",
      // No login: the hash of nothing anyone can type.
      args: [agent.agentId, accountId, `bench-${runId}-${i + 1}@bench.invalid`, agent.name, "!bench-no-login", now],
    })),
    "write",
  );
  shard.close();
  return agents;
}

export interface RelayWorker {
  /** wrangler dev's URL (its proxy). */
  proxyUrl: string;
  /** wrangler dev's port, to tell its proxy workerd from the Worker's (descendantCpu). */
  proxyPort: string;
  /** ws:// base URL the clients use: the proxy's, or with `direct` the Worker's own workerd entry. */
  url: string;
  /** wrangler and the workerd processes it started. */
  pids(): number[];
  stop(): Promise<void>;
}

/**
 * Starts the runtime-floor's bare Durable Object relay (bench/fanout/runtime-floor/) under a
 * `wrangler dev` of its own (its own process group). Clients connect to `${url}/?mode=hibernation`
 * (acceptWebSocket, as the product's rooms) or `?mode=accept`. `register` receives the
 * stop function right after the spawn, before the Worker answers, so an interrupted start
 * is stopped too. With `direct`, `url` is the Worker's own workerd entry (looked for among
 * this wrangler's processes only).
 */
export async function startRelayWorker(dataDir: string, options: { direct: boolean; register(stop: () => Promise<void>): void }): Promise<RelayWorker> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url).pathname,
      "dev",
      "--ip", "127.0.0.1",
      "--port", String(port),
      "--inspector-port", String(await freePort()),
      "--persist-to", dataDir,
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: new URL("./fanout/runtime-floor/", import.meta.url).pathname,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", X_LOCAL_OBSERVABILITY: "false", CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so stopChild() also reaches the workerd processes it starts.
      detached: true,
    },
  );
  const stop = () => stopChild(child, { group: true });
  options.register(stop);
  const output: string[] = [];
  child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const proxyUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHttpOk(`${proxyUrl}/health`, 90_000, () => child.exitCode === null);
  } catch (error) {
    throw new Error(`the relay Worker did not start: ${String(error)}\n${output.join("")}`);
  }
  const pids = () => [child.pid!, ...descendantCpu(child.pid!).keys()];
  const base = options.direct ? await workerEntryAmong(pids(), String(port)) : proxyUrl;
  if (!base) throw new Error("--direct: the relay Worker's own workerd entry was not found");
  return { proxyUrl, proxyPort: String(port), url: base.replace(/^http/, "ws"), pids, stop };
}

/**
 * Like findWorkerEntry (bench/ingest/measure.ts), but only among the given processes (one
 * wrangler dev's), so it cannot pick another wrangler dev's Worker running beside it: the
 * port, other than the proxy's, on which one of these workerd processes answers /health
 * with a `protocolVersion`. Listening sockets come from `ss`; null if none is found.
 */
export async function workerEntryAmong(pids: readonly number[], proxyPort: string): Promise<string | null> {
  const wanted = new Set(pids);
  let listing = "";
  try {
    listing = execFileSync("ss", ["-Hltnp"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return null;
  }
  for (const line of listing.split("\n")) {
    const port = /^\S+\s+\d+\s+\d+\s+\S+:(\d+)\s/.exec(line)?.[1];
    if (!port || port === proxyPort || !/"workerd"/.test(line)) continue;
    const owners = [...line.matchAll(/pid=(\d+)/g)].map((match) => Number(match[1]));
    if (!owners.some((pid) => wanted.has(pid))) continue;
    if (await answersAsWorker(port)) return `http://127.0.0.1:${port}`;
  }
  return null;
}
