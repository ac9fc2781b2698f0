import { Agent, request } from "node:http";
import { parentPort, workerData } from "node:worker_threads";
import { createClient, type Client, type InStatement } from "@libsql/client";
import { appendMessage, type MessageRecord, type TicketRecord } from "../../durable-objects/ticket-room/ticket-record.ts";
import { newId } from "../../schema/tables.ts";
import { threadCpuMs } from "./measure.ts";

// The load generator, in a worker thread of the benchmark's process. The shard host runs on
// the main thread (startStack starts it in-process), so generating load there would steal
// the shard host's event loop; here each has a thread of its own.

export interface RoomsJob {
  kind: "rooms";
  baseUrl: string;
  token: string;
  shardUrl: string;
  ticketIds: string[];
  messages: number;
  concurrency: number;
  /** Notes per request: 1 posts each to /api/tickets/:id/notes, more go to the bulk /api/tickets/messages. */
  perRequest: number;
  /** Consecutive messages that go to the same ticket (1: every message to the next ticket). */
  perTicket: number;
  bodyBytes: number;
  runId: string;
  /** Messages of these tickets already on the shard before the phase. */
  baseline: number;
  pollMs: number;
  /** Give up when the shard count has not moved for this long after the last acknowledgement. */
  stallMs: number;
}

export interface RoomsResult {
  kind: "rooms";
  acknowledged: number;
  failedAttempts: number;
  failures: string[];
  /** ms from the first post. */
  lastAckMs: number;
  shardDoneMs: number | null;
  latenciesMs: number[];
  /** [ms from first post, messages of this phase on the shard]. */
  timeline: [number, number][];
  loadCpuMs: number;
}

export interface CeilingJob {
  kind: "ceiling";
  shardUrl: string;
  rows: MessageRecord[];
  batchSize: number;
  concurrency: number;
}

export interface CeilingResult {
  kind: "ceiling";
  rows: number;
  elapsedMs: number;
  batchLatenciesMs: number[];
  loadCpuMs: number;
}

/**
 * The shard host's side of the rooms path alone: the statements a room's flush sends
 * (shardStatements from the room's own code: ticket upsert, tag replace when tags changed,
 * message inserts), `messagesPerFlush` messages per batch, `concurrency` rooms flushing at
 * once, for existing tickets. No Worker, no Durable Object.
 */
export interface FlushJob {
  kind: "flushes";
  shardUrl: string;
  tickets: TicketRecord[];
  messages: number;
  messagesPerFlush: number;
  concurrency: number;
  authorId: string;
  runTag: string;
  bodyBytes: number;
}

export interface FlushResult {
  kind: "flushes";
  rows: number;
  flushes: number;
  statements: number;
  elapsedMs: number;
  batchLatenciesMs: number[];
  loadCpuMs: number;
}

export type Job = RoomsJob | CeilingJob | FlushJob;
export type JobResult = RoomsResult | CeilingResult | FlushResult;

/**
 * The rooms' own statement builders (durable-objects/ticket-room/shard-writes.ts), so the
 * ceiling writes exactly the SQL a room's flush writes. Imported by URL at run time: that
 * module's type imports reach Workers-only types, which this Node program does not compile.
 */
interface ShardWrites {
  messageInsert(message: MessageRecord): InStatement;
  shardStatements(
    entries: readonly { before: TicketRecord | null; after: TicketRecord; message: MessageRecord | null; delivery: null }[],
  ): InStatement[];
}
const SHARD_WRITES = new URL("../../durable-objects/ticket-room/shard-writes.ts", import.meta.url).href;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Tells the main thread the job is prepared (so it can start measuring) and waits for "go". */
async function ready(): Promise<void> {
  if (!parentPort) return;
  const go = new Promise<void>((resolve) => parentPort!.once("message", () => resolve()));
  parentPort.postMessage({ ready: true });
  await go;
}

export function messageBody(runId: string, index: number, bytes: number): string {
  const head = `bench ${runId} message ${index}: `;
  return head + "lorem ipsum dolor sit amet ".repeat(Math.ceil(bytes / 27)).slice(0, Math.max(0, bytes - head.length));
}

