import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { createClient, type Client } from "@libsql/client";
import { startStack, type Stack } from "../../dev/stack.ts";
import type { MessageRecord } from "../../durable-objects/ticket-room/ticket-record.ts";
import { newId } from "../../schema/tables.ts";
import type { CeilingJob, CeilingResult, FlushJob, FlushResult, Job, JobResult, RoomsJob, RoomsResult } from "./load-worker.ts";
import { messageBody } from "./load-worker.ts";
import { cpuDelta, descendantCpu, findWorkerEntry, machineBusyMs, ShardRequestMeter, summarize, threadCpuMs } from "./measure.ts";
import { openShard } from "../../schema/shards.ts";
import { loadTicketFromShard } from "../../durable-objects/ticket-room/shard-reads.ts";
import { benchLogger, fmt, intOption, loads, machineDescription, revision, sleep } from "../support.ts";

// Ingest benchmark: messages per second sustained through the ticket rooms into one shard
// (POST /api/tickets/:id/notes, or POST /api/tickets/messages with --per-request N → Worker
// → TicketRoom DOs → outbox → AccountWriter, which batches many rooms' flushes into one
// request to the account's libSQL shard), beside the ceiling of that shard host (raw batched
// inserts with @libsql/client) measured in the same run. See README.md beside this file.

const GOAL_RATE = 1_000;
const GOAL_RATIO = 0.5;
const ACCOUNT = "acc_demo";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "20000" },
    tickets: { type: "string", default: "200" },
    concurrency: { type: "string", default: "64" },
    "per-request": { type: "string", default: "1" },
    "per-ticket": { type: "string", default: "1" },
    "body-bytes": { type: "string", default: "120" },
    "ceiling-batch": { type: "string", default: "200" },
    "ceiling-concurrency": { type: "string", default: "1" },
    "poll-ms": { type: "string", default: "100" },
    "skip-ceiling": { type: "boolean", default: false },
    "skip-diagnosis": { type: "boolean", default: false },
    "flush-messages": { type: "string" },
    "flush-concurrency": { type: "string" },
    "keep-data": { type: "boolean", default: false },
    direct: { type: "boolean", default: false },
    "local-observability": { type: "boolean", default: false },
    json: { type: "string" },
    help: { type: "boolean", default: false },
  },
});

if (args.help) {
  console.log(`usage: npx node bench/ingest/ingest-bench.ts [--messages N] [--tickets T] [--concurrency C]
       [--per-request N] [--per-ticket K]
       [--body-bytes B] [--ceiling-batch R] [--ceiling-concurrency K] [--poll-ms MS]
       [--skip-ceiling] [--skip-diagnosis] [--flush-messages M] [--flush-concurrency K]
       [--direct] [--local-observability] [--keep-data] [--json FILE]

  --per-request N        notes per request: 1 posts to /api/tickets/:id/notes, more to the bulk /api/tickets/messages
  --per-ticket K         K consecutive notes go to the same ticket (1: each note to the next ticket)
  --direct               post to the Worker's own workerd entry, bypassing wrangler dev's proxy (diagnosis)
  --local-observability  keep wrangler's local trace collection (X_LOCAL_OBSERVABILITY), off by default`);
  process.exit(0);
}

const MESSAGES = intOption("messages", args.messages);
const TICKETS = intOption("tickets", args.tickets);
const CONCURRENCY = intOption("concurrency", args.concurrency);
const PER_REQUEST = intOption("per-request", args["per-request"]);
const PER_TICKET = intOption("per-ticket", args["per-ticket"]);
const BODY_BYTES = intOption("body-bytes", args["body-bytes"]);
const CEILING_BATCH = intOption("ceiling-batch", args["ceiling-batch"]);
const CEILING_CONCURRENCY = intOption("ceiling-concurrency", args["ceiling-concurrency"]);
const POLL_MS = intOption("poll-ms", args["poll-ms"]);
/** The room-shaped flush diagnosis measures a per-flush cost: a few thousand messages do. */
const FLUSH_DIAGNOSIS_MESSAGES = Math.min(MESSAGES, 3_000);
const FLUSH_CONCURRENCY = args["flush-concurrency"] ? intOption("flush-concurrency", args["flush-concurrency"]) : Math.min(CONCURRENCY, TICKETS);

const log = benchLogger("ingest-bench");

