import { readdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { LOCAL_AUTH_SECRET, startStack, type Stack } from "../../dev/stack.ts";
import { LivePath, PROTOCOL_VERSION } from "../../protocol/index.ts";
import { findWorkerEntry, summarize } from "../ingest/measure.ts";
import type { FanoutAgent, FanoutJob, FanoutResult, HocuspocusClientKind, ServerKind, WorkerMessage } from "./clients-worker.ts";
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
  packageVersion,
  revision,
  sleep,
  startPortChild,
  wranglerTrouble,
  type CpuSnapshot,
  type PortChild,
} from "../support.ts";

// Fanout benchmark: N agents of one account connected to the live inbox in local workerd
// (wrangler dev); one agent's awareness change (viewing or typing a ticket) → how long until
// every other agent's client shows it (p50/p99 over every receiver of every round). The same
// load against a stock Hocuspocus server in the same run, printed side by side. See README.md
// beside this file.

const GOAL_P99_MS = 50;
const ACCOUNT = "acc_demo";

const { values: args } = parseArgs({
  options: {
    agents: { type: "string", default: "200" },
    rounds: { type: "string", default: "200" },
    "gap-ms": { type: "string", default: "20" },
    "round-timeout-ms": { type: "string", default: "5000" },
    "connect-concurrency": { type: "string", default: "20" },
    "connect-timeout-ms": { type: "string", default: "120000" },
    order: { type: "string", default: "ours-first" },
    direct: { type: "boolean", default: false },
    "no-deflate": { type: "boolean", default: false },
    "hocuspocus-client": { type: "string", default: "raw" },
    "local-observability": { type: "boolean", default: false },
    "keep-data": { type: "boolean", default: false },
    json: { type: "string" },
    help: { type: "boolean", default: false },
  },
});

if (args.help) {
  console.log(`usage: npx node bench/fanout/fanout-bench.ts [--agents 200] [--rounds 200] [--gap-ms 20]
       [--round-timeout-ms 5000] [--connect-concurrency 20] [--connect-timeout-ms 120000]
       [--order ours-first|hocuspocus-first] [--direct] [--no-deflate] [--hocuspocus-client raw|provider] [--local-observability] [--keep-data] [--json FILE]

  --direct               connect to the Worker's own workerd entry, bypassing wrangler dev's proxy (diagnosis)
  --no-deflate           clients do not offer permessage-deflate (browsers and ws do; workerd accepts it)
  --hocuspocus-client    raw: LiveConnection's steps in Hocuspocus framing (default); provider: @hocuspocus/provider
  --local-observability  keep wrangler's local trace collection (X_LOCAL_OBSERVABILITY), off by default`);
  process.exit(0);
}

const AGENTS = intOption("agents", args.agents, 2);
const ROUNDS = intOption("rounds", args.rounds);
const GAP_MS = intOption("gap-ms", args["gap-ms"], 0);
const ROUND_TIMEOUT_MS = intOption("round-timeout-ms", args["round-timeout-ms"]);
const CONNECT_CONCURRENCY = intOption("connect-concurrency", args["connect-concurrency"]);
const CONNECT_TIMEOUT_MS = intOption("connect-timeout-ms", args["connect-timeout-ms"]);
if (args.order !== "ours-first" && args.order !== "hocuspocus-first") throw new Error(`--order must be ours-first or hocuspocus-first, got ${args.order}`);
if (args["hocuspocus-client"] !== "raw" && args["hocuspocus-client"] !== "provider") throw new Error(`--hocuspocus-client must be raw or provider, got ${args["hocuspocus-client"]}`);
const HOCUSPOCUS_CLIENT: HocuspocusClientKind = args["hocuspocus-client"];
const ORDER: ServerKind[] = args.order === "ours-first" ? ["ours", "hocuspocus"] : ["hocuspocus", "ours"];

const log = benchLogger("fanout-bench");

// --- one measured run --------------------------------------------------------------------

interface Measured {
  result: FanoutResult;
  connectCpu: { wallMs: number; by: [string, number][] };
  roundsCpu: { wallMs: number; by: [string, number][] };
}

