// End-to-end tests of the shard host with the real @libsql/client (Node and /web builds)
// and raw fetch for what the client never sends (bad batons, malformed bodies, cursors).
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, LibsqlBatchError, LibsqlError, type Client, type Config } from "@libsql/client";
import { createClient as createWebClient } from "@libsql/client/web";
import { startShardHost, type ShardHost } from "./server.ts";

const dirs: string[] = [];
const hosts: ShardHost[] = [];
const clients: { close(): void }[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "shard-host-test-"));
  dirs.push(dir);
  return dir;
}

async function startHost(options: Partial<Parameters<typeof startShardHost>[0]> = {}): Promise<ShardHost> {
  const host = await startShardHost({ dir: tempDir(), port: 0, shards: 1, ...options });
  hosts.push(host);
  return host;
}

function client(url: string, extra: Partial<Config> = {}): Client {
  const c = createClient({ url, ...extra });
  clients.push(c);
  return c;
}

/** POSTs a raw JSON (or raw text) body; returns status, content type and parsed body. */
async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, contentType: response.headers.get("content-type"), json, text };
}

const execute = (sql: string) => ({ type: "execute", stmt: { sql, args: [], named_args: [], want_rows: true } });

let dir: string;
let host: ShardHost;
let shard0: string;
let shard1: string;
let db: Client;

