// Shard host benchmark: request and statement cost of dev/shard-host with @libsql/client.
//   npx node bench/shard-host/shard-host-bench.ts [--selects 5000] [--batches 60] [--flushes 3000]
// See README.md beside this file.
//
// The shard host runs in-process on the main thread (startShardHost, temp dir, 1 shard); the
// load (@libsql/client) runs in a worker thread, so the two do not share an event loop. Server
// CPU is the main thread's CPU time (process.threadCpuUsage) over a phase: the main thread does
// nothing but serve while a phase runs. Client CPU is the worker thread's.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { createClient, type Client, type InStatement } from "@libsql/client";

type Phase =
  | { kind: "setup" }
  | { kind: "select"; requests: number; concurrency: number }
  | { kind: "batch"; batches: number; rows: number; concurrency: number };

type PhaseResult = { operations: number; rows: number; elapsedMs: number; clientCpuMs: number };

const threadCpuMs = () => {
  const usage = process.threadCpuUsage();
  return (usage.user + usage.system) / 1000;
};

// ---------------------------------------------------------------------------------------------
// Load (worker thread)

const BODY = "x".repeat(120);
let nextId = 0;

function messageInsert(ticket: number): InStatement {
  const seq = nextId++;
  return {
    sql: "INSERT INTO messages (id, ticket_id, body, seq, created_at) VALUES (?, ?, ?, ?, ?)",
    args: [`m-${process.pid}-${seq}`, `t-${ticket}`, BODY, seq, Date.now()],
  };
}

