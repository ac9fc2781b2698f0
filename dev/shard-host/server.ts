/**
 * Local libSQL shard host: serves SQLite files (`<dir>/shard-<i>.db`, one per shard, one HTTP
 * port per shard) over the Hrana-over-HTTP protocol, so that `@libsql/client` (Node and
 * `/web`) connects to `http://127.0.0.1:<port>` exactly as it would to sqld or Turso.
 *
 * Why: local development and tests need real libSQL shards reachable over HTTP, but the
 * `turso` CLI's dev server is not a Hrana server, so `@libsql/client` cannot use it. This
 * is a small node:http server on the `libsql` package instead. JSON encoding only: the
 * client probes `GET /v3-protobuf`, gets 404, and falls back to `/v2/pipeline` (JSON).
 *
 * Endpoints: GET /v2, /v3, /health; POST /v2/pipeline, /v3/pipeline, /v3/cursor.
 * Protocol details are in hrana.ts (requests, execution), streams.ts (batons) and sql.ts.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import type Database from "libsql";
import {
  RequestError,
  decodeCursorBody,
  decodePipelineBody,
  executeBatch,
  executeRequest,
  toWireError,
  type WireCursorEntry,
  type WireStreamResult,
} from "./hrana.ts";
import { StreamRegistry, openConnection } from "./streams.ts";

export type ShardHostOptions = {
  /** Folder of the shard files; created if missing. */
  dir: string;
  /** Port of shard 0; shard i listens on port + i. 0 picks free ports (see `urls`). */
  port: number;
  /** Number of shards (>= 1). */
  shards: number;
  /** Exact port of each shard, overriding `port` (to restart a host on the ports it had). */
  ports?: readonly number[];
  /** Address to bind; defaults to 127.0.0.1. */
  host?: string;
  /** If set, pipeline/cursor requests need `Authorization: Bearer <authToken>` (else 401). */
  authToken?: string;
  /** Idle time after which a stream (and its baton) expires; default 10 s, like sqld. */
  batonTimeoutMs?: number;
  /** How long a statement waiting for a lock (SQLITE_BUSY) is retried; default 5 s. */
  busyTimeoutMs?: number;
};

export type ShardHost = {
  /** Base URL of each shard, shard 0 first, with the real ports. */
  urls: string[];
  /** Stops the servers, closes every stream (rolling back open transactions) and database. */
  close(): Promise<void>;
  /** Per shard (shard 0 first): open streams and connections, for tests and diagnostics. */
  stats(): ShardStats[];
};

export type ShardStats = {
  /** Streams open now (each holds a connection). */
  streams: number;
  /** Idle connections pooled for new streams. */
  idleConnections: number;
  /** Stream connections opened since the host started (the pool saves the others). */
  connectionsOpened: number;
};

const MAX_BODY_BYTES = 64 * 1024 * 1024;

type Shard = {
  index: number;
  dbPath: string;
  /** Kept open for the host's lifetime so the WAL is not checkpointed away between streams. */
  primary: Database.Database;
  registry: StreamRegistry;
  server: Server;
  url: string;
};

export async function startShardHost(options: ShardHostOptions): Promise<ShardHost> {
  const { dir, port, shards } = options;
  const host = options.host ?? "127.0.0.1";
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, got ${shards}`);
  if (!Number.isInteger(port) || port < 0 || (port > 0 && port + shards - 1 > 65535)) {
    throw new RangeError(`port must be 0 or a port such that port + shards - 1 <= 65535, got ${port}`);
  }
  if (options.ports !== undefined && options.ports.length !== shards) {
    throw new RangeError(`ports must list one port per shard (${shards}), got ${options.ports.length}`);
  }
  const authDigest = options.authToken === undefined ? undefined : sha256(options.authToken);
  const batonTimeoutMs = options.batonTimeoutMs ?? 10_000;
  const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
  mkdirSync(dir, { recursive: true });

  const started: Shard[] = [];
  const closeShards = async () => {
    await Promise.all(started.map(closeShard));
  };
  try {
    for (let index = 0; index < shards; index++) {
      const dbPath = resolve(join(dir, `shard-${index}.db`));
      const primary = openConnection(dbPath);
      const shard: Shard = {
        index,
        dbPath,
        primary,
        registry: new StreamRegistry({ dbPath, batonTimeoutMs, busyTimeoutMs }),
        server: createServer(),
        url: "",
      };
      started.push(shard);
      primary.exec("PRAGMA journal_mode = WAL");
      shard.server.on("request", (req: IncomingMessage, res: ServerResponse) => {
        handle(shard, authDigest, req, res).catch((error: unknown) => {
          console.error(`shard-host: shard ${index}: unexpected error`, error);
          if (!res.headersSent) sendJson(res, 500, { message: "Internal server error", code: "INTERNAL_ERROR" });
          else res.end();
        });
      });
      const wanted = options.ports?.[index] ?? (port === 0 ? 0 : port + index);
      const actualPort = await listen(shard.server, wanted, host);
      shard.url = `http://${host.includes(":") ? `[${host}]` : host}:${actualPort}`;
    }
  } catch (error) {
    await closeShards();
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    urls: started.map((shard) => shard.url),
    close: () => (closing ??= closeShards()),
    stats: () =>
      started.map(({ registry }) => ({
        streams: registry.size,
        idleConnections: registry.idleConnections,
        connectionsOpened: registry.connectionsOpened,
      })),
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolvePort((server.address() as AddressInfo).port);
    });
  });
}

