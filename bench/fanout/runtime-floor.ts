import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { cpuDelta, descendantCpu, machineBusyMs, summarize } from "../ingest/measure.ts";
import {
  benchLogger,
  fmt,
  intOption,
  isWorkerdServerProcess,
  loads,
  machineDescription,
  packageVersion,
  revision,
  sleep,
  startPortChild,
  startRelayWorker,
} from "../support.ts";

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

/** How to stop every child started so far; registered right after each spawn. */
const stops: (() => Promise<void>)[] = [];

type Phase = "workerd, hibernation API" | "workerd, accept()" | "Node ws";

interface PhaseResult {
  phase: Phase;
  latency: ReturnType<typeof summarize>;
  lastReceiver: ReturnType<typeof summarize>;
  samples: number;
  missed: number;
  serverCpuMs: number;
  serverUsPerDelivery: number;
  /** Server CPU ms by process kind (workerd behind the proxy, the proxy's workerd, wrangler). */
  serverCpuBy: Record<string, number>;
  extensions: string;
  /** Sockets that closed before the phase ended them (should be 0). */
  earlyCloses: number;
  otherProcessesPercent: number;
}

// --- servers ---------------------------------------------------------------------------------

interface Server {
  url: string;
  /** wrangler dev's port, to tell its proxy workerd from the Worker's (descendantCpu). */
  proxyPort?: string;
  /** The processes whose CPU counts as the server's. */
  pids(): number[];
}

async function startWsRelay(): Promise<Server> {
  const child = await startPortChild(new URL("./runtime-floor/ws-relay.ts", import.meta.url), "the ws relay");
  stops.push(child.stop);
  return { url: `ws://127.0.0.1:${child.port}`, pids: () => [child.process.pid!] };
}

/** CPU so far of the server's processes, by pid, labelled as descendantCpu() labels them. */
function serverCpu(server: Server): Map<number, { comm: string; cpuMs: number }> {
  const pids = new Set(server.pids());
  return new Map([...descendantCpu(process.pid, server.proxyPort)].filter(([pid]) => pids.has(pid)));
}

// --- one phase ---------------------------------------------------------------------------------

async function runPhase(phase: Phase, url: string, server: Server): Promise<PhaseResult> {
  await sleep(2_000); // let the previous phase's closes settle before connecting
  log(`${phase}: connecting ${AGENTS} clients to ${url}`);
  const clients: WebSocket[] = [];
  let ending = false;
  let earlyCloses = 0;
  for (let i = 0; i < AGENTS; i++) {
    const ws = new WebSocket(url, { perMessageDeflate: !args["no-deflate"] });
    ws.binaryType = "nodebuffer";
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    ws.on("close", () => {
      if (!ending) earlyCloses++;
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
      // Only this round's frame, intact (a relay that mangled it would not count).
      if (data.length !== FRAME_BYTES || data.readUInt32LE(0) !== round) return;
      latencies.push(performance.now() - sentAt);
      if (--waiting === 0) roundDone?.();
    });
  }
  const cpuBefore = serverCpu(server);
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
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<boolean>((resolve) => {
      roundDone = () => resolve(true);
      timer = setTimeout(() => resolve(false), ROUND_TIMEOUT_MS);
    });
    sentAt = performance.now();
    clients[k % AGENTS]!.send(frame);
    const finished = await done;
    clearTimeout(timer);
    if (finished) lastReceiver.push(performance.now() - sentAt);
    else missed += waiting;
    await sleep(GAP_MS);
  }
  const wallMs = performance.now() - started;
  const serverCpuBy = Object.fromEntries(cpuDelta(cpuBefore, serverCpu(server)));
  // As fanout-bench counts ours: workerd and wrangler, not wrangler's esbuild (its file
  // watcher, ~1 % of a core whatever the relay does; still listed in serverCpuBy).
  const counted = (name: string) => server.proxyPort === undefined || isWorkerdServerProcess(name);
  const serverCpuMs = Object.entries(serverCpuBy).reduce((sum, [name, ms]) => sum + (counted(name) ? ms : 0), 0);
  const own = process.cpuUsage(ownBefore);
  const othersMs = machineBusyMs() - busyBefore - serverCpuMs - (own.user + own.system) / 1000;
  const extensions = clients[0]!.extensions || "none";
  ending = true;
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
    serverCpuBy,
    extensions,
    earlyCloses,
    otherProcessesPercent: (Math.max(0, othersMs) / wallMs) * 100,
  };
}

