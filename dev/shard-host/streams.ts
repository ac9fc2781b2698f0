// Hrana-over-HTTP streams and batons for one shard. A stream is one `libsql` connection to
// the shard file (so an interactive transaction lives across HTTP requests); the client
// carries it from request to request with a baton. Like sqld, a baton is single-use (each
// response hands out the next one), is signed with a per-process key, and names the stream
// and a sequence number; a stream left idle for `batonTimeoutMs` expires (its open
// transaction is rolled back and its connection closed or pooled, see below).
//
// Opening a connection costs about as much as a small request itself, so a stream that ends
// hands its connection to a small pool of idle ones for the next stream to start, provided it
// carries nothing over: no transaction (rolled back), no stored SQL texts (cleared), and no
// session state (a tainted connection, see Conn in hrana.ts, is closed instead). What does
// carry over is the connection's prepared statement cache and SQLite's per-connection
// counters: SQL's changes(), total_changes() and last_insert_rowid() start from the previous
// stream's values instead of 0. Results report last_insert_rowid as a new connection would
// (see reportedRowid in hrana.ts).
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import Database from "libsql";
import { RequestError, inTransaction, newConn, resetForReuse, type Conn } from "./hrana.ts";

export type StreamRegistryOptions = {
  /** The shard's SQLite file. */
  dbPath: string;
  batonTimeoutMs: number;
  busyTimeoutMs: number;
  /** Idle connections kept for new streams (default 8); 0 opens a connection per stream. */
  maxIdleConnections?: number;
};

const DEFAULT_MAX_IDLE_CONNECTIONS = 8;

type Stream = {
  id: string;
  /** Sequence number the next baton must carry. */
  seq: number;
  /** null once the stream has been closed. */
  conn: Conn | null;
  /** Resolves when the current holder releases the stream (requests are serialised). */
  tail: Promise<void>;
  /** Leases that hold or wait for the stream; the idle timer runs only when this is 0. */
  users: number;
  timer: NodeJS.Timeout | undefined;
};

/** How long an expired stream is remembered, to answer STREAM_EXPIRED rather than BATON_INVALID. */
const EXPIRED_MEMORY_MS = 5 * 60_000;
const EXPIRED_MEMORY_MAX = 10_000;

/** Opens a stream's connection: no blocking busy handler (see retryBusy in hrana.ts). */
export function openConnection(dbPath: string): Database.Database {
  const db = new Database(dbPath, { timeout: 0 });
  db.exec("PRAGMA synchronous = NORMAL");
  return db;
}

function closeConn(conn: Conn): void {
  if (!conn.db.open) return;
  try {
    if (inTransaction(conn.db)) conn.db.exec("ROLLBACK");
  } catch {
    // closing the connection rolls back anyway
  }
  try {
    conn.db.close();
  } catch {
    // already closed
  }
}

/** A request's hold on a stream, from `StreamRegistry.acquire` until `release`. */
export class StreamLease {
  readonly #registry: StreamRegistry;
  readonly #stream: Stream;
  readonly #unlock: () => void;
  /** The sequence number of the next baton (the stream's seq cannot move while this is held). */
  readonly #seq: number;
  #nextBaton: string | undefined;
  #released = false;

  constructor(registry: StreamRegistry, stream: Stream, unlock: () => void) {
    this.#registry = registry;
    this.#stream = stream;
    this.#unlock = unlock;
    this.#seq = stream.seq;
  }

