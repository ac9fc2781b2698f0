// Tests of the shard host's reuse of connections and prepared statements: a stream's
// connection goes back to a pool when the stream ends, and statements are cached per
// connection; neither may change what a client sees. Uses @libsql/client and raw requests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createClient, type Client } from "@libsql/client";
import { startShardHost, type ShardHost, type ShardHostOptions } from "./server.ts";
import { StreamRegistry } from "./streams.ts";

const dirs: string[] = [];
const hosts: ShardHost[] = [];
const clients: Client[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "shard-host-pool-test-"));
  dirs.push(dir);
  return dir;
}

/** A one-shard host, its pipeline URL, a client, and the shard's stats. */
async function start(options: Partial<ShardHostOptions> = {}) {
  const host = await startShardHost({ dir: tempDir(), port: 0, shards: 1, ...options });
  hosts.push(host);
  const url = host.urls[0]!;
  const db = createClient({ url });
  clients.push(db);
  return { host, url, pipeline: `${url}/v2/pipeline`, db, stats: () => host.stats()[0]! };
}

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(hosts.map((h) => h.close()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function post(url: string, body: unknown): Promise<any> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return response.json();
}

const execute = (sql: string, args: unknown[] = []) => ({ type: "execute", stmt: { sql, args, want_rows: true } });
const int = (value: number) => ({ type: "integer", value: String(value) });
const close = { type: "close" };

/** Runs requests on a new stream and closes it; returns the results. */
async function once(url: string, ...requests: unknown[]): Promise<any[]> {
  return (await post(url, { requests: [...requests, close] })).results;
}

const values = (result: any) => result.response.result.rows.map((row: any[]) => row.map((v) => v.value));

describe("connection pool", () => {
  it("reuses one connection for sequential requests without a baton, and closes it with the host", async () => {
    const { host, db, stats } = await start();
    await db.execute("CREATE TABLE t (x INTEGER)");
    for (let i = 0; i < 20; i++) await db.execute({ sql: "INSERT INTO t VALUES (?)", args: [i] });
    await db.batch(["INSERT INTO t VALUES (100)", "INSERT INTO t VALUES (101)"], "write");
    expect((await db.execute("SELECT count(*) AS n FROM t")).rows[0]?.["n"]).toBe(22);
    expect(stats()).toEqual({ streams: 0, idleConnections: 1, connectionsOpened: 1 });
    await host.close();
    expect(host.stats()[0]).toMatchObject({ streams: 0, idleConnections: 0 });
  });

  it("keeps at most maxIdleConnections idle connections", async () => {
    const dbPath = join(tempDir(), "pool.db");
    const registry = new StreamRegistry({ dbPath, batonTimeoutMs: 10_000, busyTimeoutMs: 1000, maxIdleConnections: 2 });
    const leases = await Promise.all([1, 2, 3].map(() => registry.acquire(undefined)));
    const conns = leases.map((lease) => lease.conn);
    for (const lease of leases) {
      lease.closeStream();
      expect(lease.release()).toBeNull();
    }
    expect(registry.idleConnections).toBe(2);
    const again = await registry.acquire(undefined);
    expect(conns).toContain(again.conn); // a pooled connection, not a new one
    expect(registry.connectionsOpened).toBe(3);
    again.closeStream();
    again.release();
    registry.close();
    expect(registry.idleConnections).toBe(0);
    for (const conn of conns) expect(conn?.db.open).toBe(false);
  });

  it("never hands on an open transaction: BEGIN without COMMIT, then close", async () => {
    const { pipeline, db, stats } = await start();
    await db.execute("CREATE TABLE t (x INTEGER)");
    const results = await once(pipeline, execute("BEGIN"), execute("INSERT INTO t VALUES (1)"), { type: "get_autocommit" });
    expect(results[2].response.is_autocommit).toBe(false);
    const next = await once(pipeline, { type: "get_autocommit" }, execute("SELECT count(*) FROM t"));
    expect(next[0].response.is_autocommit).toBe(true);
    expect(values(next[1])).toEqual([["0"]]);
    expect(stats().connectionsOpened).toBe(1); // rolled back and reused, not a new connection
  });

  it("never hands on an open transaction: a batch that fails midway without a ROLLBACK step", async () => {
    const { pipeline, db } = await start();
    await db.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)");
    const step = (sql: string, condition?: unknown) => ({ ...(condition ? { condition } : {}), stmt: { sql } });
    const [batch] = await once(pipeline, {
      type: "batch",
      batch: {
        steps: [
          step("BEGIN IMMEDIATE"),
          step("INSERT INTO t VALUES (1)", { type: "ok", step: 0 }),
          step("INSERT INTO t VALUES (1)", { type: "ok", step: 1 }), // fails: duplicate key
          step("COMMIT", { type: "ok", step: 2 }),
        ],
      },
    });
    expect(batch.response.result.step_errors[2].code).toBe("SQLITE_CONSTRAINT");
    // The next request writes (it would get SQLITE_BUSY if the old transaction still held the lock).
    await db.execute("INSERT INTO t VALUES (2)");
    expect((await db.execute("SELECT x FROM t")).rows.map((row) => row["x"])).toEqual([2]);
    const tx = await db.transaction("write");
    await tx.execute("INSERT INTO t VALUES (3)");
    await tx.commit();
    tx.close();
    expect((await db.execute("SELECT count(*) AS n FROM t")).rows[0]?.["n"]).toBe(2);
  });

  it("does not hand on stored SQL texts", async () => {
    const { pipeline, stats } = await start();
    const first = await once(pipeline, { type: "store_sql", sql_id: 1, sql: "SELECT 42" }, { type: "execute", stmt: { sql_id: 1 } });
    expect(values(first[1])).toEqual([["42"]]);
    const [next] = await once(pipeline, { type: "execute", stmt: { sql_id: 1 } });
    expect(next).toMatchObject({ type: "error", error: { code: "SQL_NOT_FOUND" } });
    expect(stats().connectionsOpened).toBe(1);
  });

  it("does not hand on TEMP objects, attached databases or PRAGMA settings", async () => {
    const { pipeline, db } = await start();
    await db.execute("CREATE TABLE t (x)");
    const outcome = (result: any) => (result.type === "ok" ? values(result) : result.error.message);
    const cases: [setup: unknown, check: unknown][] = [
      [execute("CREATE TEMP TABLE scratch (x)"), execute("SELECT * FROM scratch")],
      [execute('CREATE TABLE "temp".scratch2 (x)'), execute("SELECT * FROM scratch2")],
      [execute("CREATE TEMP VIEW v AS SELECT 1"), execute("SELECT * FROM v")],
      [execute("ATTACH ':memory:' AS aux"), execute("SELECT name FROM pragma_database_list ORDER BY seq")],
      [execute("PRAGMA foreign_keys = OFF"), execute("PRAGMA foreign_keys")],
      [execute("PRAGMA query_only = ON"), execute("INSERT INTO t VALUES (1)")],
      [execute("PRAGMA synchronous = OFF"), execute("PRAGMA synchronous")],
    ];
    for (const [setup, check] of cases) {
      const before = outcome((await once(pipeline, check))[0]);
      expect((await once(pipeline, setup))[0].type, JSON.stringify(setup)).toBe("ok");
      expect(outcome((await once(pipeline, check))[0]), JSON.stringify(setup)).toEqual(before);
    }
    expect(outcome((await once(pipeline, execute("PRAGMA synchronous")))[0])).toEqual([["1"]]); // NORMAL, from openConnection
  });

  it("reports last_insert_rowid like a new connection would", async () => {
    const { db } = await start();
    await db.batch(["CREATE TABLE a (x)", "CREATE TABLE b (x)", "INSERT INTO b VALUES (0)"], "write");
    expect((await db.execute("INSERT INTO a VALUES (1)")).lastInsertRowid).toBe(1n);
    expect((await db.execute("SELECT 1")).lastInsertRowid).toBe(0n);
    expect((await db.execute("UPDATE a SET x = 2")).lastInsertRowid).toBe(0n);
    expect((await db.execute("INSERT INTO a VALUES (3)")).lastInsertRowid).toBe(2n);
    // Rowid 2 again, in another table: still reported, though SQLite's value did not move.
    expect((await db.execute("INSERT INTO b VALUES (4)")).lastInsertRowid).toBe(2n);
    const [insert, select] = await db.batch(["INSERT INTO a VALUES (5)", "SELECT 1"], "write");
    expect([insert?.lastInsertRowid, select?.lastInsertRowid]).toEqual([3n, 3n]);
  });
});