async function closeShard(shard: Shard): Promise<void> {
  const closed = new Promise<void>((done) => shard.server.close(() => done()));
  shard.server.closeAllConnections();
  shard.registry.close();
  if (shard.server.listening) await closed;
  try {
    shard.primary.close();
  } catch {
    // already closed
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  // The client compares the content type exactly with "application/json" (no charset).
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  res.end(data);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Reads and parses a JSON body (with events: `for await` over the request costs more). */
function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.once("error", reject);
    req.once("close", () => {
      if (!req.complete) reject(new Error("The request was aborted"));
    });
    req.once("end", () => {
      if (size > MAX_BODY_BYTES) {
        reject(new RequestError(413, "REQUEST_TOO_LARGE", `Request body is larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      try {
        const text = chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8");
        resolveBody(JSON.parse(text));
      } catch (error) {
        reject(new RequestError(400, "PROTOCOL_ERROR", `Malformed JSON request body: ${(error as Error).message}`));
      }
    });
  });
}

function authorized(req: IncomingMessage, authDigest: Buffer | undefined): boolean {
  if (authDigest === undefined) return true;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  return match?.[1] !== undefined && timingSafeEqual(sha256(match[1]), authDigest);
}

async function handle(shard: Shard, authDigest: Buffer | undefined, req: IncomingMessage, res: ServerResponse) {
  const path = new URL(req.url ?? "/", "http://shard-host").pathname.replace(/\/+$/, "") || "/";
  const method = req.method ?? "GET";
  try {
    switch (path) {
      case "/":
      case "/v2":
      case "/v3":
        if (method !== "GET" && method !== "HEAD") throw methodNotAllowed(method, path);
        return sendText(res, 200, `Hello, this is the shard host (Hrana over HTTP), shard ${shard.index}`);
      case "/health":
        if (method !== "GET" && method !== "HEAD") throw methodNotAllowed(method, path);
        return sendJson(res, 200, { status: "ok", shard: shard.index });
      case "/v2/pipeline":
      case "/v3/pipeline":
      case "/v3/cursor":
        if (method !== "POST") throw methodNotAllowed(method, path);
        if (!authorized(req, authDigest)) {
          throw new RequestError(401, "UNAUTHORIZED", "Missing or invalid authorization (expected `Authorization: Bearer <token>`)");
        }
        return path === "/v3/cursor" ? await handleCursor(shard, req, res) : await handlePipeline(shard, req, res);
      default:
        // Includes /v3-protobuf: a 404 there makes the client fall back to JSON.
        throw new RequestError(404, "NOT_FOUND", `No such endpoint: ${method} ${path}`);
    }
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    if (res.headersSent) return void res.end();
    sendJson(res, error.status, { message: error.message, code: error.code });
  }
}

function methodNotAllowed(method: string, path: string): RequestError {
  return new RequestError(405, "METHOD_NOT_ALLOWED", `Method ${method} is not allowed on ${path}`);
}

const STREAM_CLOSED = { message: "The stream has been closed", code: "STREAM_CLOSED" };

async function handlePipeline(shard: Shard, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = decodePipelineBody(await readJson(req));
  const lease = await shard.registry.acquire(body.baton);
  const results: WireStreamResult[] = [];
  try {
    for (const request of body.requests) {
      const conn = lease.conn;
      if (request.type === "close") {
        lease.closeStream();
        results.push({ type: "ok", response: { type: "close" } });
      } else if (conn === null) {
        results.push({ type: "error", error: STREAM_CLOSED });
      } else {
        results.push(await executeRequest(conn, request));
      }
    }
  } catch (error) {
    lease.abortStream();
    lease.release();
    throw error;
  }
  const baton = lease.release();
  sendJson(res, 200, { baton, base_url: null, results });
}

async function handleCursor(shard: Shard, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = decodeCursorBody(await readJson(req));
  const lease = await shard.registry.acquire(body.baton);
  const conn = lease.conn;
  const write = (entry: object) => res.write(`${JSON.stringify(entry)}\n`);
  const entry = (e: WireCursorEntry) => write(e);
  try {
    res.writeHead(200, { "content-type": "text/plain" });
    write({ baton: conn === null ? null : lease.nextBaton, base_url: null });
    if (conn === null) {
      entry({ type: "error", error: STREAM_CLOSED });
      return;
    }
    await executeBatch(conn, body.batch, (step, outcome) => {
      if ("error" in outcome) {
        entry({ type: "step_error", step, error: outcome.error });
        return;
      }
      const { result } = outcome;
      entry({ type: "step_begin", step, cols: result.cols });
      for (const row of result.rows) entry({ type: "row", row });
      entry({
        type: "step_end",
        affected_row_count: result.affected_row_count,
        last_insert_rowid: result.last_insert_rowid,
        rows_read: result.rows_read,
        rows_written: result.rows_written,
      });
    });
  } catch (error) {
    console.error(`shard-host: shard ${shard.index}: cursor failed`, error);
    entry({ type: "error", error: toWireError(error) });
    lease.abortStream();
  } finally {
    lease.release();
    res.end();
  }
}