  /**
   * The baton for the next request on this stream (valid only if the stream stays open).
   * Signed on first use only: most streams are closed by the request that opened them.
   */
  get nextBaton(): string {
    return (this.#nextBaton ??= this.#registry._baton(this.#stream.id, this.#seq));
  }

  /** The stream's connection, or null if the stream has been closed. */
  get conn(): Conn | null {
    return this.#stream.conn;
  }

  /** Closes the stream (the "close" request); its connection is pooled if clean, else closed. */
  closeStream(): void {
    const conn = this.#stream.conn;
    this.#stream.conn = null;
    if (conn !== null) this.#registry._retire(conn);
  }

  /** Closes the stream after an unexpected error: its connection is closed, never pooled. */
  abortStream(): void {
    const conn = this.#stream.conn;
    this.#stream.conn = null;
    if (conn !== null) closeConn(conn);
  }

  /** Ends the hold; returns the next baton, or null if the stream is closed. */
  release(): string | null {
    if (this.#released) throw new Error("StreamLease released twice");
    this.#released = true;
    this.#stream.users--;
    this.#unlock();
    return this.#registry._released(this.#stream) ? this.nextBaton : null;
  }
}

export class StreamRegistry {
  readonly #options: StreamRegistryOptions;
  readonly #key = randomBytes(32);
  readonly #streams = new Map<string, Stream>();
  /** Expired stream ids with the time they expired (insertion ordered). */
  readonly #expired = new Map<string, number>();
  /** Idle connections for new streams; the most recently used one is taken first. */
  readonly #idle: Conn[] = [];
  readonly #maxIdle: number;
  #opened = 0;
  #closed = false;

  constructor(options: StreamRegistryOptions) {
    this.#options = options;
    this.#maxIdle = options.maxIdleConnections ?? DEFAULT_MAX_IDLE_CONNECTIONS;
  }

  /** Number of open streams (for tests and diagnostics). */
  get size(): number {
    return this.#streams.size;
  }

  /** Number of idle pooled connections (for tests and diagnostics). */
  get idleConnections(): number {
    return this.#idle.length;
  }

  /** Number of connections opened so far (for tests and diagnostics). */
  get connectionsOpened(): number {
    return this.#opened;
  }

  #mac(id: string, seq: number): Buffer {
    return createHmac("sha256", this.#key).update(`${id}.${seq}`).digest().subarray(0, 18);
  }

  /** @internal Used by StreamLease.nextBaton. */
  _baton(id: string, seq: number): string {
    return `${id}.${seq}.${this.#mac(id, seq).toString("base64url")}`;
  }

  #takeConn(): Conn {
    const idle = this.#idle.pop();
    if (idle !== undefined) return idle;
    this.#opened++;
    return newConn(openConnection(this.#options.dbPath), this.#options.busyTimeoutMs);
  }

  /** @internal A stream has ended: pools its connection if it is clean and there is room. */
  _retire(conn: Conn): void {
    if (!this.#closed && this.#idle.length < this.#maxIdle && resetForReuse(conn)) this.#idle.push(conn);
    else closeConn(conn);
  }

  /**
   * Takes the stream named by `baton`, or opens a new stream if there is none. Waits while
   * another request still holds the stream. Throws RequestError for a bad, reused or expired
   * baton.
   */
  async acquire(baton: string | undefined): Promise<StreamLease> {
    if (this.#closed) throw new RequestError(503, "SHUTTING_DOWN", "The shard host is shutting down");
    let stream: Stream;
    if (baton === undefined) {
      const conn = this.#takeConn();
      stream = { id: randomUUID(), seq: 0, conn, tail: Promise.resolve(), users: 0, timer: undefined };
      this.#streams.set(stream.id, stream);
    } else {
      stream = this.#lookup(baton);
    }
    stream.seq++; // the presented baton is now used up
    clearTimeout(stream.timer);
    stream.timer = undefined;
    stream.users++;
    const previous = stream.tail;
    let unlock!: () => void;
    stream.tail = new Promise<void>((resolve) => (unlock = resolve));
    await previous;
    return new StreamLease(this, stream, unlock);
  }

  #lookup(baton: string): Stream {
    const match = /^([0-9a-f-]{36})\.(\d{1,15})\.([A-Za-z0-9_-]{24})$/.exec(baton);
    const id = match?.[1];
    const seq = Number(match?.[2]);
    const mac = Buffer.from(match?.[3] ?? "", "base64url");
    if (id === undefined || mac.length !== 18 || !timingSafeEqual(mac, this.#mac(id, seq))) {
      throw new RequestError(400, "BATON_INVALID", "Received an invalid baton");
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (this.#expired.has(id)) {
        throw new RequestError(400, "STREAM_EXPIRED", "The stream has expired due to inactivity");
      }
      throw new RequestError(400, "BATON_INVALID", "Received a baton of a stream that is closed or unknown");
    }
    if (stream.seq !== seq) {
      throw new RequestError(400, "BATON_REUSED", "Received a baton that has already been used");
    }
    return stream;
  }

  /** @internal Called by StreamLease.release; returns true if the stream stays open. */
  _released(stream: Stream): boolean {
    if (stream.conn === null || this.#closed) {
      this.#streams.delete(stream.id);
      if (stream.conn !== null) this._retire(stream.conn);
      stream.conn = null;
      return false;
    }
    if (stream.users === 0) {
      stream.timer = setTimeout(() => this.#expire(stream), this.#options.batonTimeoutMs);
      stream.timer.unref();
    }
    return true;
  }

  #expire(stream: Stream): void {
    stream.timer = undefined;
    if (stream.users > 0 || !this.#streams.has(stream.id)) return;
    this.#streams.delete(stream.id);
    if (stream.conn !== null) this._retire(stream.conn);
    stream.conn = null;
    const now = Date.now();
    this.#expired.set(stream.id, now);
    for (const [id, at] of this.#expired) {
      if (at > now - EXPIRED_MEMORY_MS && this.#expired.size <= EXPIRED_MEMORY_MAX) break;
      this.#expired.delete(id);
    }
  }

  /** Closes every stream (rolling back open transactions) and idle connection; later acquires fail. */
  close(): void {
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) closeConn(conn);
    for (const stream of this.#streams.values()) {
      clearTimeout(stream.timer);
      if (stream.users === 0) {
        if (stream.conn !== null) closeConn(stream.conn);
        stream.conn = null;
      }
      // A stream in use is closed when its request releases it (see _released).
    }
    this.#streams.clear();
  }
}
