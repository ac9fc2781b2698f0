import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { freePort, waitForHttpOk } from "../../dev/ports.ts";
import { descendantCpu, findWorkerEntry, machineBusyMs, summarize } from "../ingest/measure.ts";
import { benchLogger, fmt, intOption, loads, revision, sleep } from "../support.ts";

// Runtime floor of the fanout benchmark: what one WebSocket fanout costs the runtime itself,
// with no product code. The same bare relay (every frame a socket sends goes to every other
// socket, untouched) in a Durable Object in workerd, hibernatable and not, and on a Node `ws`
// server (the server Hocuspocus is built on), measured with the same clients in one run.
// If the bare relay in workerd already costs more than Hocuspocus does in full, no hub code
// can make ours match Hocuspocus in local workerd. See README.md beside this file.

const { values: args } = parseArgs({
  options: {
    agents: { type: "string", default: "200" },
    rounds: { type: "string", default: "200" },
    "gap-ms": { type: "string", default: "20" },
    direct: { type: "boolean", default: false },
    "no-deflate": { type: "boolean", default: false },
    json: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(`usage: npx node bench/fanout/runtime-floor.ts [--agents 200] [--rounds 200] [--gap-ms 20] [--direct] [--no-deflate] [--json FILE]

  --direct      connect to the relay Worker's own workerd entry, bypassing wrangler dev's proxy
  --no-deflate  clients do not offer permessage-deflate (browsers and ws do)`);
  process.exit(0);
}
const AGENTS = intOption("agents", args.agents, 2);
const ROUNDS = intOption("rounds", args.rounds);
const GAP_MS = intOption("gap-ms", args["gap-ms"], 0);
const ROUND_TIMEOUT_MS = 5_000;
const FRAME_BYTES = 100;
const log = benchLogger("runtime-floor");

type Phase = "workerd, hibernation API" | "workerd, accept()" | "Node ws";

interface PhaseResult {
  phase: Phase;
  latency: ReturnType<typeof summarize>;
  lastReceiver: ReturnType<typeof summarize>;
  samples: number;
  missed: number;
  serverCpuMs: number;
  serverUsPerDelivery: number;
  extensions: string;
  otherProcessesPercent: number;
}

// --- servers ---------------------------------------------------------------------------------

interface Server {
  url: string;
  /** The processes whose CPU counts as the server's. */
  pids(): number[];
  stop(): Promise<void>;
}

async function startRelayWorker(dataDir: string): Promise<Server & { proxyUrl: string }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      new URL("../../node_modules/wrangler/bin/wrangler.js", import.meta.url).pathname,
      "dev",
      "--ip", "127.0.0.1",
      "--port", String(port),
      "--inspector-port", String(await freePort()),
      "--persist-to", dataDir,
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: new URL("./runtime-floor/", import.meta.url).pathname,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", X_LOCAL_OBSERVABILITY: "false", CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  const output: string[] = [];
  child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const proxyUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHttpOk(`${proxyUrl}/health`, 90_000, () => child.exitCode === null);
  } catch (error) {
    await stopGroup(child);
    throw new Error(`the relay Worker did not start: ${String(error)}\n${output.join("")}`);
  }
  const base = args.direct ? await findWorkerEntry(proxyUrl) : proxyUrl;
  if (!base) throw new Error("--direct: the relay Worker's own workerd entry was not found");
  return {
    proxyUrl,
    url: base.replace(/^http/, "ws"),
    pids: () => [child.pid!, ...descendantCpu(child.pid!).keys()],
    stop: () => stopGroup(child),
  };
}