/**
 * Runs a job in a worker thread. `onReady` runs once the worker has loaded and prepared the
 * job and before it starts (where the phase's measurements begin).
 */
function runJob<R extends JobResult>(job: Job, onReady: () => void = () => {}): Promise<R> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./load-worker.ts", import.meta.url), { workerData: job });
    worker.on("message", (message: { ready: true } | { ok: true; result: R } | { ok: false; error: string }) => {
      if ("ready" in message) {
        onReady();
        worker.postMessage("go");
        return;
      }
      if (message.ok) resolve(message.result);
      else reject(new Error(`load worker failed: ${message.error}`));
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`load worker exited with code ${code}`));
    });
  });
}

async function api(stack: Stack, token: string | null, path: string, body: unknown): Promise<Response> {
  return fetch(`${stack.baseUrl}${path}`, {
    method: "POST",
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms (last: ${JSON.stringify(value)})`);
    await sleep(100);
  }
}

function inList(ids: readonly string[]): string {
  return ids.map(() => "?").join(",");
}

async function scalar(shard: Client, sql: string, args: (string | number)[]): Promise<number> {
  const result = await shard.execute({ sql, args });
  return Number(Object.values(result.rows[0]!)[0]);
}

interface Verification {
  rows: number;
  distinctIds: number;
  distinctBodies: number;
  duplicateSeqs: number;
}

/** Rows whose body starts with `prefix` on these tickets: count, distinct ids and bodies, (ticket, seq) clashes. */
async function verify(shard: Client, ticketIds: string[], prefix: string): Promise<Verification> {
  const where = `ticket_id IN (${inList(ticketIds)}) AND body LIKE ? ESCAPE '\\'`;
  const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const result = await shard.execute({
    sql: `SELECT count(*) AS n, count(DISTINCT id) AS ids, count(DISTINCT body) AS bodies FROM messages WHERE ${where}`,
    args: [...ticketIds, like],
  });
  const row = result.rows[0]!;
  const duplicateSeqs = await scalar(
    shard,
    `SELECT count(*) FROM (SELECT ticket_id, seq FROM messages WHERE ticket_id IN (${inList(ticketIds)})
       GROUP BY ticket_id, seq HAVING count(*) > 1)`,
    ticketIds,
  );
  return { rows: Number(row.n), distinctIds: Number(row.ids), distinctBodies: Number(row.bodies), duplicateSeqs };
}

/** The steadiest stretch of the shard timeline: rate between 10 % and 90 % of the messages. */
function steadyRate(timeline: [number, number][], total: number): number {
  const low = timeline.find(([, n]) => n >= total * 0.1);
  const high = timeline.find(([, n]) => n >= total * 0.9);
  if (!low || !high || high[0] <= low[0]) return Number.NaN;
  return ((high[1] - low[1]) * 1000) / (high[0] - low[0]);
}

interface CpuSnapshot {
  mainThread: number;
  process: number;
  children: Map<number, { comm: string; cpuMs: number }>;
  machine: number;
  at: number;
}

function cpuSnapshot(entryPort: string): CpuSnapshot {
  const usage = process.cpuUsage();
  return {
    mainThread: threadCpuMs(),
    process: (usage.user + usage.system) / 1000,
    children: descendantCpu(process.pid, entryPort),
    machine: machineBusyMs(),
    at: performance.now(),
  };
}

interface CpuUse {
  wallMs: number;
  /** CPU ms by who used it. */
  by: [string, number][];
}

function cpuUse(before: CpuSnapshot, after: CpuSnapshot, loadThreadMs: number): CpuUse {
  const processMs = after.process - before.process;
  const mainMs = after.mainThread - before.mainThread;
  const by: [string, number][] = [
    ["bench main thread: shard host", mainMs],
    ["bench worker thread: load generator", loadThreadMs],
    ["bench other threads (GC, libuv)", Math.max(0, processMs - mainMs - loadThreadMs)],
  ];
  const children = cpuDelta(before.children, after.children);
  for (const [name, ms] of [...children].sort((a, b) => b[1] - a[1])) by.push([name, ms]);
  const ours = processMs + [...children.values()].reduce((a, b) => a + b, 0);
  by.push(["other processes on the machine", Math.max(0, after.machine - before.machine - ours)]);
  return { wallMs: after.at - before.at, by };
}

/**
 * What the rooms path could sustain from its CPU cost per message alone if nothing else ran
 * on the machine: workerd runs the Worker and every DO on one thread, the shard host is one
 * thread, and all of it (with the load generator) shares the cores.
 */
function capacityEstimate(use: CpuUse, messages: number): { workerd: number; shardHost: number; machine: number; estimate: number } {
  const usPerMsg = (name: string) => ((use.by.find(([n]) => n === name)?.[1] ?? 0) * 1000) / messages;
  const ours = use.by.filter(([name]) => name !== "other processes on the machine").reduce((sum, [, ms]) => sum + ms, 0);
  const workerd = 1e6 / usPerMsg("workerd (Worker + DOs)");
  const shardHost = 1e6 / usPerMsg("bench main thread: shard host");
  const machine = (cpus().length * 1e6) / ((ours * 1000) / messages);
  return { workerd, shardHost, machine, estimate: Math.min(workerd, shardHost, machine) };
}

function cpuLines(use: CpuUse, perMessages: number): string[] {
  const lines: string[] = [];
  let total = 0;
  for (const [name, ms] of use.by) {
    total += ms;
    if (ms < 1) continue;
    lines.push(
      `    ${name.padEnd(46)} ${fmt(ms).padStart(8)} ms  ${`${fmt((ms / use.wallMs) * 100)} %`.padStart(6)} of a core  ${fmt((ms * 1000) / perMessages, 0).padStart(6)} us/msg`,
    );
  }
  lines.push(`    ${"machine total".padEnd(46)} ${fmt(total).padStart(8)} ms  ${`${fmt((total / use.wallMs) * 100)} %`.padStart(6)} of a core (the machine has ${cpus().length * 100} %)`);
  return lines;
}



/** The shard's trigger that indexes each new message for search (migration *_search_triggers.sql). */
const MESSAGE_SEARCH_TRIGGER = "messages_fts_insert";

function messageSearchTriggerSql(): string {
  const dir = new URL("../../schema/migrations/", import.meta.url);
  const file = readdirSync(dir).find((name) => name.endsWith("_search_triggers.sql"));
  if (!file) throw new Error("no *_search_triggers.sql migration");
  const statement = readFileSync(new URL(file, dir), "utf8")
    .split("--> statement-breakpoint")
    .find((part) => part.includes(`CREATE TRIGGER \`${MESSAGE_SEARCH_TRIGGER}\``));
  if (!statement) throw new Error(`${file} has no ${MESSAGE_SEARCH_TRIGGER}`);
  return statement.replace(/^\s*--.*$/gm, "").trim();
}

