import { readdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { LOCAL_AUTH_SECRET, startStack, type Stack } from "../../dev/stack.ts";
import { LivePath, PROTOCOL_VERSION } from "../../protocol/index.ts";
import { descendantCpu, findWorkerEntry, summarize } from "../ingest/measure.ts";
import {
  benchLogger,
  cpuBetween,
  cpuSnapshot,
  createBenchAgents,
  fmt,
  HOCUSPOCUS_PROCESS,
  intOption,
  isWorkerdServerProcess,
  loads,
  machineDescription,
  OTHER_PROCESSES,
  packageVersion,
  revision,
  sleep,
  startPortChild,
  startRelayWorker,
  wranglerTrouble,
  type CpuSnapshot,
} from "../support.ts";
import { measureRoomCost, type RoomCost } from "./room-cost.ts";
import type { ServerKind, TypistsJob, TypistsMessage, TypistsResult } from "./typists-worker.ts";

// Co-edit benchmark: N agents type into one ticket's shared draft (the `draft` Y.Text of
// /live/tickets/<ticketId>) in local workerd (wrangler dev), each `cps` characters a second;
// for every keystroke, how long until each other agent's document has it (p50/p99 over all
// keystroke × receiver pairs), and the server CPU per delivered update. The same load, in the
// same run, against a stock Hocuspocus server (one document) and against the bare Durable
// Object relay of bench/fanout/runtime-floor.ts. The three run side by side and take turns
// typing, in slices, so that other load on the machine weighs on all three alike. The
// ticket room's JavaScript per keystroke is timed in this process at the end (room-cost.ts).
// See README.md beside this file.

const GOAL_P99_MS = 50;
/** Ours may cost at most this many times the bare DO relay's server CPU per delivered update. */
const GOAL_FLOOR_RATIO = 1.25;
const ACCOUNT = "acc_demo";

const { values: args } = parseArgs({
  options: {
    agents: { type: "string", default: "10" },
    cps: { type: "string", default: "10" },
    seconds: { type: "string", default: "60" },
    slices: { type: "string", default: "4" },
    "drain-timeout-ms": { type: "string", default: "10000" },
    "connect-timeout-ms": { type: "string", default: "30000" },
    seed: { type: "string", default: "1" },
    direct: { type: "boolean", default: false },
    "no-deflate": { type: "boolean", default: false },
    "local-observability": { type: "boolean", default: false },
    "keep-data": { type: "boolean", default: false },
    json: { type: "string" },
    help: { type: "boolean", default: false },
  },
});

if (args.help) {
  console.log(`usage: npx node bench/coedit/coedit-bench.ts [--agents 10] [--cps 10] [--seconds 60] [--json FILE]
       [--direct] [--no-deflate] [--slices 4] [--drain-timeout-ms 10000] [--connect-timeout-ms 30000] [--seed 1] [--local-observability] [--keep-data]

  --seconds              typing time per server, in --slices slices taken in turn (ours, Hocuspocus, relay, rotating)

  --direct               ours and the relay: the Worker's own workerd entry, bypassing wrangler dev's proxy (diagnosis)
  --no-deflate           clients do not offer permessage-deflate (browsers and ws do; workerd accepts it)
  --local-observability  keep wrangler's local trace collection (X_LOCAL_OBSERVABILITY), off by default`);
  process.exit(0);
}

const AGENTS = intOption("agents", args.agents, 2);
const CPS = intOption("cps", args.cps);
const SECONDS = intOption("seconds", args.seconds);
const DRAIN_TIMEOUT_MS = intOption("drain-timeout-ms", args["drain-timeout-ms"]);
const CONNECT_TIMEOUT_MS = intOption("connect-timeout-ms", args["connect-timeout-ms"]);
const SEED = intOption("seed", args.seed, 0);
const SLICES = intOption("slices", args.slices);
const PHASES: ServerKind[] = ["ours", "hocuspocus", "relay"];
const LABEL: Record<ServerKind, string> = { ours: "ours", hocuspocus: "Hocuspocus", relay: "bare DO relay" };
/** The whole run may not take longer than this (three servers' typing, starts and checks, slack). */
const RUN_BUDGET_MS = 3 * (SECONDS * 1000 + SLICES * (DRAIN_TIMEOUT_MS + 2_000) + 2 * CONNECT_TIMEOUT_MS) + 4 * 90_000;

const log = benchLogger("coedit-bench");

// --- stopping every child on every path ----------------------------------------------------

/** How to stop what was started so far (run newest first), each registered as soon as it exists. */
const stops: (() => Promise<void>)[] = [];
/** Servers still starting: a shutdown waits for them, then stops them too. */
const starting = new Set<Promise<unknown>>();
let shuttingDown: Promise<void> | null = null;
let interrupted = false;
let dataDir: string | null = null;

function shutdown(): Promise<void> {
  shuttingDown ??= (async () => {
    await Promise.allSettled([...starting]);
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    if (dataDir && !args["keep-data"]) await rm(dataDir, { recursive: true, force: true });
  })();
  return shuttingDown;
}

/** Awaits a server's start and registers its stop; a run interrupted meanwhile goes no further. */
async function start<T>(promise: Promise<T>, stopOf: (value: T) => () => Promise<void>): Promise<T> {
  const registered = promise.then((value) => {
    stops.push(stopOf(value));
    return value;
  });
  starting.add(registered);
  try {
    const value = await registered;
    if (interrupted) throw new Error("interrupted");
    return value;
  } finally {
    starting.delete(registered);
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping every child (a server still starting is stopped once it is up)`);
    void shutdown().finally(() => process.exit(130));
  });
}

const deadline = setTimeout(() => {
  log(`the run took longer than its budget (${fmt(RUN_BUDGET_MS / 1000)} s): stopping`);
  void shutdown().finally(() => process.exit(1));
}, RUN_BUDGET_MS);

// --- the typists of one server, in a worker thread ---------------------------------------

interface Typists {
  connected: Promise<number>;
  /** Types one slice; resolves with the thread's CPU ms during it. */
  type(seconds: number): Promise<number>;
  finish(): Promise<TypistsResult>;
}

function startTypists(job: TypistsJob): Typists {
  const worker = new Worker(new URL("./typists-worker.ts", import.meta.url), { workerData: job });
  const stop = async () => {
    await worker.terminate();
  };
  stops.push(stop);
  let failure: Error | null = null;
  let waiter: { type: TypistsMessage["type"]; resolve(message: TypistsMessage): void; reject(error: Error): void } | null = null;
  const fail = (error: Error) => {
    failure ??= error;
    waiter?.reject(error);
    waiter = null;
  };
  worker.on("message", (message: TypistsMessage) => {
    if (message.type === "failed") fail(new Error(`${job.server} typists failed: ${message.error}`));
    else if (waiter?.type === message.type) {
      const { resolve } = waiter;
      waiter = null;
      resolve(message);
    }
  });
  worker.once("error", fail);
  worker.once("exit", (code) => fail(new Error(`${job.server} typists worker exited with code ${code}`)));
  const next = <T extends TypistsMessage["type"]>(type: T) =>
    new Promise<Extract<TypistsMessage, { type: T }>>((resolve, reject) => {
      if (failure) return reject(failure);
      waiter = { type, resolve: resolve as (message: TypistsMessage) => void, reject };
    });
  return {
    connected: next("connected").then((message) => message.connectMs),
    async type(seconds) {
      const typed = next("typed");
      worker.postMessage({ type: "type", seconds });
      return (await typed).typingCpuMs;
    },
    async finish() {
      const done = next("done");
      worker.postMessage({ type: "finish" });
      const { result } = await done;
      const index = stops.indexOf(stop);
      if (index >= 0) stops.splice(index, 1);
      await worker.terminate();
      return result;
    },
  };
}

// --- CPU per server, over its slices ---------------------------------------------------------

interface Phase {
  result: TypistsResult;
  /** Summed over the server's slices. */
  cpu: { wallMs: number; by: [string, number][] };
  /** Server CPU during typing, ms, and its split by process kind. */
  serverMs: number;
  serverBy: [string, number][];
}

/** Process-name prefixes: the two wrangler devs run side by side. */
const STACK = "stack: ";
const RELAY = "relay: ";

function serverProcess(server: ServerKind, name: string): boolean {
  if (server === "hocuspocus") return name === HOCUSPOCUS_PROCESS;
  const prefix = server === "ours" ? STACK : RELAY;
  return name.startsWith(prefix) && isWorkerdServerProcess(name.slice(prefix.length));
}

/** A CPU snapshot with every child process named by the server it belongs to. */
function snapshot(stackPort: string, relay: { proxyPort: string; pids(): number[] }, hocuspocusPid: number | undefined): CpuSnapshot {
  const base = cpuSnapshot(stackPort);
  const relayPids = new Set(relay.pids());
  // Labelled again with the relay's port, to tell its proxy workerd from its Worker's.
  const relayNames = descendantCpu(process.pid, relay.proxyPort);
  const children = new Map<number, { comm: string; cpuMs: number }>();
  for (const [pid, used] of base.children) {
    if (pid === hocuspocusPid) children.set(pid, used);
    else if (relayPids.has(pid)) children.set(pid, { comm: `${RELAY}${relayNames.get(pid)?.comm ?? used.comm}`, cpuMs: used.cpuMs });
    else children.set(pid, { comm: `${STACK}${used.comm}`, cpuMs: used.cpuMs });
  }
  return { ...base, children };
}

/** Adds one slice's CPU to a server's total. */
function addCpu(total: { wallMs: number; by: Map<string, number> }, slice: { wallMs: number; by: [string, number][] }): void {
  total.wallMs += slice.wallMs;
  for (const [name, ms] of slice.by) total.by.set(name, (total.by.get(name) ?? 0) + ms);
}

function phaseOf(server: ServerKind, result: TypistsResult, total: { wallMs: number; by: Map<string, number> }): Phase {
  // This process's threads first, the machine's other processes last, the rest by CPU.
  const rank = (name: string) => (name.startsWith("bench ") ? 0 : name === OTHER_PROCESSES ? 2 : 1);
  const by = [...total.by].sort((a, b) => rank(a[0]) - rank(b[0]) || (rank(a[0]) === 1 ? b[1] - a[1] : 0));
  const serverBy = by.filter(([name]) => serverProcess(server, name));
  return { result, cpu: { wallMs: total.wallMs, by }, serverMs: serverBy.reduce((sum, [, ms]) => sum + ms, 0), serverBy };
}

// --- setup through the product's API ------------------------------------------------------

async function createTicket(baseUrl: string): Promise<string> {
  const login = await fetch(`${baseUrl}/api/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: "ana@demo.shop", password: "demo-password" }),
  });
  if (login.status !== 200) throw new Error(`login as ana@demo.shop: HTTP ${login.status} ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  const created = await fetch(`${baseUrl}/api/tickets`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ customer: { email: "coedit.bench@example.com" }, subject: "Co-edit benchmark", body: "Where is my order?" }),
  });
  if (created.status !== 201) throw new Error(`POST /api/tickets: HTTP ${created.status} ${await created.text()}`);
  return ((await created.json()) as { ticket: { id: string } }).ticket.id;
}

// --- main ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  try {
    readdirSync(new URL("../../dist/client", import.meta.url));
  } catch {
    throw new Error("dist/client is missing: run `npm run build` first (wrangler dev serves the built client as assets)");
  }
  const loadAtStart = loads();
  const machine = machineDescription();
  const runId = Math.random().toString(36).slice(2, 8);
  dataDir = await mkdtemp(join(tmpdir(), "coedit-bench-"));
  if (!args["local-observability"]) process.env.X_LOCAL_OBSERVABILITY = "false";
  const stackLogs = join(dataDir, "wrangler-logs-stack");
  const relayLogs = join(dataDir, "wrangler-logs-relay");
  process.env.WRANGLER_LOG_PATH = stackLogs;

  log(`starting the stack in ${dataDir} (shard host in this process, wrangler dev + workerd as children)`);
  const stackStarted = performance.now();
  let closing: Promise<void> | null = null;
  const stack: Stack = await start(startStack({ dataDir: join(dataDir, "stack") }), (stack) => () => (closing ??= stack.close()));
  const closeStack = () => (closing ??= stack.close());
  log(`stack up in ${fmt((performance.now() - stackStarted) / 1000, 1)} s at ${stack.baseUrl}`);

  const stackPort = new URL(stack.baseUrl).port;
  let liveBase = stack.baseUrl;
  if (args.direct) {
    // Only the stack's wrangler runs yet, so findWorkerEntry cannot pick the relay's.
    const direct = await findWorkerEntry(stack.baseUrl);
    if (!direct) throw new Error("--direct: could not find the Worker's own workerd entry");
    liveBase = direct;
  }
  const ticketId = await createTicket(stack.baseUrl);
  const agents = await createBenchAgents(stack.shardUrls, LOCAL_AUTH_SECRET, ACCOUNT, AGENTS, runId);
  log(`ticket ${ticketId} created through the API; ${AGENTS} agents of ${ACCOUNT} with session tokens`);

  // The bare relay under a wrangler dev of its own, beside the stack; its stop is registered
  // right after the spawn, before the Worker answers.
  process.env.WRANGLER_LOG_PATH = relayLogs;
  const relay = await start(startRelayWorker(join(dataDir, "relay"), { direct: args.direct, register: (stop) => stops.push(stop) }), () => async () => {});
  log(`bare DO relay (bench/fanout/runtime-floor/relay-worker.js) up at ${relay.proxyUrl}`);
  const hocuspocus = await start(startPortChild(new URL("../fanout/hocuspocus-server.ts", import.meta.url), "Hocuspocus"), (child) => child.stop);
  const hocuspocusUrl = `ws://127.0.0.1:${hocuspocus.port}`;
  log(`Hocuspocus ${packageVersion("@hocuspocus/server")} listening at ${hocuspocusUrl} (pid ${hocuspocus.process.pid})`);

  const urls = new Map<ServerKind, string>([
    ["ours", `${liveBase.replace(/^http/, "ws")}${LivePath.tickets}/${ticketId}?v=${PROTOCOL_VERSION}`],
    ["hocuspocus", hocuspocusUrl],
    ["relay", `${relay.url}/?mode=hibernation`],
  ]);
  const typists = new Map<ServerKind, Typists>();
  for (const server of PHASES) {
    log(`${server}: connecting ${AGENTS} typists to ${urls.get(server)}`);
    const thread = startTypists({
      server,
      url: urls.get(server)!,
      documentName: ticketId,
      agents,
      cps: CPS,
      seconds: SECONDS,
      deflate: !args["no-deflate"],
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      drainTimeoutMs: DRAIN_TIMEOUT_MS,
      lateJoiner: server !== "relay",
      seed: SEED,
    });
    typists.set(server, thread);
    log(`${server}: ${AGENTS} typists synced in ${fmt(await thread.connected)} ms`);
  }

  // The servers take turns, in slices, so that whatever else runs on the machine weighs on
  // all three alike; the order rotates from one slice to the next.
  const totals = new Map(PHASES.map((server) => [server, { wallMs: 0, by: new Map<string, number>() }]));
  for (let slice = 0; slice < SLICES; slice++) {
    const order = PHASES.map((_, i) => PHASES[(i + slice) % PHASES.length]!);
    for (const server of order) {
      await sleep(1_000); // let the previous slice's traffic settle
      const seconds = slice === SLICES - 1 ? SECONDS : SECONDS / SLICES; // the last slice types what is left
      const before = snapshot(stackPort, relay, hocuspocus.process.pid);
      const clientsMs = await typists.get(server)!.type(seconds);
      const after = snapshot(stackPort, relay, hocuspocus.process.pid);
      const used = cpuBetween(before, after, hocuspocus.process.pid, clientsMs);
      addCpu(totals.get(server)!, used);
      const others = (used.by.find(([name]) => name === OTHER_PROCESSES)?.[1] ?? 0) / used.wallMs;
      log(`slice ${slice + 1}/${SLICES}, ${server}: typed in ${fmt(used.wallMs / 1000, 1)} s; other processes ${fmt(others * 100)} % of a core`);
    }
  }
  const phases = new Map<ServerKind, Phase>();
  for (const server of PHASES) {
    const result = await typists.get(server)!.finish();
    phases.set(server, phaseOf(server, result, totals.get(server)!));
    log(`${server}: ${fmt(result.latenciesMs.length)} deliveries of ${fmt(result.keystrokes)} keystrokes, ${fmt(result.missed)} missed, converged ${result.convergence.equal}`);
  }
  const stackTrouble = wranglerTrouble(stackLogs);
  const relayTrouble = wranglerTrouble(relayLogs);
  log("stopping the servers");
  await hocuspocus.stop();
  await relay.stop();
  await closeStack();

  log("timing the ticket room's JavaScript per keystroke in this process (bench/coedit/room-cost.ts)");
  const roomCost = measureRoomCost({ agents: AGENTS, keystrokes: phases.get("ours")!.result.keystrokes, seed: SEED });

  const json = report({ phases, urls, roomCost, stackTrouble, relayTrouble, loadAtStart, machine, ticketId });
  if (args.json) await writeFile(args.json, JSON.stringify(json, null, 2));
}