/** Runs `total` operations, `concurrency` at a time. */
async function inFlight(total: number, concurrency: number, operation: (i: number) => Promise<unknown>): Promise<void> {
  let started = 0;
  const lane = async () => {
    while (started < total) await operation(started++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
}

async function runPhase(db: Client, phase: Phase): Promise<PhaseResult> {
  const cpu = threadCpuMs();
  const started = performance.now();
  let operations = 0;
  let rows = 0;
  switch (phase.kind) {
    case "setup":
      await db.execute(
        "CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, ticket_id TEXT, body TEXT, seq INTEGER, created_at INTEGER)",
      );
      break;
    case "select":
      await inFlight(phase.requests, phase.concurrency, async () => {
        const result = await db.execute("SELECT 1");
        if (result.rows[0]?.[0] !== 1) throw new Error("SELECT 1 did not return 1");
      });
      operations = phase.requests;
      break;
    case "batch":
      await inFlight(phase.batches, phase.concurrency, async (i) => {
        const statements = Array.from({ length: phase.rows }, () => messageInsert(i % 200));
        await db.batch(statements, "write");
      });
      operations = phase.batches;
      rows = phase.batches * phase.rows;
      break;
  }
  return { operations, rows, elapsedMs: performance.now() - started, clientCpuMs: threadCpuMs() - cpu };
}

function loadWorker(url: string): void {
  const db = createClient({ url });
  parentPort!.on("message", (phase: Phase | "exit") => {
    if (phase === "exit") {
      db.close();
      parentPort!.close();
      return;
    }
    runPhase(db, phase).then(
      (result) => parentPort!.postMessage({ ok: true, result }),
      (error: unknown) => parentPort!.postMessage({ ok: false, error: String((error as Error).stack ?? error) }),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Host and report (main thread)

type Measured = PhaseResult & { serverCpuMs: number };

function positiveInt(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      selects: { type: "string", default: "5000" },
      "select-concurrency": { type: "string", default: "1" },
      batches: { type: "string", default: "60" },
      "batch-rows": { type: "string", default: "200" },
      flushes: { type: "string", default: "3000" },
      "flush-rows": { type: "string", default: "5" },
      "flush-concurrency": { type: "string", default: "16" },
      server: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (args.help) {
    console.log(`usage: npx node bench/shard-host/shard-host-bench.ts [--selects N] [--select-concurrency C]
       [--batches N] [--batch-rows R] [--flushes N] [--flush-rows R] [--flush-concurrency C] [--server PATH]

  --server  the server.ts whose startShardHost to measure (e.g. a copy of the old code), default
            dev/shard-host/server.ts`);
    return;
  }
  const selects = positiveInt("selects", args.selects);
  const selectConcurrency = positiveInt("select-concurrency", args["select-concurrency"]);
  const batches = positiveInt("batches", args.batches);
  const batchRows = positiveInt("batch-rows", args["batch-rows"]);
  const flushes = positiveInt("flushes", args.flushes);
  const flushRows = positiveInt("flush-rows", args["flush-rows"]);
  const flushConcurrency = positiveInt("flush-concurrency", args["flush-concurrency"]);

  const serverUrl =
    args.server === undefined ? new URL("../../dev/shard-host/server.ts", import.meta.url) : pathToFileURL(resolve(args.server));
  const { startShardHost } = (await import(serverUrl.href)) as typeof import("../../dev/shard-host/server.ts");
  const dir = mkdtempSync(join(tmpdir(), "shard-host-bench-"));
  const host = await startShardHost({ dir, port: 0, shards: 1 });
  const worker = new Worker(new URL(import.meta.url), { workerData: { url: host.urls[0] } });
  const pending: ((message: { ok: true; result: PhaseResult } | { ok: false; error: string }) => void)[] = [];
  worker.on("message", (message) => pending.shift()?.(message));
  worker.once("error", (error) => {
    for (const settle of pending.splice(0)) settle({ ok: false, error: String(error.stack ?? error) });
  });

  const run = (phase: Phase): Promise<Measured> =>
    new Promise((resolvePhase, reject) => {
      const cpu = threadCpuMs();
      pending.push((message) => {
        const serverCpuMs = threadCpuMs() - cpu;
        if (message.ok) resolvePhase({ ...message.result, serverCpuMs });
        else reject(new Error(`load worker: ${message.error}`));
      });
      worker.postMessage(phase);
    });
  /** A short untimed run first, so both sides have warmed up (JIT, keep-alive, caches). */
  const measure = async (phase: Phase, warmup: Phase): Promise<Measured> => {
    await run(warmup);
    return run(phase);
  };

  try {
    await run({ kind: "setup" });
    const select = await measure(
      { kind: "select", requests: selects, concurrency: selectConcurrency },
      { kind: "select", requests: Math.min(selects, 500), concurrency: selectConcurrency },
    );
    const big = await measure(
      { kind: "batch", batches, rows: batchRows, concurrency: 1 },
      { kind: "batch", batches: Math.min(batches, 5), rows: batchRows, concurrency: 1 },
    );
    const small = await measure(
      { kind: "batch", batches: flushes, rows: flushRows, concurrency: flushConcurrency },
      { kind: "batch", batches: Math.min(flushes, 200), rows: flushRows, concurrency: flushConcurrency },
    );

    const perSecond = (n: number, m: Measured) => fmt((n * 1000) / m.elapsedMs);
    const micros = (cpuMs: number, n: number) => fmt((cpuMs * 1000) / n);
    /** What the server's CPU time alone would allow, per second, on one core. */
    const ceiling = (n: number, m: Measured) => fmt((n * 1000) / m.serverCpuMs);
    console.log(`shard host: ${serverUrl.pathname}; node ${process.version}; server = main thread CPU, client = load worker thread CPU`);
    console.log(
      `(a) SELECT 1, ${selectConcurrency} in flight: ${perSecond(select.operations, select)} req/s; ` +
        `server ${micros(select.serverCpuMs, select.operations)} µs CPU/req (~${ceiling(select.operations, select)} req/s per core), ` +
        `client ${micros(select.clientCpuMs, select.operations)} µs CPU/req`,
    );
    console.log(
      `(b) ${batchRows}-row write batches, 1 in flight: ${perSecond(big.rows, big)} rows/s; ` +
        `server ${micros(big.serverCpuMs, big.rows)} µs CPU/row (~${ceiling(big.rows, big)} rows/s per core), ` +
        `${fmt(big.serverCpuMs / big.operations, 2)} ms CPU/batch; client ${micros(big.clientCpuMs, big.rows)} µs CPU/row`,
    );
    console.log(
      `(c) ${flushRows}-statement write batches, ${flushConcurrency} in flight: ${perSecond(small.rows, small)} rows/s ` +
        `(${perSecond(small.operations, small)} batches/s); server ${micros(small.serverCpuMs, small.operations)} µs CPU/batch ` +
        `(~${ceiling(small.operations, small)} batches/s per core), client ${micros(small.clientCpuMs, small.operations)} µs CPU/batch`,
    );
  } finally {
    worker.postMessage("exit");
    await new Promise((done) => worker.once("exit", done));
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMainThread) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
} else {
  loadWorker((workerData as { url: string }).url);
}
