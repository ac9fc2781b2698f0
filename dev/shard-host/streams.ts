// Hrana-over-HTTP streams and batons for one shard. A stream is one `libsql` connection to
// the shard file (so an interactive transaction lives across HTTP requests); the client
// carries it from request to request with a baton. Like sqld, a baton is single-use (each
// response hands out the next one), is signed with a per-process key, and names the stream
// and a sequence number; a stream left idle for `batonTimeoutMs` expires (its open
// transaction is rolled back and its connection closed).
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import Database from "libsql";
import { RequestError, inTransaction, type Conn } from "./hrana.ts";

export type StreamRegistryOptions = {
  /** The shard's SQLite file. */
  dbPath: string;
  batonTimeoutMs: number;
  busyTimeoutMs: number;
};

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
  #released = false;
  /** The baton for the next request on this stream (valid only if the stream stays open). */
  readonly nextBaton: string;

  constructor(registry: StreamRegistry, stream: Stream, unlock: () => void, nextBaton: string) {
    this.#registry = registry;
    this.#stream = stream;
    this.#unlock = unlock;
    this.nextBaton = nextBaton;
  }

  /** The stream's connection, or null if the stream has been closed. */
  get conn(): Conn | null {
    return this.#stream.conn;
  }

  /** Closes the stream (the "close" request): rolls back and closes its connection. */
  closeStream(): void {
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
  #closed = false;

  constructor(options: StreamRegistryOptions) {
    this.#options = options;
  }

  /** Number of open streams (for tests and diagnostics). */
  get size(): number {
    return this.#streams.size;
  }

  #mac(id: string, seq: number): Buffer {
    return createHmac("sha256", this.#key).update(`${id}.${seq}`).digest().subarray(0, 18);
  }

  #baton(stream: Stream): string {
    return `${stream.id}.${stream.seq}.${this.#mac(stream.id, stream.seq).toString("base64url")}`;
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
      const conn: Conn = { db: openConnection(this.#options.dbPath), sqls: new Map(), busyTimeoutMs: this.#options.busyTimeoutMs };
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
    return new StreamLease(this, stream, unlock, this.#baton(stream));
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
      if (stream.conn !== null) closeConn(stream.conn);
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
    if (stream.conn !== null) closeConn(stream.conn);
    stream.conn = null;
    const now = Date.now();
    this.#expired.set(stream.id, now);
    for (const [id, at] of this.#expired) {
      if (at > now - EXPIRED_MEMORY_MS && this.#expired.size <= EXPIRED_MEMORY_MAX) break;
      this.#expired.delete(id);
    }
  }

  /** Closes every stream (rolling back open transactions); later acquires fail. */
  close(): void {
    this.#closed = true;
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