// --- main ----------------------------------------------------------------------------------------

const dataDir = await mkdtemp(join(tmpdir(), "runtime-floor-"));
let stopping: Promise<void> | null = null;
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    await Promise.all(stops.map((stop) => stop().catch(() => undefined)));
    await rm(dataDir, { recursive: true, force: true });
  })();
  return stopping;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping wrangler dev and the ws relay`);
    void stopAll().finally(() => process.exit(130));
  });
}

try {
  const loadAtStart = loads();
  const machine = machineDescription();
  log(`starting the relay Worker (wrangler dev) and the ws relay`);
  const worker = await startRelayWorker(dataDir, { direct: args.direct, register: (stop) => stops.push(stop) });
  const node = await startWsRelay();
  const results = [
    await runPhase("workerd, hibernation API", `${worker.url}/?mode=hibernation`, worker),
    await runPhase("workerd, accept()", `${worker.url}/?mode=accept`, worker),
    await runPhase("Node ws", node.url, node),
  ];
  const share = (r: PhaseResult, name: string) => `${fmt(((r.serverCpuBy[name] ?? 0) * 1000) / Math.max(1, r.samples), 1)} us`;
  const rows: [string, (result: PhaseResult) => string][] = [
    ["delivery latency p50", (r) => `${fmt(r.latency.p50, 1)} ms`],
    ["delivery latency p90", (r) => `${fmt(r.latency.p90, 1)} ms`],
    ["delivery latency p99", (r) => `${fmt(r.latency.p99, 1)} ms`],
    ["delivery latency max", (r) => `${fmt(r.latency.max, 1)} ms`],
    ["round: send → last receiver, p50", (r) => `${fmt(r.lastReceiver.p50, 1)} ms`],
    ["round: send → last receiver, p99", (r) => `${fmt(r.lastReceiver.p99, 1)} ms`],
    [`samples (of ${fmt((AGENTS - 1) * ROUNDS)})`, (r) => fmt(r.samples)],
    ["missed", (r) => fmt(r.missed)],
    ["sockets closed early", (r) => fmt(r.earlyCloses)],
    ["server CPU during the rounds", (r) => `${fmt(r.serverCpuMs)} ms`],
    ["  per delivered frame", (r) => `${fmt(r.serverUsPerDelivery, 1)} us`],
    ["    workerd (Worker + DOs)", (r) => share(r, "workerd (Worker + DOs)")],
    ["    workerd (wrangler's proxy)", (r) => share(r, "workerd (wrangler's proxy in front)")],
    ["    wrangler (node)", (r) => share(r, "wrangler (node)")],
    ["WebSocket extensions negotiated", (r) => r.extensions],
    ["other processes (% of a core)", (r) => `${fmt(r.otherProcessesPercent)} %`],
  ];
  const width = 26;
  const out: string[] = [];
  out.push("");
  out.push(`Runtime floor, ${new Date().toISOString()}`);
  out.push(`  a bare relay (each frame to every other socket, untouched): ${AGENTS} clients, ${ROUNDS} rounds of one ${FRAME_BYTES}-byte frame, ${GAP_MS} ms between rounds`);
  out.push(`  machine: ${machine}`);
  out.push(
    `  workerd: wrangler ${packageVersion("wrangler")} dev, ${args.direct ? "the Worker's workerd entry directly (--direct: wrangler's proxy bypassed)" : "through wrangler dev's proxy"}; ` +
      `Node: ws ${packageVersion("ws")} server, default options, in a child process`,
  );
  out.push(`  clients: ws ${packageVersion("ws")} in this process's main thread; they ${args["no-deflate"] ? "do not offer" : "offer"} permessage-deflate`);
  out.push(`  code: ${revision()}; load average (1/5/15 min) at start ${loadAtStart}, at end ${loads()}`);
  out.push("");
  out.push(`  ${"".padEnd(36)}${results.map((r) => r.phase.padStart(width)).join("")}`);
  for (const [label, cell] of rows) out.push(`  ${label.padEnd(36)}${results.map((r) => cell(r).padStart(width)).join("")}`);
  out.push("");
  console.log(out.join("\n"));
  if (args.json) {
    await writeFile(
      args.json,
      JSON.stringify(
        { date: new Date().toISOString(), machine, code: revision(), agents: AGENTS, rounds: ROUNDS, gapMs: GAP_MS, direct: args.direct, deflateOffered: !args["no-deflate"], results },
        null,
        2,
      ),
    );
  }
} finally {
  await stopAll();
}