async function countOnShard(shard: Client, ticketIds: readonly string[]): Promise<number> {
  const result = await shard.execute({
    sql: `SELECT count(*) AS n FROM messages WHERE ticket_id IN (${ticketIds.map(() => "?").join(",")})`,
    args: [...ticketIds],
  });
  return Number(result.rows[0]!.n);
}

async function runRooms(job: RoomsJob): Promise<RoomsResult> {
  const shard = createClient({ url: job.shardUrl });
  await ready();
  const cpuBefore = threadCpuMs();
  const latenciesMs: number[] = [];
  const failures: string[] = [];
  let failedAttempts = 0;
  let acknowledged = 0;
  let lastAckMs = 0;
  let next = 0;
  const started = performance.now();
  const now = () => performance.now() - started;

  // The shard poller: how many of this phase's messages are on the shard, every pollMs.
  const timeline: [number, number][] = [];
  let shardDoneMs: number | null = null;
  let postsDone = false;
  const poller = (async () => {
    let lastChange = now();
    let last = -1;
    for (;;) {
      const at = now();
      try {
        const landed = (await countOnShard(shard, job.ticketIds)) - job.baseline;
        timeline.push([at, landed]);
        if (landed !== last) {
          last = landed;
          lastChange = at;
        }
        if (landed >= job.messages) {
          shardDoneMs = at;
          return;
        }
      } catch (error) {
        failures.push(`poll: ${String(error)}`);
      }
      if (postsDone && now() - Math.max(lastChange, lastAckMs) > job.stallMs) return;
      await sleep(Math.max(0, job.pollMs - (now() - at)));
    }
  })();

  // node:http with a keep-alive agent, one socket per in-flight request: it costs the client
  // a fifth of the CPU that fetch does here, CPU the stack under test shares.
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const target = new URL(job.baseUrl);
  const headers = { Authorization: `Bearer ${job.token}`, "Content-Type": "application/json" };
  const send = (path: string, body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { host: target.hostname, port: target.port, path, method: "POST", agent, headers: { ...headers, "Content-Length": Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  // Request r carries messages r*N .. r*N+N-1; message i goes to ticket floor(i / K) mod T.
  const ticketOf = (index: number) => job.ticketIds[Math.floor(index / job.perTicket) % job.ticketIds.length]!;
  const requestOf = (first: number, count: number): { path: string; body: string } => {
    if (job.perRequest === 1) {
      const ticketId = ticketOf(first);
      return { path: `/api/tickets/${ticketId}/notes`, body: JSON.stringify({ body: messageBody(job.runId, first, job.bodyBytes) }) };
    }
    const messages = Array.from({ length: count }, (_, k) => ({
      ticketId: ticketOf(first + k),
      kind: "note",
      body: messageBody(job.runId, first + k, job.bodyBytes),
    }));
    return { path: "/api/tickets/messages", body: JSON.stringify({ messages }) };
  };
  /** Whether the answer acknowledges every message of the request. */
  const accepted = (status: number, text: string): boolean => {
    if (job.perRequest === 1) return status === 201;
    return status === 200 && (JSON.parse(text) as { results: { ok: boolean }[] }).results.every((result) => result.ok);
  };

  const post = async (requestIndex: number): Promise<void> => {
    const first = requestIndex * job.perRequest;
    const count = Math.min(job.perRequest, job.messages - first);
    const { path, body } = requestOf(first, count);
    for (let attempt = 1; ; attempt++) {
      const sent = performance.now();
      let problem: string;
      try {
        const response = await send(path, body);
        const text = response.text;
        if (accepted(response.status, text)) {
          latenciesMs.push(performance.now() - sent);
          acknowledged += count;
          lastAckMs = now();
          return;
        }
        problem = `HTTP ${response.status}: ${text.slice(0, 200)}`;
      } catch (error) {
        // A network error after the room committed could duplicate the message on retry;
        // none is expected on loopback, and the exactly-once check would show it.
        problem = String(error);
      }
      failedAttempts++;
      if (failures.length < 10) failures.push(`request ${requestIndex} attempt ${attempt}: ${problem}`);
      if (attempt >= 5) throw new Error(`request ${requestIndex} failed 5 times: ${problem}`);
      await sleep(100 * attempt);
    }
  };

  try {
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        for (;;) {
          const requestIndex = next++;
          if (requestIndex * job.perRequest >= job.messages) return;
          await post(requestIndex);
        }
      }),
    );
  } finally {
    postsDone = true;
    agent.destroy();
  }
  await poller;
  const loadCpuMs = threadCpuMs() - cpuBefore;
  shard.close();
  return { kind: "rooms", acknowledged, failedAttempts, failures, lastAckMs, shardDoneMs, latenciesMs, timeline, loadCpuMs };
}