function measure(job: FanoutJob, entryPort: string, hocuspocusPid: number | undefined): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./clients-worker.ts", import.meta.url), { workerData: job });
    const start = cpuSnapshot(entryPort);
    let connected: CpuSnapshot | null = null;
    worker.on("message", (message: WorkerMessage) => {
      if (message.type === "connected") {
        connected = cpuSnapshot(entryPort);
        log(`${job.server}: ${job.agents.length} clients connected and seeing each other in ${fmt(message.connectMs)} ms; ${job.rounds} rounds`);
        worker.postMessage("go");
        return;
      }
      if (message.type === "done") {
        const end = cpuSnapshot(entryPort);
        const r = message.result;
        resolve({
          result: r,
          connectCpu: cpuBetween(start, connected ?? end, hocuspocusPid, r.connectCpuMs),
          roundsCpu: cpuBetween(connected ?? start, end, hocuspocusPid, r.roundsCpuMs),
        });
      } else reject(new Error(`${job.server} clients failed: ${message.error}`));
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`${job.server} clients worker exited with code ${code}`));
    });
  });
}

// --- main --------------------------------------------------------------------------------

async function main(): Promise<void> {
  try {
    readdirSync(new URL("../../dist/client", import.meta.url));
  } catch {
    throw new Error("dist/client is missing: run `npm run build` first (wrangler dev serves the built client as assets)");
  }
  const loadAtStart = loads();
  const machine = machineDescription();
  const runId = Math.random().toString(36).slice(2, 8);
  const dataDir = await mkdtemp(join(tmpdir(), "fanout-bench-"));
  log(`starting the stack in ${dataDir} (shard host in this process, wrangler dev + workerd as children)`);
  // As in bench/ingest: wrangler dev's local trace store costs workerd CPU production does not
  // pay; off unless asked for. Its debug log goes to the temp dir, to be scanned for errors.
  if (!args["local-observability"]) process.env.X_LOCAL_OBSERVABILITY = "false";
  const wranglerLogs = join(dataDir, "wrangler-logs");
  process.env.WRANGLER_LOG_PATH = wranglerLogs;
  const stackStarted = performance.now();
  let stack: Stack;
  try {
    stack = await startStack({ dataDir });
  } catch (error) {
    if (!args["keep-data"]) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  let hocuspocus: PortChild | null = null;
  let closing: Promise<void> | null = null;
  const shutdown = async () => {
    closing ??= (async () => {
      await hocuspocus?.stop();
      await stack.close();
      if (!args["keep-data"]) await rm(dataDir, { recursive: true, force: true });
    })();
    await closing;
  };
  const onSignal = () => {
    log("interrupted: stopping the stack and Hocuspocus");
    void shutdown().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    log(`stack up in ${fmt((performance.now() - stackStarted) / 1000, 1)} s at ${stack.baseUrl}`);

    // N agents of the demo account: rows on the account's shard (so they are real agents of
    // it, whatever the hub may look up), and session tokens signed like /api/auth/login's.
    const agents: FanoutAgent[] = await createBenchAgents(stack.shardUrls, LOCAL_AUTH_SECRET, ACCOUNT, AGENTS, runId);

    hocuspocus = await startPortChild(new URL("./hocuspocus-server.ts", import.meta.url), "Hocuspocus");
    const hocuspocusUrl = `ws://127.0.0.1:${hocuspocus.port}`;
    log(`Hocuspocus ${packageVersion("@hocuspocus/server")} listening at ${hocuspocusUrl} (pid ${hocuspocus.process.pid})`);

    const entryPort = new URL(stack.baseUrl).port;
    let liveBase = stack.baseUrl;
    if (args.direct) {
      const direct = await findWorkerEntry(stack.baseUrl);
      if (!direct) throw new Error("--direct: could not find the Worker's own workerd entry");
      liveBase = direct;
    }
    const ourUrl = `${liveBase.replace(/^http/, "ws")}${LivePath.inbox}?v=${PROTOCOL_VERSION}`;

    const measured = new Map<ServerKind, Measured>();
    for (const server of ORDER) {
      await sleep(2_000); // let the previous phase's closes and the stack settle
      const job: FanoutJob = {
        server,
        url: server === "ours" ? ourUrl : hocuspocusUrl,
        documentName: ACCOUNT,
        agents,
        rounds: ROUNDS,
        gapMs: GAP_MS,
        roundTimeoutMs: ROUND_TIMEOUT_MS,
        connectConcurrency: CONNECT_CONCURRENCY,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        runId: `${runId}${server === "ours" ? "o" : "h"}`,
        deflate: !args["no-deflate"],
        hocuspocusClient: HOCUSPOCUS_CLIENT,
      };
      log(`${server}: connecting ${AGENTS} clients to ${job.url} (${CONNECT_CONCURRENCY} handshakes at once)`);
      measured.set(server, await measure(job, entryPort, hocuspocus.process.pid));
      const r = measured.get(server)!.result;
      log(`${server}: done, ${fmt(r.latenciesMs.length)} samples, ${r.missed} missed, ${r.disconnects} disconnects`);
    }

    const ours = measured.get("ours")!;
    const theirs = measured.get("hocuspocus")!;
    const so = summarize(ours.result.latenciesMs);
    const st = summarize(theirs.result.latenciesMs);
    const roundsO = summarize(ours.result.roundMs.filter(Number.isFinite));
    const roundsT = summarize(theirs.result.roundMs.filter(Number.isFinite));
    const syncO = summarize(ours.result.clientSyncMs);
    const syncT = summarize(theirs.result.clientSyncMs);
    const expected = (AGENTS - 1) * ROUNDS;
    const goalP99 = so.p99 <= GOAL_P99_MS;
    const goalVs = so.p99 <= st.p99;
    const mark = (ok: boolean) => (ok ? "met" : "NOT met");
    const trouble = wranglerTrouble(wranglerLogs);

    const serverCpu = (m: Measured, server: ServerKind) =>
      m.roundsCpu.by
        .filter(([name]) => (server === "ours" ? isWorkerdServerProcess(name) : name === HOCUSPOCUS_PROCESS))
        .reduce((sum, [, ms]) => sum + ms, 0);
    const row = (label: string, a: string, b: string) => `  ${label.padEnd(44)} ${a.padStart(14)}  ${b.padStart(14)}`;
    const ms = (n: number) => `${fmt(n, 1)} ms`;

    const out: string[] = [];
    out.push("");
    out.push(`Fanout benchmark, ${new Date().toISOString()}`);
    out.push(
      `  ${AGENTS} agents of one account, ${ROUNDS} rounds: one agent (a different one each round) changes its awareness ` +
        `(viewing / typing a ticket, alternating); latency = send → each other client's Awareness shows it; ${GAP_MS} ms between rounds`,
    );
    out.push(`  machine: ${machine}`);
    out.push(
      `  ours: ${args.direct ? "the Worker's workerd entry directly (--direct: wrangler's dev proxy bypassed)" : "the stack's URL (through wrangler dev's proxy)"}, ` +
        `wrangler ${packageVersion("wrangler")}, local observability ${args["local-observability"] ? "on" : "off"}; client: LiveConnection (client/live)`,
    );
    out.push(`  Hocuspocus: @hocuspocus/server ${packageVersion("@hocuspocus/server")} (defaults) in a child process; client: ${
      HOCUSPOCUS_CLIENT === "raw" ? "LiveConnection's steps in Hocuspocus framing (bench/fanout/clients-worker.ts)" : `@hocuspocus/provider ${packageVersion("@hocuspocus/provider")}`
    }`);
    out.push(`  order: ${ORDER.join(" then ")}, one after the other; all clients of a phase in one worker thread of this process; ` +
        `clients ${args["no-deflate"] ? "do not offer" : "offer"} permessage-deflate`);
    out.push(`  code: ${revision()}; load average (1/5/15 min) at start ${loadAtStart}, at end ${loads()}`);
    out.push(`  NOTE: clients, shard host (this process), wrangler/workerd and Hocuspocus all share these ${cpus().length} cores.`);
    out.push("");
    out.push(row("", "ours", "Hocuspocus"));
    out.push(row("delivery latency p50", ms(so.p50), ms(st.p50)));
    out.push(row("delivery latency p90", ms(so.p90), ms(st.p90)));
    out.push(row("delivery latency p99", ms(so.p99), ms(st.p99)));
    out.push(row("delivery latency max", ms(so.max), ms(st.max)));
    out.push(row(`samples (of ${fmt(expected)})`, fmt(ours.result.latenciesMs.length), fmt(theirs.result.latenciesMs.length)));
    out.push(row("missed (not within the round timeout)", fmt(ours.result.missed), fmt(theirs.result.missed)));
    out.push(row("round: send → last receiver, p50", ms(roundsO.p50), ms(roundsT.p50)));
    out.push(row("round: send → last receiver, p99", ms(roundsO.p99), ms(roundsT.p99)));
    out.push(row(`connect ${AGENTS} clients (all see all)`, ms(ours.result.connectMs), ms(theirs.result.connectMs)));
    out.push(row(`  of which all synced`, ms(ours.result.syncedMs), ms(theirs.result.syncedMs)));
    out.push(row("  one client's handshake p50 / p99", `${fmt(syncO.p50)} / ${fmt(syncO.p99)} ms`, `${fmt(syncT.p50)} / ${fmt(syncT.p99)} ms`));
    out.push(row("server CPU during the rounds", ms(serverCpu(ours, "ours")), ms(serverCpu(theirs, "hocuspocus"))));
    out.push(
      row(
        "  per delivered update",
        `${fmt((serverCpu(ours, "ours") * 1000) / Math.max(1, ours.result.latenciesMs.length))} us`,
        `${fmt((serverCpu(theirs, "hocuspocus") * 1000) / Math.max(1, theirs.result.latenciesMs.length))} us`,
      ),
    );
    out.push(
      row(
        "client thread CPU per delivered update",
        `${fmt((ours.result.roundsCpuMs * 1000) / Math.max(1, ours.result.latenciesMs.length))} us`,
        `${fmt((theirs.result.roundsCpuMs * 1000) / Math.max(1, theirs.result.latenciesMs.length))} us`,
      ),
    );
    out.push(row("WebSocket extensions negotiated", ours.result.extensions, theirs.result.extensions));
    out.push(row("permission denied", JSON.stringify(ours.result.permissionDenied), JSON.stringify(theirs.result.permissionDenied)));
    out.push(row("disconnects after connecting", fmt(ours.result.disconnects), fmt(theirs.result.disconnects)));
    out.push(row("sockets opened (more than N: reconnects)", fmt(ours.result.socketsOpened), fmt(theirs.result.socketsOpened)));
    out.push(row("socket closes before the end", JSON.stringify(ours.result.closes), JSON.stringify(theirs.result.closes)));
    out.push(row("client protocol errors", fmt(ours.result.protocolErrors.length), fmt(theirs.result.protocolErrors.length)));
    out.push("");
    const others = (m: Measured) => m.roundsCpu.by.find(([name]) => name === "other processes on the machine")?.[1] ?? 0;
    out.push(
      `  other processes on the machine during the rounds: ${fmt((others(ours) / ours.roundsCpu.wallMs) * 100)} % of a core (ours), ` +
        `${fmt((others(theirs) / theirs.roundsCpu.wallMs) * 100)} % (Hocuspocus)`,
    );
    out.push(`  goal p99 <= ${GOAL_P99_MS} ms: ${mark(goalP99)} (ours ${fmt(so.p99, 1)} ms)`);
    out.push(`  goal ours p99 <= Hocuspocus p99: ${mark(goalVs)} (${fmt(so.p99, 1)} vs ${fmt(st.p99, 1)} ms)`);
    out.push("");
    for (const [label, m] of [["ours", ours], ["Hocuspocus", theirs]] as const) {
      for (const [phase, use] of [["connect", m.connectCpu], ["rounds", m.roundsCpu]] as const) {
        out.push(`  CPU, ${label}, ${phase} phase (${fmt(use.wallMs / 1000, 2)} s wall):`);
        for (const [name, used] of use.by) {
          if (used < 1) continue;
          out.push(`    ${name.padEnd(46)} ${fmt(used).padStart(8)} ms  ${`${fmt((used / use.wallMs) * 100)} %`.padStart(6)} of a core`);
        }
      }
    }
    for (const [label, m] of [["ours", ours], ["Hocuspocus", theirs]] as const) {
      if (m.result.protocolErrors.length > 0) out.push(`  ${label} client errors: ${m.result.protocolErrors.slice(0, 3).join(" | ")}`);
    }
    out.push(
      `  wrangler log: ${trouble.count} error/warning line(s), ${trouble.reloads} reload(s) of the Worker (source files changed during the run)${trouble.count ? ":" : ""}`,
    );
    for (const line of trouble.sample) out.push(`    ${line}`);
    out.push("");
    console.log(out.join("\n"));

    if (args.json) {
      await writeFile(
        args.json,
        JSON.stringify(
          {
            date: new Date().toISOString(),
            machine,
            code: revision(),
            agents: AGENTS,
            rounds: ROUNDS,
            gapMs: GAP_MS,
            order: ORDER,
            direct: args.direct,
            ours: { latency: so, rounds: roundsO, ...withoutSamples(ours) },
            hocuspocus: { latency: st, rounds: roundsT, ...withoutSamples(theirs) },
            goals: { p99: goalP99, vsHocuspocus: goalVs },
            wranglerTrouble: trouble,
          },
          null,
          2,
        ),
      );
    }
  } finally {
    log("stopping Hocuspocus and the stack");
    await shutdown();
  }
}

function withoutSamples(m: Measured) {
  const { latenciesMs, roundMs, clientSyncMs, ...rest } = m.result;
  // Per round (send → last receiver, ms): where in the run the slow rounds were.
  return { ...rest, samples: latenciesMs.length, roundMs: roundMs.map((ms) => Math.round(ms * 10) / 10), connectCpu: m.connectCpu, roundsCpu: m.roundsCpu };
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
