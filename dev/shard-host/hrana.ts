// Hrana protocol (JSON encoding) for the shard host: decoding and validating request bodies,
// and executing stream requests on one `libsql` connection. Wire shapes follow the Hrana 2/3
// spec and what @libsql/hrana-client encodes/decodes (lib-esm/shared/json_*.js,
// lib-esm/http/json_*.js). HTTP and batons live in server.ts and streams.ts.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type Database from "libsql";
import { Lru } from "./lru.ts";
import { analyzeStatement, splitStatements, type StatementInfo } from "./sql.ts";

type Db = Database.Database;
type Prepared = Database.Statement;

// ---------------------------------------------------------------------------------------------
// Errors

/** An error answered with an HTTP status and a Hrana error body `{ message, code }`. */
export class RequestError extends Error {
  override name = "RequestError";
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function protocolError(message: string): RequestError {
  return new RequestError(400, "PROTOCOL_ERROR", message);
}

/** An error of one statement or stream request, answered inside a 200 response. */
export class StmtError extends Error {
  override name = "StmtError";
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export type WireError = { message: string; code: string };

/** Turns anything thrown while executing SQL into a Hrana error (SQLite codes like sqld's). */
export function toWireError(error: unknown): WireError {
  if (error instanceof StmtError) return { message: error.message, code: error.code };
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === "string" && code.startsWith("SQLITE_")) {
    if (code === "SQLITE_OK") return { message: "SQL string does not contain any statement", code: "SQL_NO_STATEMENT" };
    // libsql reports extended codes (SQLITE_CONSTRAINT_PRIMARYKEY); sqld sends the primary one.
    const primary = /^SQLITE_[A-Z]+/.exec(code)?.[0] ?? code;
    return { message: `SQLite error: ${message}`, code: primary };
  }
  return { message, code: "UNKNOWN" };
}

// ---------------------------------------------------------------------------------------------
// Protocol types (decoded)

export type Value = null | bigint | number | string | Uint8Array;

export type Stmt = {
  sql: string | undefined;
  sqlId: number | undefined;
  args: Value[];
  namedArgs: { name: string; value: Value }[];
  wantRows: boolean;
};

export type BatchCond =
  | { type: "ok" | "error"; step: number }
  | { type: "not"; cond: BatchCond }
  | { type: "and" | "or"; conds: BatchCond[] }
  | { type: "is_autocommit" };

export type Batch = { steps: { condition: BatchCond | undefined; stmt: Stmt }[] };

export type StreamRequest =
  | { type: "close" }
  | { type: "execute"; stmt: Stmt }
  | { type: "batch"; batch: Batch }
  | { type: "sequence"; sql: string | undefined; sqlId: number | undefined }
  | { type: "describe"; sql: string | undefined; sqlId: number | undefined }
  | { type: "store_sql"; sqlId: number; sql: string }
  | { type: "close_sql"; sqlId: number }
  | { type: "get_autocommit" };

export type PipelineBody = { baton: string | undefined; requests: StreamRequest[] };
export type CursorBody = { baton: string | undefined; batch: Batch };

// ---------------------------------------------------------------------------------------------
// Decoding (JSON value -> protocol types); every shape error is a 400 PROTOCOL_ERROR.

type Obj = Record<string, unknown>;

function object(value: unknown, what: string): Obj {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return value as Obj;
  throw protocolError(`Expected ${what} to be an object`);
}

function array(value: unknown, what: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw protocolError(`Expected ${what} to be an array`);
}

function string(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  throw protocolError(`Expected ${what} to be a string`);
}

function optString(value: unknown, what: string): string | undefined {
  return value === undefined || value === null ? undefined : string(value, what);
}

function sqlId(value: unknown, what: string): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31) return value;
  throw protocolError(`Expected ${what} to be a 32-bit integer`);
}