async function runCeiling(job: CeilingJob): Promise<CeilingResult> {
  const shard = createClient({ url: job.shardUrl });
  // Statements are built before the clock starts: the ceiling is the shard host's, not ours.
  const { messageInsert } = (await import(SHARD_WRITES)) as ShardWrites;
  const batches: InStatement[][] = [];
  for (let i = 0; i < job.rows.length; i += job.batchSize) {
    batches.push(job.rows.slice(i, i + job.batchSize).map((row) => messageInsert(row)));
  }
  // One small warm-up write (opens the connection pool) outside the measurement.
  await shard.execute("SELECT 1");
  await ready();
  const cpuBefore = threadCpuMs();
  const batchLatenciesMs: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      for (;;) {
        const batch = batches[next++];
        if (!batch) return;
        const sent = performance.now();
        await shard.batch(batch, "write");
        batchLatenciesMs.push(performance.now() - sent);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const loadCpuMs = threadCpuMs() - cpuBefore;
  shard.close();
  return { kind: "ceiling", rows: job.rows.length, elapsedMs, batchLatenciesMs, loadCpuMs };
}

async function runFlushes(job: FlushJob): Promise<FlushResult> {
  const shard = createClient({ url: job.shardUrl });
  const { shardStatements } = (await import(SHARD_WRITES)) as ShardWrites;
  // Every flush is prepared up front, ticket by ticket in round robin, as rooms would see them.
  const current = job.tickets.map((ticket) => ({ ...ticket }));
  const flushes: InStatement[][] = [];
  let written = 0;
  for (let f = 0; written < job.messages; f++) {
    const slot = f % current.length;
    const entries = [];
    for (let m = 0; m < job.messagesPerFlush && written < job.messages; m++, written++) {
      const before = current[slot]!;
      const { ticket: after, message } = appendMessage(
        before,
        {
          id: newId("message"),
          authorKind: "agent",
          authorId: job.authorId,
          body: messageBody(job.runTag, written, job.bodyBytes),
          isInternalNote: true,
        },
        Date.now(),
      );
      entries.push({ before, after, message, delivery: null });
      current[slot] = after;
    }
    flushes.push(shardStatements(entries));
  }
  await shard.execute("SELECT 1");
  await ready();
  const cpuBefore = threadCpuMs();
  const batchLatenciesMs: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      for (;;) {
        const batch = flushes[next++];
        if (!batch) return;
        const sent = performance.now();
        await shard.batch(batch, "write");
        batchLatenciesMs.push(performance.now() - sent);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const loadCpuMs = threadCpuMs() - cpuBefore;
  shard.close();
  return {
    kind: "flushes",
    rows: written,
    flushes: flushes.length,
    statements: flushes.reduce((n, batch) => n + batch.length, 0),
    elapsedMs,
    batchLatenciesMs,
    loadCpuMs,
  };
}

if (parentPort) {
  const job = workerData as Job;
  const run = job.kind === "rooms" ? runRooms(job) : job.kind === "ceiling" ? runCeiling(job) : runFlushes(job);
  run.then(
    (result) => parentPort!.postMessage({ ok: true, result }),
    (error: unknown) => parentPort!.postMessage({ ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
  );
}