describe("statement cache", () => {
  it("a cached SELECT * sees columns added, and types changed, by another connection", async () => {
    const { url, db } = await start();
    const other = createClient({ url });
    clients.push(other);
    await db.execute("CREATE TABLE evolving (a INTEGER)");
    await db.execute("INSERT INTO evolving VALUES (1)");
    const first = await db.execute("SELECT * FROM evolving");
    expect(first.columns).toEqual(["a"]);

    const tx = await other.transaction("write"); // the DDL runs on a connection of its own
    await tx.execute("ALTER TABLE evolving ADD COLUMN b TEXT DEFAULT 'x'");
    await tx.commit();
    tx.close();
    const widened = await db.execute("SELECT * FROM evolving");
    expect(widened.columns).toEqual(["a", "b"]);
    expect(widened.columnTypes).toEqual(["INTEGER", "TEXT"]);
    expect(widened.rows.map((row) => [row["a"], row["b"]])).toEqual([[1, "x"]]);

    await db.executeMultiple("DROP TABLE evolving; CREATE TABLE evolving (z BLOB, y REAL);");
    const replaced = await db.execute("SELECT * FROM evolving");
    expect(replaced.columns).toEqual(["z", "y"]);
    expect(replaced.columnTypes).toEqual(["BLOB", "REAL"]);
    await db.execute("DROP TABLE evolving");
    await expect(db.execute("SELECT * FROM evolving")).rejects.toThrow(/no such table/);
  });

  it("repeated texts keep their analysis: errors, named arguments", async () => {
    const { db } = await start();
    for (let i = 0; i < 3; i++) {
      await expect(db.execute("SELECT 1; SELECT 2")).rejects.toMatchObject({ code: "SQL_MANY_STATEMENTS" });
      const named = await db.execute({ sql: "SELECT :a AS a, ?2 AS b", args: { a: i } });
      expect([named.rows[0]?.["a"], named.rows[0]?.["b"]]).toEqual([i, null]);
    }
  });

  it("an EXPLAIN (executed or from describe) does not leave the connection busy for VACUUM", async () => {
    const { pipeline, db } = await start();
    await db.execute("CREATE TABLE t (x)");
    const explains = [execute("EXPLAIN SELECT * FROM t"), execute("EXPLAIN QUERY PLAN SELECT 1"), { type: "describe", sql: "SELECT * FROM t" }];
    for (const request of explains) {
      expect((await once(pipeline, request))[0].type).toBe("ok");
      expect((await once(pipeline, execute("VACUUM")))[0]).toMatchObject({ type: "ok" });
    }
  });

  it("a cached statement that got SQLITE_BUSY works again, and does not block the stream's COMMIT", async () => {
    const { pipeline, db } = await start({ busyTimeoutMs: 20 });
    await db.execute("CREATE TABLE t (x INTEGER)");
    const insert = (x: number) => execute("INSERT INTO t VALUES (?)", [int(x)]);
    const waiter = await post(pipeline, { requests: [insert(1)] }); // now cached on the waiter's connection
    const holder = await post(pipeline, { requests: [execute("BEGIN IMMEDIATE")] });
    const busy = await post(pipeline, { baton: waiter.baton, requests: [execute("BEGIN"), insert(2)] });
    expect(busy.results[1]).toMatchObject({ type: "error", error: { code: "SQLITE_BUSY" } });
    await post(pipeline, { baton: holder.baton, requests: [execute("ROLLBACK"), close] });
    const finish = await post(pipeline, { baton: busy.baton, requests: [insert(3), execute("COMMIT"), close] });
    expect(finish.results.map((r: any) => r.type)).toEqual(["ok", "ok", "ok"]);
    // The same text on pooled connections, in autocommit and in a write batch.
    await db.execute({ sql: "INSERT INTO t VALUES (?)", args: [4] });
    await db.batch([{ sql: "INSERT INTO t VALUES (?)", args: [5] }], "write");
    expect((await db.execute("SELECT x FROM t ORDER BY x")).rows.map((row) => row["x"])).toEqual([1, 3, 4, 5]);
  });
});