function optSqlId(value: unknown, what: string): number | undefined {
  return value === undefined || value === null ? undefined : sqlId(value, what);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function decodeValue(value: unknown, what: string): Value {
  const obj = object(value, what);
  switch (obj["type"]) {
    case "null":
      return null;
    case "integer": {
      const raw = obj["value"];
      let int: bigint;
      if (typeof raw === "string" && /^[+-]?\d+$/.test(raw)) int = BigInt(raw);
      else if (typeof raw === "number" && Number.isSafeInteger(raw)) int = BigInt(raw);
      else throw protocolError(`Expected ${what}.value to be an integer as a decimal string`);
      if (int < INT64_MIN || int > INT64_MAX) throw protocolError(`${what}.value does not fit in 64 bits`);
      return int;
    }
    case "float":
      if (typeof obj["value"] === "number") return obj["value"];
      throw protocolError(`Expected ${what}.value to be a number`);
    case "text":
      return string(obj["value"], `${what}.value`);
    case "blob": {
      const base64 = obj["base64"] ?? "";
      if (typeof base64 !== "string" || !/^[A-Za-z0-9+/\-_]*={0,2}$/.test(base64)) {
        throw protocolError(`Expected ${what}.base64 to be a base64 string`);
      }
      return Buffer.from(base64, "base64");
    }
    default:
      throw protocolError(`Unknown value type ${JSON.stringify(obj["type"])} in ${what}`);
  }
}

function decodeSqlRef(obj: Obj, what: string): { sql: string | undefined; sqlId: number | undefined } {
  const sql = optString(obj["sql"], `${what}.sql`);
  const id = optSqlId(obj["sql_id"], `${what}.sql_id`);
  if ((sql === undefined) === (id === undefined)) {
    throw protocolError(`${what} needs exactly one of "sql" and "sql_id"`);
  }
  return { sql, sqlId: id };
}

function decodeStmt(value: unknown, what: string): Stmt {
  const obj = object(value, what);
  const { sql, sqlId: id } = decodeSqlRef(obj, what);
  const args = obj["args"] === undefined || obj["args"] === null ? [] : array(obj["args"], `${what}.args`);
  const named =
    obj["named_args"] === undefined || obj["named_args"] === null ? [] : array(obj["named_args"], `${what}.named_args`);
  const wantRows = obj["want_rows"];
  if (wantRows !== undefined && wantRows !== null && typeof wantRows !== "boolean") {
    throw protocolError(`Expected ${what}.want_rows to be a boolean`);
  }
  return {
    sql,
    sqlId: id,
    args: args.map((arg, i) => decodeValue(arg, `${what}.args[${i}]`)),
    namedArgs: named.map((arg, i) => {
      const argObj = object(arg, `${what}.named_args[${i}]`);
      return {
        name: string(argObj["name"], `${what}.named_args[${i}].name`),
        value: decodeValue(argObj["value"], `${what}.named_args[${i}].value`),
      };
    }),
    wantRows: wantRows ?? true,
  };
}

function decodeCond(value: unknown, what: string, stepIndex: number): BatchCond {
  const obj = object(value, what);
  const type = obj["type"];
  switch (type) {
    case "ok":
    case "error": {
      const step = obj["step"];
      if (typeof step !== "number" || !Number.isInteger(step) || step < 0 || step >= stepIndex) {
        throw protocolError(`${what}.step must refer to an earlier step of the batch`);
      }
      return { type, step };
    }
    case "not":
      return { type, cond: decodeCond(obj["cond"], `${what}.cond`, stepIndex) };
    case "and":
    case "or":
      return {
        type,
        conds: array(obj["conds"], `${what}.conds`).map((cond, i) => decodeCond(cond, `${what}.conds[${i}]`, stepIndex)),
      };
    case "is_autocommit":
      return { type };
    default:
      throw protocolError(`Unknown batch condition type ${JSON.stringify(type)} in ${what}`);
  }
}

function decodeBatch(value: unknown, what: string): Batch {
  const obj = object(value, what);
  return {
    steps: array(obj["steps"], `${what}.steps`).map((stepValue, i) => {
      const step = object(stepValue, `${what}.steps[${i}]`);
      const condition =
        step["condition"] === undefined || step["condition"] === null
          ? undefined
          : decodeCond(step["condition"], `${what}.steps[${i}].condition`, i);
      return { condition, stmt: decodeStmt(step["stmt"], `${what}.steps[${i}].stmt`) };
    }),
  };
}

function decodeStreamRequest(value: unknown, what: string): StreamRequest {
  const obj = object(value, what);
  const type = obj["type"];
  switch (type) {
    case "close":
    case "get_autocommit":
      return { type };
    case "execute":
      return { type, stmt: decodeStmt(obj["stmt"], `${what}.stmt`) };
    case "batch":
      return { type, batch: decodeBatch(obj["batch"], `${what}.batch`) };
    case "sequence":
    case "describe":
      return { type, ...decodeSqlRef(obj, what) };
    case "store_sql":
      return { type, sqlId: sqlId(obj["sql_id"], `${what}.sql_id`), sql: string(obj["sql"], `${what}.sql`) };
    case "close_sql":
      return { type, sqlId: sqlId(obj["sql_id"], `${what}.sql_id`) };
    default:
      throw protocolError(`Unknown stream request type ${JSON.stringify(type)} in ${what}`);
  }
}

export function decodePipelineBody(json: unknown): PipelineBody {
  const obj = object(json, "the request body");
  return {
    baton: optString(obj["baton"], "baton"),
    requests: array(obj["requests"], "requests").map((request, i) => decodeStreamRequest(request, `requests[${i}]`)),
  };
}

export function decodeCursorBody(json: unknown): CursorBody {
  const obj = object(json, "the request body");
  return { baton: optString(obj["baton"], "baton"), batch: decodeBatch(obj["batch"], "batch") };
}

// ---------------------------------------------------------------------------------------------
// Encoding results

export type WireValue =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };

export type WireCol = { name: string | null; decltype: string | null };

export type WireStmtResult = {
  cols: WireCol[];
  rows: WireValue[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
  rows_read: number;
  rows_written: number;
  query_duration_ms: number;
};

export type WireBatchResult = {
  step_results: (WireStmtResult | null)[];
  step_errors: (WireError | null)[];
};

export type WireStreamResponse =
  | { type: "close" | "sequence" | "store_sql" | "close_sql" }
  | { type: "execute"; result: WireStmtResult }
  | { type: "batch"; result: WireBatchResult }
  | { type: "get_autocommit"; is_autocommit: boolean }
  | {
      type: "describe";
      result: {
        params: { name: string | null }[];
        cols: { name: string; decltype: string | null }[];
        is_explain: boolean;
        is_readonly: boolean;
      };
    };

export type WireStreamResult = { type: "ok"; response: WireStreamResponse } | { type: "error"; error: WireError };

/** Entries of a /v3/cursor response, one JSON object per line (after the first line). */
export type WireCursorEntry =
  | { type: "step_begin"; step: number; cols: WireCol[] }
  | { type: "row"; row: WireValue[] }
  | {
      type: "step_end";
      affected_row_count: number;
      last_insert_rowid: string | null;
      rows_read: number;
      rows_written: number;
    }
  | { type: "step_error"; step: number; error: WireError }
  | { type: "error"; error: WireError };

function encodeValue(value: unknown): WireValue {
  if (value === null || value === undefined) return { type: "null" };
  if (typeof value === "bigint") return { type: "integer", value: value.toString() };
  // JSON cannot carry Infinity: send it as null rather than breaking the client's decoder.
  if (typeof value === "number") return Number.isFinite(value) ? { type: "float", value } : { type: "null" };
  if (typeof value === "string") return { type: "text", value };
  if (value instanceof Uint8Array) return { type: "blob", base64: Buffer.from(value).toString("base64") };
  return { type: "text", value: String(value) }; // not reached: libsql returns only the types above
}

// ---------------------------------------------------------------------------------------------
// Execution

/** A prepared statement kept on its connection for the next run of the same SQL text. */
type CachedStmt = { prepared: Prepared; reader: boolean };

type Counters = { changes: bigint; total: bigint; lastRowid: bigint };

/** One stream's database connection plus its stored SQL texts. */
export type Conn = {
  db: Db;
  sqls: Map<number, string>;
  /** How long a statement that hits SQLITE_BUSY is retried (asynchronously) before failing. */
  busyTimeoutMs: number;
  /** Lazily prepared `SELECT changes(), total_changes(), last_insert_rowid()`. */
  counters: Prepared | undefined;
  /**
   * The counters as they were when the last statement run by runStatement ended, or undefined
   * if anything else may have run since: saves reading them again before the next statement.
   */
  known: Counters | undefined;
  /**
   * The last_insert_rowid() a pooled connection was handed over with (if not 0), until this
   * stream inserts a row; meanwhile results report 0, as on a new connection (see reportedRowid).
   */
  inheritedRowid: bigint | undefined;
  /** Prepared statements by SQL text, so a repeated statement skips sqlite3_prepare. */
  statements: Lru<string, CachedStmt>;
  /**
   * Set once the connection may hold state that must not reach another stream (a PRAGMA
   * setting, an attached database, TEMP objects, a statement left running by SQLITE_BUSY):
   * such a connection is closed when its stream ends instead of being pooled.
   */
  tainted: boolean;
};

const STATEMENTS_PER_CONNECTION = 128;

export function newConn(db: Db, busyTimeoutMs: number): Conn {
  return {
    db,
    sqls: new Map(),
    busyTimeoutMs,
    counters: undefined,
    known: undefined,
    inheritedRowid: undefined,
    statements: new Lru(STATEMENTS_PER_CONNECTION),
    tainted: false,
  };
}

/**
 * Whether the connection is inside an explicit transaction. Checks `open` first: libsql's
 * `inTransaction` on a closed connection panics and aborts the process.
 */
export function inTransaction(db: Db): boolean {
  return db.open && db.inTransaction;
}

/**
 * Prepares a connection whose stream has ended for another stream (the registry's pool):
 * rolls back a transaction left open and forgets the stored SQL texts. Returns false if the
 * connection must be closed instead (tainted, closed, or still in a transaction).
 */
export function resetForReuse(conn: Conn): boolean {
  if (conn.tainted || !conn.db.open) return false;
  if (inTransaction(conn.db)) {
    conn.known = undefined;
    try {
      conn.db.exec("ROLLBACK");
    } catch {
      return false;
    }
    if (inTransaction(conn.db)) return false;
  }
  conn.sqls.clear();
  conn.known ??= readCounters(conn);
  conn.inheritedRowid = conn.known.lastRowid === 0n ? undefined : conn.known.lastRowid;
  return true;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function rawCodeOf(error: unknown): number | undefined {
  const rawCode = (error as { rawCode?: unknown } | null)?.rawCode;
  return typeof rawCode === "number" ? rawCode : undefined;
}

function isBusy(error: unknown): boolean {
  const rawCode = rawCodeOf(error);
  if (rawCode !== undefined) return (rawCode & 0xff) === 5;
  return /^SQLITE_BUSY/.test(String((error as { code?: unknown } | null)?.code));
}

/** SQLITE_BUSY that may go away by waiting (not BUSY_SNAPSHOT: that needs a rollback). */
function isRetryableBusy(error: unknown): boolean {
  return isBusy(error) && rawCodeOf(error) !== 517;
}

/**
 * Runs `fn`, retrying it while SQLite says SQLITE_BUSY. The connections have no (blocking)
 * busy handler: one Node thread serves every stream, so a blocking wait could never see the
 * lock holder (another stream of this process) finish. Waiting here lets the event loop run.
 * The first attempt runs synchronously, so only a statement that has to wait returns a
 * promise (and costs the microtask hops that come with it).
 */
function withBusyRetry<T>(conn: Conn, fn: () => T): T | Promise<T> {
  const deadline = Date.now() + conn.busyTimeoutMs;
  try {
    return fn();
  } catch (error) {
    if (!isRetryableBusy(error) || Date.now() >= deadline) throw error;
  }
  return retryBusy(fn, deadline);
}

async function retryBusy<T>(fn: () => T, deadline: number): Promise<T> {
  let delay = 1;
  for (;;) {
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
    try {
      return fn();
    } catch (error) {
      if (!isRetryableBusy(error) || Date.now() >= deadline) throw error;
    }
  }
}

let gc: (() => void) | null | undefined;

/**
 * Forces V8 to collect (and libsql to sqlite3_finalize) statements that are no longer
 * referenced. Needed after SQLITE_BUSY: SQLite leaves a statement that got BUSY running (so
 * it can be retried), and a running statement makes every later COMMIT on the connection
 * fail with "cannot commit transaction - SQL statements in progress". The `libsql` package
 * has no finalize() or reset() without re-executing, so dropping the statement and
 * collecting it is the only way to end it.
 */
async function finalizeDroppedStatements(): Promise<void> {
  if (gc === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as () => void;
    } catch {
      gc = null;
    }
  }
  if (gc === null) return;
  // Native finalizers run after the collection, from the event loop.
  for (let i = 0; i < 2; i++) {
    gc();
    await yieldToEventLoop();
  }
}

function resolveSql(conn: Conn, sql: string | undefined, id: number | undefined): string {
  if (sql !== undefined) return sql;
  const stored = id === undefined ? undefined : conn.sqls.get(id);
  if (stored === undefined) throw new StmtError("SQL_NOT_FOUND", `SQL text ${id} not found`);
  return stored;
}

/** One statement and what sql.ts found in it. */
type Analyzed = {
  statement: string;
  info: StatementInfo;
  /**
   * SELECT, VALUES and EXPLAIN cannot change rows: they leave changes(), total_changes() and
   * last_insert_rowid() as they were (WITH may start an INSERT, UPDATE or DELETE).
   */
  readOnly: boolean;
  /** Whether the statement may be an INSERT (see reportedRowid). */
  mayInsert: boolean;
};

/** The outcome of analyzing an SQL text that should hold exactly one statement. */
type SqlText = ({ ok: true } & Analyzed) | { ok: false; code: string; message: string };

/**
 * Analyses by SQL text: clients send the same few texts over and over (the same INSERT with
 * other arguments), and tokenizing them in JS is a good part of a statement's cost.
 */
const sqlTexts = new Lru<string, SqlText>(1024);
/** Longer texts are analyzed again each time rather than kept (bounds the cache's memory). */
const MAX_CACHED_SQL_LENGTH = 8 * 1024;

function analyzeSqlText(sql: string): SqlText {
  const statements = splitStatements(sql);
  if (statements.length === 0) {
    return { ok: false, code: "SQL_NO_STATEMENT", message: "SQL string does not contain any statement" };
  }
  if (statements.length > 1) {
    return { ok: false, code: "SQL_MANY_STATEMENTS", message: "SQL string contains more than one statement" };
  }
  const statement = statements[0] as string;
  const info = analyzeStatement(statement);
  const { verb } = info;
  return {
    ok: true,
    statement,
    info,
    readOnly: verb === "SELECT" || verb === "VALUES" || verb === "EXPLAIN",
    mayInsert: verb === "INSERT" || verb === "REPLACE" || verb === "WITH",
  };
}

/** The one statement of `sql` with its analysis; throws StmtError if there are none or several. */
function singleStatement(sql: string): Analyzed {
  let text = sqlTexts.get(sql);
  if (text === undefined) {
    text = analyzeSqlText(sql);
    if (sql.length <= MAX_CACHED_SQL_LENGTH) sqlTexts.set(sql, text);
  }
  if (!text.ok) throw new StmtError(text.code, text.message);
  return text;
}

function readCounters(conn: Conn): Counters {
  if (conn.counters === undefined) {
    conn.counters = conn.db.prepare("SELECT changes(), total_changes(), last_insert_rowid()");
    conn.counters.safeIntegers(true).raw(true);
  }
  const row = conn.counters.get() as [bigint, bigint, bigint];
  return { changes: row[0], total: row[1], lastRowid: row[2] };
}

/**
 * Positional values for the statement. Named arguments are placed by parameter index (from
 * sql.ts), never passed to libsql as an object: libsql's by-name binding panics (aborting the
 * whole process) when a statement also has a nameless `?` parameter.
 */
function bindParams(info: StatementInfo, stmt: Stmt): Value[] {
  if (stmt.namedArgs.length === 0) return stmt.args;
  if (stmt.args.length > 0) {
    throw new StmtError("ARGS_BOTH_POSITIONAL_AND_NAMED", "Specifying both positional and named arguments is not supported");
  }
  // Like sqld, a name may be given with its prefix (":id") or without it ("id").
  const named = new Map<string, Value>();
  for (const { name, value } of stmt.namedArgs) named.set(name, value);
  return info.params.map((param) => {
    if (param === null) return null;
    return named.get(param) ?? named.get(param.slice(1)) ?? null;
  });
}

/**
 * The connection's prepared statement for `sql`, prepared now if it has none. Long texts are
 * not kept (like their analyses): they are rarely repeated and would hold on to memory.
 */
function prepareCached(conn: Conn, sql: string): CachedStmt {
  let cached = conn.statements.get(sql);
  if (cached === undefined) {
    const prepared = conn.db.prepare(sql);
    prepared.safeIntegers(true);
    const reader = prepared.reader;
    if (reader) prepared.raw(true);
    cached = { prepared, reader };
    if (sql.length <= MAX_CACHED_SQL_LENGTH) conn.statements.set(sql, cached);
  }
  return cached;
}

/**
 * Runs a prepared statement to completion (throws SqliteError). Read-only statements (see
 * Analyzed) leave the counters alone, so with the counters known from the statement before
 * they need no counter read at all; other statements need one, after running.
 */
function runPrepared(conn: Conn, stmt: CachedStmt, sql: Analyzed, params: Value[], wantRows: boolean): WireStmtResult {
  const started = performance.now();
  const before = conn.known ?? readCounters(conn);
  // Until this statement has completed, the counters are unknown (it may fail part-way).
  conn.known = sql.readOnly ? before : undefined;
  const { prepared } = stmt;
  let cols: WireCol[] = [];
  const rows: WireValue[][] = [];
  let rowsRead = 0;
  if (stmt.reader) {
    // Always read to the end: a statement left mid-way would stay running (see above).
    for (const row of prepared.iterate(params) as Iterable<unknown[]>) {
      rowsRead++;
      if (wantRows) rows.push(row.map(encodeValue));
    }
    if (sql.info.isExplain) endExplain(prepared, params);
    // Only after running: a cached statement that SQLite re-prepared after a schema change
    // (SELECT * after ALTER TABLE ADD COLUMN) reports its old columns until it has been run.
    cols = prepared.columns().map((col) => ({ name: col.name, decltype: col.type }));
  } else {
    prepared.run(params);
  }
  const after = sql.readOnly ? before : (conn.known = readCounters(conn));
  // changes() keeps the count of the last INSERT/UPDATE/DELETE, so only trust it if this
  // statement changed something.
  const affected = after.total !== before.total ? Number(after.changes) : 0;
  return {
    cols,
    rows,
    affected_row_count: affected,
    last_insert_rowid: reportedRowid(conn, sql, before, after).toString(),
    rows_read: rowsRead,
    rows_written: affected,
    query_duration_ms: performance.now() - started,
  };
}

/**
 * Ends an EXPLAIN statement that has returned its last row. Unlike other statements, SQLite
 * leaves an EXPLAIN running after it, until it is reset, and a running statement makes a
 * VACUUM on the connection fail ("SQL statements in progress"). libsql resets a statement
 * before each run, and after it only in get() (which reads one row); running an EXPLAIN once
 * more just lists the program again, so get() is the way to reset it.
 */
function endExplain(prepared: Prepared, params: Value[]): void {
  prepared.get(params);
}

/**
 * The last_insert_rowid to report. A pooled connection comes with the rowid of its previous
 * stream's last INSERT (conn.inheritedRowid); until this stream inserts a row, report 0, as a
 * new connection would. A row was inserted if the rowid moved, or (same rowid by chance) if
 * the statement may be an INSERT and changed rows; the only imprecision left is a stale rowid
 * for such a statement that inserted nothing (an upsert that updated), which @libsql/client
 * documents as unspecified anyway. (SQL's own last_insert_rowid() does show the old value.)
 */
function reportedRowid(conn: Conn, sql: Analyzed, before: Counters, after: Counters): bigint {
  const inherited = conn.inheritedRowid;
  if (inherited === undefined) return after.lastRowid;
  const inserted = after.lastRowid !== inherited || (sql.mayInsert && after.total !== before.total);
  if (!inserted) return 0n;
  conn.inheritedRowid = undefined;
  return after.lastRowid;
}

/**
 * Executes one statement with the connection's cached prepared statement for its text,
 * retrying it while it gets SQLITE_BUSY (the retries reuse the prepared statement: libsql
 * resets it before each run). Synchronous unless it has to wait for a lock.
 *
 * A statement whose run failed leaves the cache. After SQLITE_BUSY it is also dropped and
 * finalized (see finalizeDroppedStatements), which only works once the cache no longer holds
 * it, and the connection is tainted in case the collection did not catch it.
 */
function runStatement(conn: Conn, sql: Analyzed, params: Value[], wantRows: boolean): WireStmtResult | Promise<WireStmtResult> {
  if (sql.info.changesSession) conn.tainted = true;
  const text = sql.statement;
  let stmt: CachedStmt | undefined;
  const attempt = () => {
    stmt ??= prepareCached(conn, text);
    return runPrepared(conn, stmt, sql, params, wantRows);
  };
  const fail = (error: unknown): Promise<never> => {
    if (stmt !== undefined) conn.statements.delete(text);
    if (!isBusy(error) || stmt === undefined) throw error;
    stmt = undefined;
    conn.tainted = true;
    // An error's unformatted stack trace keeps its frames' receivers (the statement) alive.
    void (error as Error).stack;
    return finalizeDroppedStatements().then(() => Promise.reject(error));
  };
  let result: WireStmtResult | Promise<WireStmtResult>;
  try {
    result = withBusyRetry(conn, attempt);
  } catch (error) {
    return fail(error);
  }
  return result instanceof Promise ? result.catch(fail) : result;
}

function executeStmt(conn: Conn, stmt: Stmt): WireStmtResult | Promise<WireStmtResult> {
  const sql = singleStatement(resolveSql(conn, stmt.sql, stmt.sqlId));
  return runStatement(conn, sql, bindParams(sql.info, stmt), stmt.wantRows);
}

type StepOutcome = "ok" | "error" | "skipped";

function evalCond(conn: Conn, cond: BatchCond, outcomes: StepOutcome[]): boolean {
  switch (cond.type) {
    case "ok":
      return outcomes[cond.step] === "ok";
    case "error":
      return outcomes[cond.step] === "error";
    case "not":
      return !evalCond(conn, cond.cond, outcomes);
    case "and":
      return cond.conds.every((c) => evalCond(conn, c, outcomes));
    case "or":
      return cond.conds.some((c) => evalCond(conn, c, outcomes));
    case "is_autocommit":
      return !inTransaction(conn.db);
  }
}

/** Receives each executed step of a batch, in order (used to stream /v3/cursor entries). */
export type StepSink = (step: number, outcome: { result: WireStmtResult } | { error: WireError }) => void;

export async function executeBatch(conn: Conn, batch: Batch, sink?: StepSink): Promise<WireBatchResult> {
  const outcomes: StepOutcome[] = [];
  const stepResults: (WireStmtResult | null)[] = [];
  const stepErrors: (WireError | null)[] = [];
  for (const [i, step] of batch.steps.entries()) {
    if (step.condition !== undefined && !evalCond(conn, step.condition, outcomes)) {
      outcomes.push("skipped");
      stepResults.push(null);
      stepErrors.push(null);
      continue;
    }
    try {
      const pending = executeStmt(conn, step.stmt);
      // Await only a statement that is waiting out SQLITE_BUSY: saves a microtask hop per step.
      const result = pending instanceof Promise ? await pending : pending;
      outcomes.push("ok");
      stepResults.push(result);
      stepErrors.push(null);
      sink?.(i, { result });
    } catch (error) {
      const wire = toWireError(error);
      outcomes.push("error");
      stepResults.push(null);
      stepErrors.push(wire);
      sink?.(i, { error: wire });
    }
  }
  return { step_results: stepResults, step_errors: stepErrors };
}

async function executeSequence(conn: Conn, sql: string): Promise<void> {
  for (const piece of splitStatements(sql)) {
    const pending = runStatement(conn, singleStatement(piece), [], false);
    if (pending instanceof Promise) await pending;
  }
}

// Opcodes that make sqlite3_stmt_readonly() false besides a write OP_Transaction.
const WRITE_OPCODES = new Set(["Checkpoint", "Vacuum", "JournalMode"]);

async function describe(conn: Conn, rawSql: string): Promise<WireStreamResponse> {
  const { statement: sql, info } = singleStatement(rawSql);
  // Preparing applies some PRAGMAs already. Describe prepares afresh (not from the cache): a
  // cached statement's columns may be stale until it has run (see runPrepared).
  if (info.changesSession) conn.tainted = true;
  return withBusyRetry(conn, () => {
    const prepared = conn.db.prepare(sql);
    const cols = prepared.reader ? prepared.columns().map((col) => ({ name: col.name, decltype: col.type })) : [];
    let readonly = true;
    if (!info.isExplain) {
      const explain = conn.db.prepare(`EXPLAIN ${sql}`);
      explain.safeIntegers(true).raw(true);
      for (const op of explain.iterate([]) as Iterable<unknown[]>) {
        const opcode = op[1];
        if ((opcode === "Transaction" && op[3] !== 0n) || WRITE_OPCODES.has(String(opcode))) readonly = false;
      }
      endExplain(explain, []);
    }
    return {
      type: "describe" as const,
      result: {
        params: info.params.map((name) => ({ name })),
        cols,
        is_explain: info.isExplain,
        is_readonly: readonly,
      },
    };
  });
}

/** Executes one stream request other than "close" (which the stream layer handles). */
export async function executeRequest(
  conn: Conn,
  request: Exclude<StreamRequest, { type: "close" }>,
): Promise<WireStreamResult> {
  try {
    return { type: "ok", response: await executeRequestOrThrow(conn, request) };
  } catch (error) {
    return { type: "error", error: toWireError(error) };
  }
}

async function executeRequestOrThrow(
  conn: Conn,
  request: Exclude<StreamRequest, { type: "close" }>,
): Promise<WireStreamResponse> {
  switch (request.type) {
    case "execute":
      return { type: "execute", result: await executeStmt(conn, request.stmt) };
    case "batch":
      return { type: "batch", result: await executeBatch(conn, request.batch) };
    case "sequence":
      await executeSequence(conn, resolveSql(conn, request.sql, request.sqlId));
      return { type: "sequence" };
    case "describe":
      return describe(conn, resolveSql(conn, request.sql, request.sqlId));
    case "store_sql":
      conn.sqls.set(request.sqlId, request.sql);
      return { type: "store_sql" };
    case "close_sql":
      conn.sqls.delete(request.sqlId);
      return { type: "close_sql" };
    case "get_autocommit":
      return { type: "get_autocommit", is_autocommit: !inTransaction(conn.db) };
  }
}
