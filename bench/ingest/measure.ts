import { readdirSync, readFileSync, readlinkSync } from "node:fs";

// Small measuring helpers for the ingest benchmark: percentiles, and CPU time per process
// (from /proc) so the report can say which of the load generator, shard host and workerd
// used the machine's cores during a phase.

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(latenciesMs: readonly number[]): { p50: number; p90: number; p99: number; max: number } {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN };
}

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ; 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  cpuMs: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm is in parentheses and may contain spaces; the fields after it are space separated.
    const open = text.indexOf("(");
    const close = text.lastIndexOf(")");
    const comm = text.slice(open + 1, close);
    const fields = text.slice(close + 2).split(" ");
    const ppid = Number(fields[1]);
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return { pid, ppid, comm, cpuMs: ((utime + stime) * 1000) / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/** A readable name for a process: workerd's two instances under wrangler dev told apart. */
function labelOf(stat: ProcStat, entryPort: string | undefined): string {
  let cmdline = "";
  try {
    cmdline = readFileSync(`/proc/${stat.pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return stat.comm;
  }
  if (cmdline.includes("workerd")) {
    return entryPort && cmdline.includes(`entry=127.0.0.1:${entryPort} `) ? "workerd (wrangler's proxy in front)" : "workerd (Worker + DOs)";
  }
  if (cmdline.includes("wrangler")) return "wrangler (node)";
  if (cmdline.includes("esbuild")) return "esbuild (wrangler's bundler)";
  return stat.comm;
}

/**
 * CPU milliseconds used so far by each descendant process of `root` (excluding root), by
 * pid. `entryPort` is the Worker's port, to tell wrangler's proxy workerd from the real one.
 */
export function descendantCpu(root: number = process.pid, entryPort?: string): Map<number, { comm: string; cpuMs: number }> {
  const all: ProcStat[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc");
  } catch {
    return new Map();
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) all.push(stat);
  }
  const children = new Map<number, ProcStat[]>();
  for (const stat of all) {
    const list = children.get(stat.ppid) ?? [];
    list.push(stat);
    children.set(stat.ppid, list);
  }
  const out = new Map<number, { comm: string; cpuMs: number }>();
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const next = queue.shift()!;
    out.set(next.pid, { comm: labelOf(next, entryPort), cpuMs: next.cpuMs });
    queue.push(...(children.get(next.pid) ?? []));
  }
  return out;
}

/** CPU ms per process name between two descendantCpu() snapshots. */
export function cpuDelta(
  before: Map<number, { comm: string; cpuMs: number }>,
  after: Map<number, { comm: string; cpuMs: number }>,
): Map<string, number> {
  const byName = new Map<string, number>();
  for (const [pid, now] of after) {
    const used = now.cpuMs - (before.get(pid)?.cpuMs ?? 0);
    byName.set(now.comm, (byName.get(now.comm) ?? 0) + used);
  }
  return byName;
}

/** CPU ms of the calling thread (Node 23.9+), falling back to the whole process. */
export function threadCpuMs(): number {
  const usage = typeof process.threadCpuUsage === "function" ? process.threadCpuUsage() : process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Busy CPU ms of the whole machine so far (all cores; from /proc/stat), or NaN. */
export function machineBusyMs(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/**
 * Counts the shard host's HTTP requests and their time in the server (request start to
 * response finish), from node:http's diagnostics channels. The shard host runs in this
 * process (startStack starts it), so this sees every request it serves, whoever sent it.
 */
export class ShardRequestMeter {
  private readonly ports: Set<number>;
  private readonly started = new WeakMap<object, number>();
  requests = 0;
  serverMs: number[] = [];
  private readonly onStart = (message: unknown) => {
    const { request, server } = message as { request: object; server: { address(): unknown } };
    const address = server.address() as { port?: number } | null;
    if (address?.port === undefined || !this.ports.has(address.port)) return;
    this.started.set(request, performance.now());
  };
  private readonly onFinish = (message: unknown) => {
    const { request } = message as { request: object };
    const at = this.started.get(request);
    if (at === undefined) return;
    this.started.delete(request);
    this.requests++;
    this.serverMs.push(performance.now() - at);
  };

  constructor(shardUrls: readonly string[]) {
    this.ports = new Set(shardUrls.map((url) => Number(new URL(url).port)));
  }

  async start(): Promise<void> {
    const channels = await import("node:diagnostics_channel");
    channels.subscribe("http.server.request.start", this.onStart);
    channels.subscribe("http.server.response.finish", this.onFinish);
  }

  /** Counts from now on. */
  reset(): void {
    this.requests = 0;
    this.serverMs = [];
  }

  async stop(): Promise<void> {
    const channels = await import("node:diagnostics_channel");
    channels.unsubscribe("http.server.request.start", this.onStart);
    channels.unsubscribe("http.server.response.finish", this.onFinish);
  }
}

/** TCP ports a process listens on (from /proc: its socket inodes matched in /proc/net/tcp). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(match[1]!);
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    return [];
  }
  const ports: number[] = [];
  for (const table of ["tcp", "tcp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address rem_address st ... inode (field 9); st 0A = LISTEN
      if (fields[3] === "0A" && fields[9] && inodes.has(fields[9])) ports.push(parseInt(fields[1]!.split(":")[1]!, 16));
    }
  }
  return ports;
}

/**
 * The Worker's own entry in workerd, behind wrangler dev's proxy: a port of a workerd child
 * of this process, other than the proxy's, that answers /health like the Worker. For
 * diagnosis only (it measures the product without wrangler's dev proxy); null if not found.
 */
export async function findWorkerEntry(baseUrl: string): Promise<string | null> {
  const proxyPort = Number(new URL(baseUrl).port);
  for (const [pid, { comm }] of descendantCpu(process.pid, String(proxyPort))) {
    if (comm !== "workerd (Worker + DOs)") continue;
    for (const port of listeningPorts(pid)) {
      if (port === proxyPort) continue;
      if (await answersAsWorker(port)) return `http://127.0.0.1:${port}`;
    }
  }
  return null;
}

/** Whether this local port answers /health as the Worker does (with a `protocolVersion`). */
export async function answersAsWorker(port: number | string): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { protocolVersion?: unknown };
    return response.ok && body.protocolVersion !== undefined;
  } catch {
    return false; // not the Worker's entry
  }
}