async function main(): Promise<void> {
  const loadAtStart = loads();
  const machine = machineDescription();
  const runId = Math.random().toString(36).slice(2, 8);
  const dataDir = await mkdtemp(join(tmpdir(), "ingest-bench-"));
  log(`starting the stack in ${dataDir} (shard host in this process, wrangler dev + workerd as children)`);
  // wrangler dev records a trace of every request, RPC and fetch into a local SQLite store
  // (X_LOCAL_OBSERVABILITY, on by default); production has no such cost, so it is off here
  // unless asked for. startStack passes this process's environment on to wrangler.
  if (!args["local-observability"]) process.env.X_LOCAL_OBSERVABILITY = "false";
  const stackStarted = performance.now();
  let stack: Stack;
  try {
    stack = await startStack({ dataDir });
  } catch (error) {
    if (!args["keep-data"]) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | null = null;
  const shutdown = async () => {
    closing ??= (async () => {
      await stack.close();
      if (!args["keep-data"]) await rm(dataDir, { recursive: true, force: true });
    })();
    await closing;
  };
  const onSignal = () => {
    log("interrupted: stopping the stack");
    void shutdown().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const clients: Client[] = [];
  try {
    log(`stack up in ${fmt((performance.now() - stackStarted) / 1000, 1)} s at ${stack.baseUrl}; shards ${stack.shardUrls.join(", ")}`);
    const login = await api(stack, null, "/api/auth/login", { email: "ana@demo.shop", password: "demo-password" });
    if (login.status !== 200) throw new Error(`login failed: HTTP ${login.status} ${await login.text()}`);
    const token = ((await login.json()) as { token: string }).token;

    const directory = createClient({ url: stack.shardUrls[0]! });
    clients.push(directory);
    const shardIndex = await scalar(directory, "SELECT shard_index FROM accounts WHERE id = ?", [ACCOUNT]);
    const shardUrl = stack.shardUrls[shardIndex]!;
    const shard = createClient({ url: shardUrl });
    clients.push(shard);

    // Tickets, through the API (each creation also writes its first message).
    log(`creating ${TICKETS} tickets through the API`);
    const ticketIds: string[] = new Array<string>(TICKETS);
    let nextTicket = 0;
    await Promise.all(
      Array.from({ length: Math.min(8, TICKETS) }, async () => {
        for (;;) {
          const t = nextTicket++;
          if (t >= TICKETS) return;
          const response = await api(stack, token, "/api/tickets", {
            customer: { email: `ingest-${runId}-${t}@example.com` },
            subject: `Ingest bench ${runId} #${t}`,
            body: "first message",
          });
          if (response.status !== 201) throw new Error(`creating a ticket failed: HTTP ${response.status} ${await response.text()}`);
          ticketIds[t] = ((await response.json()) as { ticket: { id: string } }).ticket.id;
        }
      }),
    );
    const countTickets = () => scalar(shard, `SELECT count(*) FROM messages WHERE ticket_id IN (${inList(ticketIds)})`, ticketIds);
    const baseline = await until(countTickets, (n) => n >= TICKETS, 60_000, "the tickets' first messages on the shard");
    await sleep(1_000); // let the creation flushes and hub reports settle

    // Phase 1: through the rooms.
    const entryPort = new URL(stack.baseUrl).port;
    let postUrl = stack.baseUrl;
    if (args.direct) {
      const direct = await findWorkerEntry(stack.baseUrl);
      if (!direct) throw new Error("--direct: could not find the Worker's own workerd entry");
      postUrl = direct;
    }
    log(`rooms phase: ${fmt(MESSAGES)} notes over ${TICKETS} tickets, ${CONCURRENCY} in flight, to ${postUrl}${args.direct ? " (direct, bypassing wrangler's proxy)" : ""}`);
    const meter = new ShardRequestMeter(stack.shardUrls);
    await meter.start();
    let roomsCpuBefore = cpuSnapshot(entryPort);
    const rooms = await runJob<RoomsResult>({
      kind: "rooms",
      baseUrl: postUrl,
      token,
      shardUrl,
      ticketIds,
      messages: MESSAGES,
      concurrency: CONCURRENCY,
      perRequest: PER_REQUEST,
      perTicket: PER_TICKET,
      bodyBytes: BODY_BYTES,
      runId,
      baseline,
      pollMs: POLL_MS,
      stallMs: 60_000,
    } satisfies RoomsJob, () => {
      roomsCpuBefore = cpuSnapshot(entryPort);
      meter.reset();
    });
    const roomsCpu = cpuUse(roomsCpuBefore, cpuSnapshot(entryPort), rooms.loadCpuMs);
    // Shard requests the rooms made (everything the shard host served, less the bench's polls).
    const roomsShard = {
      requests: meter.requests - rooms.timeline.length,
      serverMs: summarize(meter.serverMs),
      busyMs: meter.serverMs.reduce((a, b) => a + b, 0),
    };
    await meter.stop();
    if (rooms.shardDoneMs === null) {
      const landed = rooms.timeline.at(-1)?.[1] ?? 0;
      throw new Error(`only ${landed} of ${MESSAGES} messages reached the shard (acknowledged ${rooms.acknowledged}); failures: ${rooms.failures.join("; ")}`);
    }
    const roomsVerified = await verify(shard, ticketIds, `bench ${runId} message `);

    // Phase 2: the ceiling, raw batched inserts of the same rows on the same shard host (the
    // shard's search trigger indexes them, as it indexes the rooms' rows); then (informative)
    // the same with that trigger dropped, to show what the search index costs.
    const sample = await shard.execute({
      sql: "SELECT author_kind, author_id, is_internal_note, channel FROM messages WHERE ticket_id = ? AND body LIKE ? LIMIT 1",
      args: [ticketIds[0]!, `bench ${runId} message %`],
    });
    const shape = sample.rows[0]!;
    const ceilingRows = async (tag: string): Promise<MessageRecord[]> => {
      const seqs = await shard.execute({
        sql: `SELECT ticket_id, max(seq) AS seq FROM messages WHERE ticket_id IN (${inList(ticketIds)}) GROUP BY ticket_id`,
        args: ticketIds,
      });
      const nextSeq = new Map(seqs.rows.map((row) => [String(row.ticket_id), Number(row.seq) + 1]));
      const now = Date.now();
      return Array.from({ length: MESSAGES }, (_, i) => {
        const ticketId = ticketIds[Math.floor(i / PER_TICKET) % TICKETS]!;
        const seq = nextSeq.get(ticketId)!;
        nextSeq.set(ticketId, seq + 1);
        return {
          id: newId("message"),
          accountId: ACCOUNT,
          ticketId,
          authorKind: String(shape.author_kind) as MessageRecord["authorKind"],
          authorId: shape.author_id === null ? null : String(shape.author_id),
          body: messageBody(`${runId}-${tag}`, i, BODY_BYTES),
          isInternalNote: Number(shape.is_internal_note) === 1,
          channel: String(shape.channel) as MessageRecord["channel"],
          externalId: null,
          seq,
          createdAt: now + i,
        };
      });
    };
    interface CeilingRun {
      result: CeilingResult;
      verified: Verification;
      cpu: CpuUse;
    }
    const runCeiling = async (tag: string, withoutSearchTrigger: boolean): Promise<CeilingRun> => {
      const rows = await ceilingRows(tag);
      await sleep(2_000); // let the rooms' hub reports and workerd settle
      log(`ceiling phase${withoutSearchTrigger ? " (search trigger dropped)" : ""}: ${fmt(MESSAGES)} rows, batches of ${CEILING_BATCH}, ${CEILING_CONCURRENCY} in flight`);
      if (withoutSearchTrigger) await shard.execute(`DROP TRIGGER ${MESSAGE_SEARCH_TRIGGER}`);
      let before = cpuSnapshot(entryPort);
      const result = await runJob<CeilingResult>({
        kind: "ceiling",
        shardUrl,
        rows,
        batchSize: CEILING_BATCH,
        concurrency: CEILING_CONCURRENCY,
      } satisfies CeilingJob, () => (before = cpuSnapshot(entryPort)));
      const cpu = cpuUse(before, cpuSnapshot(entryPort), result.loadCpuMs);
      if (withoutSearchTrigger) await shard.execute(messageSearchTriggerSql());
      return { result, cpu, verified: await verify(shard, ticketIds, `bench ${runId}-${tag} message `) };
    };
    const ceilingRun = args["skip-ceiling"] ? null : await runCeiling("c", false);
    const ceilingPlainRun = args["skip-ceiling"] || args["skip-diagnosis"] ? null : await runCeiling("f", true);

    // Diagnosis: the shard host alone, fed the rooms' own flush statements at the rooms'
    // observed batch size (messages per shard request during the rooms phase).
    const observedPerFlush = MESSAGES / Math.max(1, roomsShard.requests);
    const flushMessages = args["flush-messages"] ? intOption("flush-messages", args["flush-messages"]) : Math.max(1, Math.round(observedPerFlush));
    let flushRun: { result: FlushResult; verified: Verification; cpu: CpuUse } | null = null;
    if (!args["skip-diagnosis"]) {
      const reader = openShard({ index: shardIndex, url: shardUrl }, { createClient });
      const tickets = [];
      for (const ticketId of ticketIds) {
        const ticket = await loadTicketFromShard(reader, { accountId: ACCOUNT, ticketId });
        if (ticket) tickets.push(ticket);
      }
      reader.client.close();
      await sleep(2_000);
      log(`diagnosis: room-shaped flushes straight to the shard, ${fmt(FLUSH_DIAGNOSIS_MESSAGES)} messages, ${flushMessages} per flush, ${FLUSH_CONCURRENCY} at once`);
      let before = cpuSnapshot(entryPort);
      const result = await runJob<FlushResult>({
        kind: "flushes",
        shardUrl,
        tickets,
        messages: FLUSH_DIAGNOSIS_MESSAGES,
        messagesPerFlush: flushMessages,
        concurrency: FLUSH_CONCURRENCY,
        authorId: String(shape.author_id),
        runTag: `${runId}-r`,
        bodyBytes: BODY_BYTES,
      } satisfies FlushJob, () => (before = cpuSnapshot(entryPort)));
      const cpu = cpuUse(before, cpuSnapshot(entryPort), result.loadCpuMs);
      flushRun = { result, cpu, verified: await verify(shard, ticketIds, `bench ${runId}-r message `) };
    }
    const ceiling = ceilingRun?.result ?? null;
    const ceilingVerified = ceilingRun?.verified ?? null;
    const ceilingCpu = ceilingRun?.cpu ?? null;

    // Report.
    const roomsRate = (MESSAGES * 1000) / rooms.shardDoneMs;
    const acceptRate = (rooms.acknowledged * 1000) / rooms.lastAckMs;
    const steady = steadyRate(rooms.timeline, MESSAGES);
    const ceilingRate = ceiling ? (ceiling.rows * 1000) / ceiling.elapsedMs : Number.NaN;
    const ratio = roomsRate / ceilingRate;
    const latency = summarize(rooms.latenciesMs);
    const capacity = capacityEstimate(roomsCpu, MESSAGES);
    const exactlyOnce =
      roomsVerified.rows === MESSAGES &&
      roomsVerified.distinctIds === MESSAGES &&
      roomsVerified.distinctBodies === MESSAGES &&
      roomsVerified.duplicateSeqs === 0;
    const mark = (ok: boolean) => (ok ? "met" : "NOT met");

    const out: string[] = [];
    out.push("");
    out.push(`Ingest benchmark, ${new Date().toISOString()}`);
    out.push(
      `  ${fmt(MESSAGES)} notes (${BODY_BYTES}-byte bodies) over ${TICKETS} tickets, ${PER_REQUEST === 1 ? "one per request (POST /api/tickets/:id/notes)" : `${PER_REQUEST} per request (POST /api/tickets/messages)`}, ${PER_TICKET === 1 ? "each to the next ticket" : `${PER_TICKET} in a row to each ticket`}, ${CONCURRENCY} requests in flight, one account on one shard`,
    );
    out.push(`  machine: ${machine}`);
    out.push(
      `  posting to ${args.direct ? "the Worker's workerd entry directly (--direct: wrangler's dev proxy bypassed)" : "the stack's URL (through wrangler dev's proxy)"}; ` +
        `wrangler local observability ${args["local-observability"] ? "on" : "off (X_LOCAL_OBSERVABILITY=false)"}`,
    );
    out.push(`  code: ${revision()}; load average (1/5/15 min) at start ${loadAtStart}, at end ${loads()}`);
    out.push(`  NOTE: load generator, shard host (this process) and wrangler/workerd all share these ${cpus().length} cores.`);
    out.push("");
    out.push("                                       msg/s      goal");
    out.push(`  rooms -> shard (sustained)      ${fmt(roomsRate).padStart(10)}      >= ${fmt(GOAL_RATE)}   ${mark(roomsRate >= GOAL_RATE)}`);
    out.push(`    first post to all N on shard  ${fmt(rooms.shardDoneMs / 1000, 2).padStart(10)} s`);
    out.push(`    steady stretch (10 %-90 %)    ${fmt(steady).padStart(10)}`);
    out.push(`  API acceptance                  ${fmt(acceptRate).padStart(10)}      (${fmt(rooms.lastAckMs / 1000, 2)} s for all acknowledgements)`);
    out.push(
      ceiling
        ? `  ceiling: raw batched inserts    ${fmt(ceilingRate).padStart(10)}      (${fmt(ceiling.rows)} rows, ${CEILING_BATCH}/batch, ${CEILING_CONCURRENCY} in flight, ${fmt(ceiling.elapsedMs / 1000, 2)} s)`
        : "  ceiling: skipped",
    );
    if (ceilingPlainRun) {
      const r = ceilingPlainRun.result;
      out.push(`    same, search trigger dropped  ${fmt((r.rows * 1000) / r.elapsedMs).padStart(10)}      (what indexing costs; informative)`);
    }
    if (flushRun) {
      const r = flushRun.result;
      out.push(
        `    room-shaped flushes, no Worker ${fmt((r.rows * 1000) / r.elapsedMs).padStart(10)}      (${fmt(r.rows / r.flushes, 1)} msg/flush, ${fmt(r.statements / r.flushes, 1)} statements/flush, ${FLUSH_CONCURRENCY} at once; flush p50 ${fmt(summarize(r.batchLatenciesMs).p50, 1)} ms)`,
      );
    }
    out.push(`  ratio rooms / ceiling           ${`${fmt(ratio * 100, 1)} %`.padStart(10)}      >= ${GOAL_RATIO * 100} %      ${mark(ratio >= GOAL_RATIO)}`);
    out.push(
      `  API latency                     p50 ${fmt(latency.p50, 1)} ms, p90 ${fmt(latency.p90, 1)} ms, p99 ${fmt(latency.p99, 1)} ms, max ${fmt(latency.max, 1)} ms`,
    );
    out.push(
      `  shard requests (rooms phase)    ${fmt(roomsShard.requests)}: ${fmt(observedPerFlush, 2)} msg per request; in the shard host p50 ${fmt(roomsShard.serverMs.p50, 1)} ms, ` +
        `p99 ${fmt(roomsShard.serverMs.p99, 1)} ms, sum ${fmt(roomsShard.busyMs / 1000, 1)} s`,
    );
    out.push(`  failed attempts (retried)       ${rooms.failedAttempts}${rooms.failures.length ? `: ${rooms.failures.slice(0, 3).join("; ")}` : ""}`);
    out.push(
      `  exactly once                    ${exactlyOnce ? "OK" : "FAILED"}: ${fmt(roomsVerified.rows)} rows, ${fmt(roomsVerified.distinctIds)} distinct ids, ` +
        `${fmt(roomsVerified.distinctBodies)} distinct bodies (of ${fmt(MESSAGES)}), ${roomsVerified.duplicateSeqs} duplicate (ticket, seq)`,
    );
    if (ceilingVerified) {
      out.push(`  ceiling rows landed             ${fmt(ceilingVerified.rows)} rows, ${fmt(ceilingVerified.distinctIds)} distinct ids`);
    }
    if (flushRun) {
      out.push(`  room-shaped flush rows landed   ${fmt(flushRun.verified.rows)} rows, ${fmt(flushRun.verified.distinctIds)} distinct ids`);
    }
    if (ceilingPlainRun) {
      out.push(`  no-trigger ceiling rows landed  ${fmt(ceilingPlainRun.verified.rows)} rows, ${fmt(ceilingPlainRun.verified.distinctIds)} distinct ids`);
    }
    out.push("");
    out.push(`  CPU during the rooms phase (${fmt(roomsCpu.wallMs / 1000, 2)} s wall, first post to all on the shard):`);
    out.push(...cpuLines(roomsCpu, MESSAGES));
    out.push(
      `    CPU-bound estimate with the machine to ourselves: ${fmt(capacity.estimate)} msg/s ` +
        `(workerd's one thread: ${fmt(capacity.workerd)}; shard host's one thread: ${fmt(capacity.shardHost)}; all ${cpus().length} cores: ${fmt(capacity.machine)})`,
    );
    if (ceilingCpu) {
      out.push(`  CPU during the ceiling phase (${fmt(ceilingCpu.wallMs / 1000, 2)} s wall):`);
      out.push(...cpuLines(ceilingCpu, MESSAGES));
    }
    if (flushRun) {
      out.push(`  CPU during the room-shaped flushes (${fmt(flushRun.cpu.wallMs / 1000, 2)} s wall):`);
      out.push(...cpuLines(flushRun.cpu, flushRun.result.rows));
    }
    out.push("");
    console.log(out.join("\n"));

    if (args.json) {
      const { writeFile } = await import("node:fs/promises");
      await writeFile(
        args.json,
        JSON.stringify(
          {
            date: new Date().toISOString(),
            machine,
            messages: MESSAGES,
            tickets: TICKETS,
            concurrency: CONCURRENCY,
            direct: args.direct,
            localObservability: args["local-observability"],
            bodyBytes: BODY_BYTES,
            roomsRate,
            steadyRate: steady,
            acceptRate,
            ceilingRate,
            ratio,
            latency,
            exactlyOnce,
            roomsVerified,
            ceilingVerified,
            timeline: rooms.timeline,
            ceilingBatch: CEILING_BATCH,
            ceilingConcurrency: CEILING_CONCURRENCY,
            roomsShard,
            capacity,
            flushes: flushRun && { ...flushRun.result, batchLatenciesMs: summarize(flushRun.result.batchLatenciesMs) },
            cpu: { rooms: roomsCpu, ceiling: ceilingCpu, flushes: flushRun?.cpu ?? null },
          },
          null,
          2,
        ),
      );
    }
    if (!exactlyOnce) process.exitCode = 1;
  } finally {
    for (const client of clients) client.close();
    log("stopping the stack");
    await shutdown();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : error);
  process.exitCode = 1;
});