beforeAll(async () => {
  dir = tempDir();
  host = await startShardHost({ dir, port: 0, shards: 2 });
  hosts.push(host);
  [shard0, shard1] = host.urls as [string, string];
  db = client(shard0);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(hosts.map((h) => h.close()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("startShardHost", () => {
  it("serves one URL per shard on real loopback ports, each a separate file", async () => {
    expect(host.urls).toHaveLength(2);
    for (const url of host.urls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new URL(shard0).port).not.toBe("0");
    expect(shard0).not.toBe(shard1);
    expect(existsSync(join(dir, "shard-0.db"))).toBe(true);
    expect(existsSync(join(dir, "shard-1.db"))).toBe(true);

    await client(shard0).execute("CREATE TABLE only_on_0 (x)");
    await client(shard0).execute("INSERT INTO only_on_0 VALUES (1)");
    expect((await client(shard0).execute("SELECT count(*) AS n FROM only_on_0")).rows[0]?.["n"]).toBe(1);
    await expect(client(shard1).execute("SELECT * FROM only_on_0")).rejects.toThrow(/no such table/);
  });

  it("answers the version probes like sqld (and 404 on /v3-protobuf so the client uses JSON)", async () => {
    for (const path of ["/v2", "/v3", "/health"]) {
      expect((await fetch(shard0 + path)).status, path).toBe(200);
    }
    expect(await (await fetch(`${shard0}/health`)).json()).toMatchObject({ status: "ok", shard: 0 });
    expect(await (await fetch(`${shard1}/health`)).json()).toMatchObject({ status: "ok", shard: 1 });
    expect((await fetch(`${shard0}/v3-protobuf`)).status).toBe(404);
    expect((await fetch(`${shard0}/v2/pipeline`)).status).toBe(405);
  });
});

describe("execute", () => {
  it("creates, inserts with positional and named args, and selects", async () => {
    await db.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER)");
    const first = await db.execute({ sql: "INSERT INTO people (name, age) VALUES (?, ?)", args: ["Ada", 36] });
    expect(first.rowsAffected).toBe(1);
    expect(first.lastInsertRowid).toBe(1n);
    await db.execute({ sql: "INSERT INTO people (name, age) VALUES (:name, :age)", args: { name: "Grace", age: 85 } });
    await db.execute({ sql: "INSERT INTO people (name, age) VALUES (@name, $age)", args: { name: "Linus", age: 54 } });
    // A named parameter next to a nameless one (libsql's own by-name binding would abort here).
    await db.execute({ sql: "INSERT INTO people (name, age) VALUES (:name, ?2)", args: { ":name": "Edsger" } });

    const result = await db.execute("SELECT id, name, age FROM people ORDER BY id");
    expect(result.columns).toEqual(["id", "name", "age"]);
    expect(result.columnTypes).toEqual(["INTEGER", "TEXT", "INTEGER"]);
    expect(result.rows.map((row) => [row["id"], row["name"], row["age"]])).toEqual([
      [1, "Ada", 36],
      [2, "Grace", 85],
      [3, "Linus", 54],
      [4, "Edsger", null],
    ]);
    const updated = await db.execute({ sql: "UPDATE people SET age = age + 1 WHERE age > ?", args: [40] });
    expect(updated.rowsAffected).toBe(2);
    const selected = await db.execute("SELECT * FROM people");
    expect(selected.rowsAffected).toBe(0);
  });

  it("runs executeMultiple (a Hrana sequence), trigger bodies included", async () => {
    await db.executeMultiple(`
      CREATE TABLE audited (x INTEGER);
      CREATE TABLE audit_log (x INTEGER, kind TEXT);
      -- a trigger body holds semicolons and a CASE ... END
      CREATE TRIGGER audited_ai AFTER INSERT ON audited BEGIN
        INSERT INTO audit_log VALUES (new.x, CASE WHEN new.x > 1 THEN 'big' ELSE 'small' END);
      END;
      INSERT INTO audited VALUES (1); INSERT INTO audited VALUES (5);
    `);
    const log = await db.execute("SELECT x, kind FROM audit_log ORDER BY x");
    expect(log.rows.map((row) => [row["x"], row["kind"]])).toEqual([
      [1, "small"],
      [5, "big"],
    ]);
  });

  it("rejects more than one statement in execute, like sqld", async () => {
    const error = await db.execute("SELECT 1; SELECT 2").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LibsqlError);
    expect((error as LibsqlError).code).toBe("SQL_MANY_STATEMENTS");
  });
});

describe("SQL errors", () => {
  it("surface as LibsqlError with the SQLite code", async () => {
    await db.execute("CREATE TABLE uniq (id INTEGER PRIMARY KEY)");
    await db.execute("INSERT INTO uniq VALUES (1)");
    const cases: [string, string][] = [
      ["INSERT INTO uniq VALUES (1)", "SQLITE_CONSTRAINT"],
      ["SELEC 1", "SQLITE_ERROR"],
      ["SELECT * FROM no_such_table", "SQLITE_ERROR"],
    ];
    for (const [sql, code] of cases) {
      const error = await db.execute(sql).catch((e: unknown) => e);
      expect(error, sql).toBeInstanceOf(LibsqlError);
      expect((error as LibsqlError).code, sql).toBe(code);
    }
    const error = (await db.execute("INSERT INTO uniq VALUES (1)").catch((e: unknown) => e)) as LibsqlError;
    expect(error.message).toMatch(/UNIQUE constraint failed: uniq\.id/);
  });
});

describe("batch", () => {
  it("runs all statements in one transaction and returns every result", async () => {
    const results = await db.batch(
      [
        "CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT)",
        { sql: "INSERT INTO items (label) VALUES (?)", args: ["a"] },
        { sql: "INSERT INTO items (label) VALUES (?)", args: ["b"] },
        "SELECT label FROM items ORDER BY id",
      ],
      "write",
    );
    expect(results).toHaveLength(4);
    expect(results[1]?.lastInsertRowid).toBe(1n);
    expect(results[2]?.rowsAffected).toBe(1);
    expect(results[3]?.rows.map((row) => row["label"])).toEqual(["a", "b"]);
  });

  it("rolls everything back and raises when a step fails", async () => {
    const error = await db
      .batch(
        [
          { sql: "INSERT INTO items (id, label) VALUES (?, ?)", args: [10, "c"] },
          { sql: "INSERT INTO items (id, label) VALUES (?, ?)", args: [1, "duplicate id"] },
          { sql: "INSERT INTO items (id, label) VALUES (?, ?)", args: [11, "d"] },
        ],
        "write",
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LibsqlBatchError);
    expect((error as LibsqlBatchError).code).toBe("SQLITE_CONSTRAINT");
    expect((error as LibsqlBatchError).statementIndex).toBe(1);
    const labels = await db.execute("SELECT label FROM items ORDER BY id");
    expect(labels.rows.map((row) => row["label"])).toEqual(["a", "b"]);
  });
});

describe("interactive transactions", () => {
  it("commit makes the writes visible, and only then", async () => {
    await db.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount INTEGER)");
    const other = client(shard0);
    const tx = await db.transaction("write");
    try {
      await tx.execute({ sql: "INSERT INTO ledger (amount) VALUES (?)", args: [100] });
      await tx.execute({ sql: "INSERT INTO ledger (amount) VALUES (?)", args: [-30] });
      expect((await tx.execute("SELECT sum(amount) AS s FROM ledger")).rows[0]?.["s"]).toBe(70);
      expect((await other.execute("SELECT count(*) AS n FROM ledger")).rows[0]?.["n"]).toBe(0);
      await tx.commit();
    } finally {
      tx.close();
    }
    expect((await other.execute("SELECT sum(amount) AS s FROM ledger")).rows[0]?.["s"]).toBe(70);
  });

  it("rollback discards the writes", async () => {
    const tx = await db.transaction("write");
    try {
      await tx.execute("INSERT INTO ledger (amount) VALUES (1000)");
      expect((await tx.execute("SELECT count(*) AS n FROM ledger")).rows[0]?.["n"]).toBe(3);
      await tx.rollback();
    } finally {
      tx.close();
    }
    expect((await db.execute("SELECT count(*) AS n FROM ledger")).rows[0]?.["n"]).toBe(2);
  });

  it("concurrent write transactions wait for each other instead of failing", async () => {
    await db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
    await db.execute("INSERT INTO counter VALUES (1, 0)");
    const workers = Array.from({ length: 10 }, () => client(shard0));
    await Promise.all(
      workers.map(async (worker) => {
        const tx = await worker.transaction("write");
        try {
          const n = Number((await tx.execute("SELECT n FROM counter WHERE id = 1")).rows[0]?.["n"]);
          await tx.execute({ sql: "UPDATE counter SET n = ? WHERE id = 1", args: [n + 1] });
          await tx.commit();
        } finally {
          tx.close();
        }
      }),
    );
    expect((await db.execute("SELECT n FROM counter")).rows[0]?.["n"]).toBe(10);
  });
  it("a statement that gave up on a lock (SQLITE_BUSY) does not block the stream's later COMMIT", async () => {
    const impatient = await startHost({ busyTimeoutMs: 20 });
    const url = `${impatient.urls[0]!}/v2/pipeline`;
    await client(impatient.urls[0]!).execute("CREATE TABLE t (x INTEGER)");
    const holder = await post(url, { requests: [execute("BEGIN IMMEDIATE")] });
    const waiter = await post(url, {
      requests: [execute("BEGIN DEFERRED"), execute("SELECT count(*) FROM t"), execute("INSERT INTO t VALUES (1)")],
    });
    expect(waiter.json.results.map((r: any) => r.type)).toEqual(["ok", "ok", "error"]);
    expect(waiter.json.results[2].error.code).toBe("SQLITE_BUSY");
    await post(url, { baton: holder.json.baton, requests: [execute("ROLLBACK"), { type: "close" }] });
    const finish = await post(url, {
      baton: waiter.json.baton,
      requests: [execute("INSERT INTO t VALUES (2)"), execute("COMMIT"), { type: "close" }],
    });
    expect(finish.json.results).toMatchObject([{ type: "ok" }, { type: "ok" }, { type: "ok" }]);
    expect((await client(impatient.urls[0]!).execute("SELECT x FROM t")).rows.map((row) => row["x"])).toEqual([2]);
  });
});

describe("values", () => {
  it("round-trip exactly with intMode bigint", async () => {
    const big = client(shard0, { intMode: "bigint" });
    await big.execute("CREATE TABLE vals (id INTEGER PRIMARY KEY, v)");
    const blob = new Uint8Array(256).map((_, i) => i); // 0x00 .. 0xff
    const values: [unknown, string][] = [
      [null, "null"],
      [9007199254740993n, "integer"], // 2^53 + 1
      [9223372036854775807n, "integer"],
      [-9223372036854775808n, "integer"],
      [-12345n, "integer"],
      [0n, "integer"],
      [1.5, "real"],
      [-2.25e-300, "real"],
      [2.0, "real"], // a float stays a float even when it is integral
      ["héllo wörld 😀 𝄞 日本語", "text"],
      ["", "text"],
      [blob, "blob"],
      [new Uint8Array([0, 0, 255, 0]), "blob"],
      [new Uint8Array([]), "blob"],
    ];
    for (const [i, [value]] of values.entries()) {
      await big.execute({ sql: "INSERT INTO vals (id, v) VALUES (?, ?)", args: [i, value as never] });
    }
    const rows = (await big.execute("SELECT id, v, typeof(v) AS t FROM vals ORDER BY id")).rows;
    expect(rows).toHaveLength(values.length);
    for (const [i, [value, type]] of values.entries()) {
      const row = rows[i]!;
      expect(row["t"], `value ${i}`).toBe(type);
      const got = row["v"];
      if (value instanceof Uint8Array) {
        expect(got).toBeInstanceOf(ArrayBuffer);
        expect(Array.from(new Uint8Array(got as ArrayBuffer)), `value ${i}`).toEqual(Array.from(value));
      } else {
        expect(got, `value ${i}`).toStrictEqual(value);
      }
    }
    // Empty string and NULL stay distinct.
    const distinct = await big.execute("SELECT count(*) AS n FROM vals WHERE v = ''");
    expect(distinct.rows[0]?.["n"]).toBe(1n);
    // Big integers also come back exactly from SQL arithmetic and as last_insert_rowid.
    const sum = await big.execute({ sql: "SELECT ? + 1 AS s", args: [9223372036854775806n] });
    expect(sum.rows[0]?.["s"]).toBe(9223372036854775807n);
    const inserted = await big.execute({ sql: "INSERT INTO vals (id, v) VALUES (?, 'x')", args: [9007199254740995n] });
    expect(inserted.lastInsertRowid).toBe(9007199254740995n);
  });

  it("refuses to lose precision in the default intMode", async () => {
    await expect(db.execute("SELECT 9007199254740993 AS v")).rejects.toThrow(RangeError);
  });
});

describe("concurrency", () => {
  it("handles 20 clients × 50 parallel inserts with an exact count", async () => {
    await db.execute("CREATE TABLE hits (id INTEGER PRIMARY KEY, client INTEGER, seq INTEGER)");
    const many = Array.from({ length: 20 }, () => client(shard0));
    await Promise.all(
      many.flatMap((c, ci) =>
        Array.from({ length: 50 }, (_, seq) =>
          c.execute({ sql: "INSERT INTO hits (client, seq) VALUES (?, ?)", args: [ci, seq] }),
        ),
      ),
    );
    const result = await db.execute("SELECT count(*) AS n, count(DISTINCT client * 1000 + seq) AS d FROM hits");
    expect(result.rows[0]?.["n"]).toBe(1000);
    expect(result.rows[0]?.["d"]).toBe(1000);
  });
});

describe("batons", () => {
  it("an unknown baton gets a Hrana error and the server keeps answering", async () => {
    for (const baton of ["not-a-baton", "00000000-0000-0000-0000-000000000000.1.AAAAAAAAAAAAAAAAAAAAAAAA"]) {
      const response = await post(`${shard0}/v2/pipeline`, { baton, requests: [execute("SELECT 1")] });
      expect(response.status).toBe(400);
      expect(response.contentType).toBe("application/json");
      expect(response.json).toMatchObject({ code: "BATON_INVALID" });
      expect(typeof response.json.message).toBe("string");
    }
    expect((await db.execute("SELECT 1 AS one")).rows[0]?.["one"]).toBe(1);
  });

  it("a baton is single-use and a stream keeps its connection across requests", async () => {
    const url = `${shard0}/v3/pipeline`;
    const first = await post(url, { requests: [execute("CREATE TEMP TABLE scratch (x)")] });
    expect(first.status).toBe(200);
    const batonA = first.json.baton as string;
    expect(typeof batonA).toBe("string");
    // TEMP tables exist per connection: seeing it proves the same connection.
    const second = await post(url, {
      baton: batonA,
      requests: [execute("INSERT INTO scratch VALUES (1)"), { type: "get_autocommit" }],
    });
    expect(second.status).toBe(200);
    expect(second.json.results.map((r: any) => r.type)).toEqual(["ok", "ok"]);
    expect(second.json.results[1].response).toEqual({ type: "get_autocommit", is_autocommit: true });
    const batonB = second.json.baton as string;
    expect(batonB).not.toBe(batonA);

    const reused = await post(url, { baton: batonA, requests: [execute("SELECT 1")] });
    expect(reused.status).toBe(400);
    expect(reused.json.code).toBe("BATON_REUSED");

    const closed = await post(url, { baton: batonB, requests: [execute("SELECT count(*) FROM scratch"), { type: "close" }] });
    expect(closed.status).toBe(200);
    expect(closed.json.baton).toBeNull();
    expect(closed.json.results[0].response.result.rows).toEqual([[{ type: "integer", value: "1" }]]);
    const afterClose = await post(url, { baton: batonB, requests: [execute("SELECT 1")] });
    expect(afterClose.status).toBe(400);
  });

  it("an expired baton gets STREAM_EXPIRED and its open transaction is rolled back", async () => {
    // busyTimeoutMs is long so the competing insert below simply waits for the expiry.
    const short = await startHost({ batonTimeoutMs: 100, busyTimeoutMs: 60_000 });
    const url = short.urls[0]!;
    const c = client(url);
    await c.execute("CREATE TABLE t (x INTEGER)");
    const open = await post(`${url}/v2/pipeline`, {
      requests: [execute("BEGIN IMMEDIATE"), execute("INSERT INTO t VALUES (1)")],
    });
    expect(open.json.results.map((r: any) => r.type)).toEqual(["ok", "ok"]);
    // This write needs the lock the idle stream holds, so it completes only once the stream expired.
    await c.execute("INSERT INTO t VALUES (2)");
    const expired = await post(`${url}/v2/pipeline`, { baton: open.json.baton, requests: [execute("COMMIT")] });
    expect(expired.status).toBe(400);
    expect(expired.contentType).toBe("application/json");
    expect(expired.json).toMatchObject({ code: "STREAM_EXPIRED" });
    expect((await c.execute("SELECT x FROM t")).rows.map((row) => row["x"])).toEqual([2]);
  });
});

describe("bad requests", () => {
  it("malformed JSON gets a 400 JSON error and the server keeps serving", async () => {
    const response = await post(`${shard0}/v2/pipeline`, '{"requests": [');
    expect(response.status).toBe(400);
    expect(response.contentType).toBe("application/json");
    expect(response.json).toMatchObject({ code: "PROTOCOL_ERROR" });
    expect(response.json.message).toMatch(/JSON/);
    expect((await db.execute("SELECT 2 AS two")).rows[0]?.["two"]).toBe(2);
  });

  it("bad request shapes get a 400 JSON error", async () => {
    const bodies = [
      [],
      { requests: "nope" },
      { requests: [{ type: "teleport" }] },
      { requests: [{ type: "execute", stmt: { args: [] } }] },
      { requests: [{ type: "execute", stmt: { sql: "SELECT ?", args: [{ type: "integer", value: "1.5" }] } }] },
      { requests: [{ type: "batch", batch: { steps: [{ condition: { type: "ok", step: 0 }, stmt: { sql: "SELECT 1" } }] } }] },
    ];
    for (const body of bodies) {
      const response = await post(`${shard0}/v2/pipeline`, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.json?.code, JSON.stringify(body)).toBe("PROTOCOL_ERROR");
    }
    expect((await db.execute("SELECT 3 AS three")).rows[0]?.["three"]).toBe(3);
  });
});

describe("raw protocol", () => {
  it("evaluates batch conditions (ok, error, not, and, or, is_autocommit)", async () => {
    const step = (sql: string, condition?: unknown) => ({ ...(condition ? { condition } : {}), stmt: { sql } });
    const response = await post(`${shard0}/v3/pipeline`, {
      requests: [
        {
          type: "batch",
          batch: {
            steps: [
              step("SELECT 1"), // 0 ok
              step("SELEC 1"), // 1 error
              step("SELECT 2", { type: "ok", step: 1 }), // 2 skipped
              step("SELECT 3", { type: "error", step: 1 }), // 3 runs
              step("SELECT 4", { type: "and", conds: [{ type: "ok", step: 0 }, { type: "not", cond: { type: "ok", step: 2 } }] }), // 4 runs
              step("SELECT 5", { type: "or", conds: [{ type: "ok", step: 2 }, { type: "error", step: 0 }] }), // 5 skipped
              step("SELECT 6", { type: "is_autocommit" }), // 6 runs
            ],
          },
        },
        { type: "close" },
      ],
    });
    expect(response.status).toBe(200);
    const result = response.json.results[0].response.result;
    expect(result.step_results.map((r: unknown) => r !== null)).toEqual([true, false, false, true, true, false, true]);
    expect(result.step_errors.map((e: unknown) => e !== null)).toEqual([false, true, false, false, false, false, false]);
    expect(result.step_errors[1].code).toBe("SQLITE_ERROR");
  });

  it("streams a batch over /v3/cursor as newline-delimited entries", async () => {
    const response = await post(`${shard0}/v3/cursor`, {
      batch: {
        steps: [
          { stmt: { sql: "VALUES (1), (2)" } },
          { stmt: { sql: "SELEC" } },
          { condition: { type: "ok", step: 0 }, stmt: { sql: "SELECT 'x' AS s" } },
        ],
      },
    });
    expect(response.status).toBe(200);
    const lines = response.text.trimEnd().split("\n").map((line) => JSON.parse(line));
    expect(typeof lines[0].baton).toBe("string");
    expect(lines.slice(1).map((entry: any) => entry.type)).toEqual([
      "step_begin",
      "row",
      "row",
      "step_end",
      "step_error",
      "step_begin",
      "row",
      "step_end",
    ]);
    expect(lines[2].row).toEqual([{ type: "integer", value: "1" }]);
    expect(lines[5]).toMatchObject({ step: 1, error: { code: "SQLITE_ERROR" } });
    await post(`${shard0}/v3/pipeline`, { baton: lines[0].baton, requests: [{ type: "close" }] });
  });

  it("supports stored SQL texts and describe", async () => {
    const response = await post(`${shard0}/v2/pipeline`, {
      requests: [
        { type: "store_sql", sql_id: 7, sql: "SELECT ? + 1 AS n" },
        { type: "execute", stmt: { sql_id: 7, args: [{ type: "integer", value: "41" }] } },
        { type: "close_sql", sql_id: 7 },
        { type: "execute", stmt: { sql_id: 7 } },
        { type: "describe", sql: "SELECT :a, ?3 FROM people" },
        { type: "close" },
      ],
    });
    const results = response.json.results;
    expect(results[1].response.result.rows).toEqual([[{ type: "integer", value: "42" }]]);
    expect(results[3]).toMatchObject({ type: "error", error: { code: "SQL_NOT_FOUND" } });
    expect(results[4].response.result).toEqual({
      params: [{ name: ":a" }, { name: null }, { name: "?3" }],
      cols: [
        { name: ":a", decltype: null },
        { name: "?3", decltype: null },
      ],
      is_explain: false,
      is_readonly: true,
    });
  });
});

describe("auth", () => {
  it("requires the bearer token when one is configured", async () => {
    const secured = await startHost({ authToken: "s3cret" });
    const url = secured.urls[0]!;
    const body = { requests: [execute("SELECT 1"), { type: "close" }] };
    expect((await post(`${url}/v2/pipeline`, body)).status).toBe(401);
    const wrong = await post(`${url}/v2/pipeline`, body, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toMatchObject({ code: "UNAUTHORIZED" });
    expect((await post(`${url}/v2/pipeline`, body, { authorization: "Bearer s3cret" })).status).toBe(200);
    expect((await fetch(`${url}/v2`)).status).toBe(200); // version probe stays open

    const anonymous = await client(url).execute("SELECT 1").catch((e: unknown) => e);
    expect(anonymous).toBeInstanceOf(LibsqlError);
    expect((anonymous as LibsqlError).code).toBe("UNAUTHORIZED");
    const authed = client(url, { authToken: "s3cret" });
    expect((await authed.execute("SELECT 5 AS five")).rows[0]?.["five"]).toBe(5);
  });
});

describe("@libsql/client/web", () => {
  it("executes and batches against the shard host", async () => {
    const web = createWebClient({ url: shard1 });
    clients.push(web);
    await web.execute("CREATE TABLE web_items (id INTEGER PRIMARY KEY, name TEXT)");
    const results = await web.batch(
      [
        { sql: "INSERT INTO web_items (name) VALUES (?)", args: ["one"] },
        { sql: "INSERT INTO web_items (name) VALUES (?)", args: ["two"] },
        "SELECT name FROM web_items ORDER BY id",
      ],
      "write",
    );
    expect(results[2]?.rows.map((row) => row["name"])).toEqual(["one", "two"]);
    const count = await web.execute("SELECT count(*) AS n FROM web_items");
    expect(count.rows[0]?.["n"]).toBe(2);
  });
});