// --- the report ----------------------------------------------------------------------------

function report(input: {
  phases: Map<ServerKind, Phase>;
  urls: Map<ServerKind, string>;
  roomCost: RoomCost;
  stackTrouble: ReturnType<typeof wranglerTrouble>;
  relayTrouble: ReturnType<typeof wranglerTrouble>;
  loadAtStart: string;
  machine: string;
  ticketId: string;
}): unknown {
  const { phases, roomCost } = input;
  const at = (server: ServerKind) => phases.get(server)!;
  const latency = new Map(PHASES.map((server) => [server, summarize(at(server).result.latenciesMs)]));
  const perUpdateUs = (server: ServerKind) => (at(server).serverMs * 1000) / Math.max(1, at(server).result.latenciesMs.length);
  const share = (server: ServerKind, name: string) =>
    ((at(server).serverBy.find(([n]) => n === `${server === "ours" ? STACK : RELAY}${name}`)?.[1] ?? 0) * 1000) / Math.max(1, at(server).result.latenciesMs.length);
  const others = (server: ServerKind) => {
    const p = at(server);
    return ((p.cpu.by.find(([name]) => name === OTHER_PROCESSES)?.[1] ?? 0) / p.cpu.wallMs) * 100;
  };
  const ratio = perUpdateUs("ours") / perUpdateUs("relay");
  const p99 = latency.get("ours")!.p99;
  const goalP99 = p99 <= GOAL_P99_MS;
  const goalFloor = ratio <= GOAL_FLOOR_RATIO;
  const mark = (ok: boolean) => (ok ? "met" : "NOT met");
  const ms = (n: number) => `${fmt(n, 1)} ms`;
  const us = (n: number) => `${fmt(n, 1)} us`;
  const width = 20;
  const row = (label: string, cell: (server: ServerKind) => string) => `  ${label.padEnd(46)}${PHASES.map((s) => cell(s).padStart(width)).join("")}`;
  const expected = (server: ServerKind) => at(server).result.keystrokes * (AGENTS - 1);

  const out: string[] = [];
  out.push("");
  out.push(`Co-edit benchmark, ${new Date().toISOString()}`);
  out.push(
    `  ${AGENTS} agents type into one ticket's shared draft (Y.Text), ${CPS} characters a second each, for ${SECONDS} s: ` +
      `${fmt(AGENTS * CPS)} keystrokes/s, each one Yjs update to ${AGENTS - 1} other agents; latency = local insert → that character in each other agent's document`,
  );
  out.push(`  machine: ${input.machine}`);
  out.push(
    `  ours: /live/tickets/${input.ticketId} (TicketRoom, draft guard), ${args.direct ? "the Worker's workerd entry directly (--direct)" : "through wrangler dev's proxy"}, ` +
      `wrangler ${packageVersion("wrangler")}, local observability ${args["local-observability"] ? "on" : "off"}`,
  );
  out.push(`  Hocuspocus: @hocuspocus/server ${packageVersion("@hocuspocus/server")} (defaults, bench/fanout/hocuspocus-server.ts), one document, in a child process`);
  out.push(
    `  bare DO relay: bench/fanout/runtime-floor/relay-worker.js (hibernation API, every frame to every other socket), its own wrangler dev ` +
      `beside the stack (${args.direct ? "Worker entry directly" : "through its proxy"})`,
  );
  out.push(
    `  clients: raw y-protocols typists (bench/coedit/typists-worker.ts), all in one worker thread, ws ${packageVersion("ws")}, ` +
      `${args["no-deflate"] ? "not offering" : "offering"} permessage-deflate, one thread per server, all connected throughout`,
  );
  out.push(
    `  schedule: the servers take turns in ${SLICES} slice(s) of ${fmt(SECONDS / SLICES, 1)} s of typing each, order rotating ` +
      `(${PHASES.map((s) => LABEL[s]).join(", ")}, then ${[...PHASES.slice(1), PHASES[0]!].map((s) => LABEL[s]).join(", ")}, …); a slice ends when every keystroke is delivered`,
  );
  out.push(`  code: ${revision()}; load average (1/5/15 min) at start ${input.loadAtStart}, at end ${loads()}`);
  out.push(`  NOTE: clients, shard host (this process) and the servers share these ${cpus().length} cores.`);
  out.push("");
  out.push(`  ${"".padEnd(46)}${PHASES.map((s) => LABEL[s].padStart(width)).join("")}`);
  out.push(row("delivery latency p50", (s) => ms(latency.get(s)!.p50)));
  out.push(row("delivery latency p90", (s) => ms(latency.get(s)!.p90)));
  out.push(row("delivery latency p99", (s) => ms(latency.get(s)!.p99)));
  out.push(row("delivery latency max", (s) => ms(latency.get(s)!.max)));
  out.push(row("keystrokes typed", (s) => fmt(at(s).result.keystrokes)));
  out.push(row("deliveries (keystroke x receiver)", (s) => `${fmt(at(s).result.latenciesMs.length)} / ${fmt(expected(s))}`));
  out.push(row("missed", (s) => fmt(at(s).result.missed)));
  out.push(row("converged: all drafts equal", (s) => (at(s).result.convergence.equal ? "yes" : `NO (${at(s).result.convergence.distinct} versions)`)));
  out.push(row("  draft length / keystrokes", (s) => `${fmt(at(s).result.convergence.length)} / ${fmt(at(s).result.convergence.expected)}`));
  out.push(row("late joiner gets the same draft", (s) => (at(s).result.lateJoiner.checked ? (at(s).result.lateJoiner.ok ? `yes (${fmt(at(s).result.lateJoiner.ms)} ms)` : "NO") : "n/a (no state)")));
  out.push(row("mean update frame sent (bytes)", (s) => fmt(at(s).result.meanFrameBytes, 1)));
  out.push(row("typing wall time, all slices", (s) => `${fmt(at(s).result.typingWallMs / 1000, 1)} s`));
  out.push(row("server CPU during typing", (s) => `${fmt(at(s).serverMs)} ms`));
  out.push(row("  per delivered update", (s) => us(perUpdateUs(s))));
  out.push(row("    workerd (Worker + DOs)", (s) => (s === "hocuspocus" ? "" : us(share(s, "workerd (Worker + DOs)")))));
  out.push(row("    workerd (wrangler's proxy)", (s) => (s === "hocuspocus" ? "" : us(share(s, "workerd (wrangler's proxy in front)")))));
  out.push(row("    wrangler (node)", (s) => (s === "hocuspocus" ? "" : us(share(s, "wrangler (node)")))));
  out.push(row("  ratio to the bare DO relay", (s) => `${fmt(perUpdateUs(s) / perUpdateUs("relay"), 2)}x`));
  out.push(row("client thread CPU per delivered update", (s) => us((at(s).result.typingCpuMs * 1000) / Math.max(1, at(s).result.latenciesMs.length))));
  out.push(row("typing lag vs schedule p99 / max", (s) => `${fmt(at(s).result.typingLagMs.p99, 1)} / ${fmt(at(s).result.typingLagMs.max, 1)} ms`));
  out.push(row("WebSocket extensions negotiated", (s) => at(s).result.extensions));
  out.push(row("permission denied", (s) => JSON.stringify(at(s).result.permissionDenied)));
  out.push(row("socket closes before the end", (s) => JSON.stringify(at(s).result.closes)));
  out.push(row("client protocol errors", (s) => fmt(at(s).result.protocolErrors.length)));
  out.push(row("other processes (% of a core)", (s) => `${fmt(others(s))} %`));
  out.push("");
  out.push(`  goal p99 <= ${GOAL_P99_MS} ms: ${mark(goalP99)} (ours ${fmt(p99, 1)} ms)`);
  out.push(
    `  goal ours per delivered update <= ${GOAL_FLOOR_RATIO}x the bare DO relay: ${mark(goalFloor)} ` +
      `(${fmt(perUpdateUs("ours"), 1)} vs ${fmt(perUpdateUs("relay"), 1)} us, ${fmt(ratio, 2)}x)`,
  );
  out.push("");
  const f = (d: RoomCost["frameUs"]) => `mean ${fmt(d.mean, 1)}, p50 ${fmt(d.p50, 1)}, p99 ${fmt(d.p99, 1)} us`;
  out.push(`  The ticket room's JavaScript per keystroke, replayed in this process (room-cost.ts; no sockets, no SQLite), update ${fmt(roomCost.meanUpdateBytes, 1)} bytes:`);
  out.push(`    LiveRoom.handleFrame + relay loop, with the draft guard   ${f(roomCost.frameUs)}  = ${fmt(roomCost.frameUs.mean / (AGENTS - 1), 1)} us per delivered update`);
  out.push(`    the same, admitting everything (no guard)                 ${f(roomCost.frameNoGuardUs)}`);
  out.push(`    isDraftOnlyUpdate alone                                   ${f(roomCost.guardUs)}`);
  out.push(`    Y.applyUpdate alone                                       ${f(roomCost.applyUs)}`);
  out.push("");
  for (const server of PHASES) {
    const use = at(server).cpu;
    out.push(`  CPU during ${LABEL[server]}'s typing slices (${fmt(use.wallMs / 1000, 2)} s wall; "stack:" and "relay:" name the two wrangler devs' processes):`);
    for (const [name, used] of use.by) {
      if (used < 1) continue;
      out.push(`    ${name.padEnd(46)} ${fmt(used).padStart(8)} ms  ${`${fmt((used / use.wallMs) * 100)} %`.padStart(6)} of a core`);
    }
  }
  for (const server of PHASES) {
    const errors = at(server).result.protocolErrors;
    if (errors.length > 0) out.push(`  ${LABEL[server]} client errors: ${errors.slice(0, 3).join(" | ")}`);
  }
  for (const [label, trouble] of [["stack", input.stackTrouble], ["relay", input.relayTrouble]] as const) {
    out.push(`  wrangler log (${label}): ${trouble.count} error/warning line(s), ${trouble.reloads} reload(s) of the Worker${trouble.count ? ":" : ""}`);
    for (const line of trouble.sample) out.push(`    ${line}`);
  }
  out.push("");
  console.log(out.join("\n"));

  return {
    date: new Date().toISOString(),
    machine: input.machine,
    code: revision(),
    loadAtStart: input.loadAtStart,
    loadAtEnd: loads(),
    agents: AGENTS,
    cps: CPS,
    seconds: SECONDS,
    slices: SLICES,
    direct: args.direct,
    deflateOffered: !args["no-deflate"],
    urls: Object.fromEntries(input.urls),
    servers: Object.fromEntries(
      PHASES.map((server) => {
        const { latenciesMs, ...rest } = at(server).result;
        return [
          server,
          {
            latency: latency.get(server),
            samples: latenciesMs.length,
            serverCpuMs: at(server).serverMs,
            serverUsPerDeliveredUpdate: perUpdateUs(server),
            serverCpuBy: Object.fromEntries(at(server).serverBy),
            otherProcessesPercent: others(server),
            cpu: at(server).cpu,
            ...rest,
          },
        ];
      }),
    ),
    ratioOursToRelay: ratio,
    goals: { p99: goalP99, withinFloorRatio: goalFloor },
    roomCost,
    wranglerTrouble: { stack: input.stackTrouble, relay: input.relayTrouble },
  };
}

main()
  .catch((error: unknown) => {
    if (interrupted) return;
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  })
  .finally(async () => {
    log("stopping every child");
    await shutdown();
    clearTimeout(deadline);
  });