async function startWsRelay(): Promise<Server> {
  const child = spawn(process.execPath, [new URL("./runtime-floor/ws-relay.ts", import.meta.url).pathname], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /READY (\d+)/.exec(buffered);
      if (match) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`the ws relay exited with code ${code}`)));
  });
  return {
    url: `ws://127.0.0.1:${port}`,
    pids: () => [child.pid!],
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

function cpuMsOf(pids: readonly number[]): number {
  const all = descendantCpu(process.pid);
  return pids.reduce((sum, pid) => sum + (all.get(pid)?.cpuMs ?? 0), 0);
}

// --- one phase ---------------------------------------------------------------------------------

async function runPhase(phase: Phase, url: string, server: Server): Promise<PhaseResult> {
  log(`${phase}: connecting ${AGENTS} clients to ${url}`);
  const clients: WebSocket[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const ws = new WebSocket(url, { perMessageDeflate: !args["no-deflate"] });
    ws.binaryType = "nodebuffer";
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    clients.push(ws);
  }
  // A frame carries its round; each receiver's latency is its arrival minus the send time.
  let round = -1;
  let sentAt = 0;
  let waiting = 0;
  let roundDone: (() => void) | null = null;
  const latencies: number[] = [];
  for (const ws of clients) {
    ws.on("message", (data: Buffer) => {
      if (data.readUInt32LE(0) !== round) return;
      latencies.push(performance.now() - sentAt);
      if (--waiting === 0) roundDone?.();
    });
  }
  const pids = server.pids();
  const cpuBefore = cpuMsOf(pids);
  const busyBefore = machineBusyMs();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  const lastReceiver: number[] = [];
  let missed = 0;
  for (let k = 0; k < ROUNDS; k++) {
    round = k;
    waiting = AGENTS - 1;
    const frame = Buffer.alloc(FRAME_BYTES);
    frame.writeUInt32LE(k, 0);
    const done = new Promise<void>((resolve) => (roundDone = resolve));
    sentAt = performance.now();
    clients[k % AGENTS]!.send(frame);
    const finished = await Promise.race([done.then(() => true), sleep(ROUND_TIMEOUT_MS).then(() => false)]);
    if (finished) lastReceiver.push(performance.now() - sentAt);
    else missed += waiting;
    await sleep(GAP_MS);
  }
  const wallMs = performance.now() - started;
  const serverCpuMs = cpuMsOf(pids) - cpuBefore;
  const own = process.cpuUsage(ownBefore);
  const othersMs = machineBusyMs() - busyBefore - serverCpuMs - (own.user + own.system) / 1000;
  const extensions = clients[0]!.extensions || "none";
  await Promise.all(
    clients.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once("close", () => resolve());
          ws.close(1000, "done");
          setTimeout(resolve, 2_000);
        }),
    ),
  );
  const deliveries = latencies.length;
  return {
    phase,
    latency: summarize(latencies),
    lastReceiver: summarize(lastReceiver),
    samples: deliveries,
    missed,
    serverCpuMs,
    serverUsPerDelivery: (serverCpuMs * 1000) / Math.max(1, deliveries),
    extensions,
    otherProcessesPercent: (Math.max(0, othersMs) / wallMs) * 100,
  };
}

// --- main ----------------------------------------------------------------------------------------

const dataDir = await mkdtemp(join(tmpdir(), "runtime-floor-"));
const servers: Server[] = [];
let stopping = false;
async function stopAll(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
  await rm(dataDir, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void stopAll().finally(() => process.exit(130)));
}

try {
  log(`starting the relay Worker (wrangler dev) and the ws relay; revision ${revision()}, load ${loads()}`);
  const worker = await startRelayWorker(dataDir);
  servers.push(worker);
  const node = await startWsRelay();
  servers.push(node);
  const results = [
    await runPhase("workerd, hibernation API", `${worker.url}/?mode=hibernation`, worker),
    await runPhase("workerd, accept()", `${worker.url}/?mode=accept`, worker),
    await runPhase("Node ws", node.url, node),
  ];
  const rows: [string, (result: PhaseResult) => string][] = [
    ["delivery latency p50", (r) => `${fmt(r.latency.p50, 1)} ms`],
    ["delivery latency p90", (r) => `${fmt(r.latency.p90, 1)} ms`],
    ["delivery latency p99", (r) => `${fmt(r.latency.p99, 1)} ms`],
    ["delivery latency max", (r) => `${fmt(r.latency.max, 1)} ms`],
    ["round: send → last receiver, p50", (r) => `${fmt(r.lastReceiver.p50, 1)} ms`],
    ["round: send → last receiver, p99", (r) => `${fmt(r.lastReceiver.p99, 1)} ms`],
    [`samples (of ${fmt((AGENTS - 1) * ROUNDS)})`, (r) => fmt(r.samples)],
    ["missed", (r) => fmt(r.missed)],
    ["server CPU during the rounds", (r) => `${fmt(r.serverCpuMs)} ms`],
    ["  per delivered frame", (r) => `${fmt(r.serverUsPerDelivery, 1)} us`],
    ["WebSocket extensions negotiated", (r) => r.extensions],
    ["other processes (% of a core)", (r) => `${fmt(r.otherProcessesPercent)} %`],
  ];
  const width = 22;
  console.log(
    `\nRuntime floor: a bare relay, ${AGENTS} clients, ${ROUNDS} rounds of one ${FRAME_BYTES}-byte frame to all others` +
      `${args.direct ? ", workerd straight (no wrangler proxy)" : ", workerd through wrangler dev's proxy"}` +
      `${args["no-deflate"] ? ", clients do not offer deflate" : ", clients offer deflate"}\n`,
  );
  console.log(`  ${"".padEnd(36)}${results.map((r) => r.phase.padStart(width + 4)).join("")}`);
  for (const [label, cell] of rows) console.log(`  ${label.padEnd(36)}${results.map((r) => cell(r).padStart(width + 4)).join("")}`);
  console.log(`\n  revision ${revision()}, load ${loads()}`);
  if (args.json) {
    const { writeFile } = await import("node:fs/promises");
    await writeFile(args.json, JSON.stringify({ agents: AGENTS, rounds: ROUNDS, direct: args.direct, deflateOffered: !args["no-deflate"], results }, null, 2));
  }
} finally {
  await stopAll();
}
