import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import type { Client } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  findLogin,
  fnv1a32,
  lookupAccountShard,
  LoginTakenError,
  moveAccount,
  placeAccount,
  registerAccount,
  registerLogin,
  removeLogin,
} from "./directory.ts";
import { MIGRATIONS_FOLDER, migrateShards } from "./migrate.ts";
import { openShard, parseShardConfig, ShardConfigError } from "./shards.ts";
import { newId, TICKET_STATUSES } from "./tables.ts";

const EXPECTED_TABLES = [
  "accounts",
  "agent_logins",
  "agents",
  "ai_settings",
  "billable_interactions",
  "customers",
  "guidance",
  "help_articles",
  "macros",
  "messages",
  "orders",
  "rules",
  "tags",
  "team_members",
  "teams",
  "ticket_tags",
  "tickets",
  "tickets_fts",
  "views",
];

let dir: string;
let shards: { index: number; url: string }[];
const clients: Client[] = [];

function client(url: string): Client {
  const opened = createClient({ url });
  clients.push(opened);
  return opened;
}

async function tableNames(db: Client): Promise<string[]> {
  const result = await db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  return result.rows.map((row) => String(row["name"]));
}

async function journalLength(): Promise<number> {
  const journal = JSON.parse(await readFile(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "schema-test-"));
  shards = [0, 1].map((index) => ({ index, url: `file:${join(dir, `shard-${index}.db`)}` }));
});

afterAll(async () => {
  for (const opened of clients) opened.close();
  await rm(dir, { recursive: true, force: true });
});

describe("migrations", () => {
  it("apply every migration to two fresh shards, then are a no-op on re-run", async () => {
    const migrations = await journalLength();
    expect(migrations).toBeGreaterThanOrEqual(2);

    const first = await migrateShards(shards);
    expect(first.map((result) => result.applied)).toEqual([migrations, migrations]);
    for (const shard of shards) {
      const names = await tableNames(client(shard.url));
      for (const table of EXPECTED_TABLES) expect(names, `${table} on ${shard.url}`).toContain(table);
    }

    // Data written between runs survives a re-run, and nothing is applied twice.
    const db0 = client(shards[0]!.url);
    await db0.execute("INSERT INTO accounts (id, name, shard_index, created_at) VALUES ('acc_keep', 'Keep', 0, 1)");
    const second = await migrateShards(shards);
    expect(second.map((result) => result.applied)).toEqual([0, 0]);
    expect(second.map((result) => result.total)).toEqual([migrations, migrations]);
    const kept = await db0.execute("SELECT count(*) AS n FROM accounts WHERE id = 'acc_keep'");
    expect(Number(kept.rows[0]!["n"])).toBe(1);
    const recorded = await db0.execute("SELECT count(*) AS n FROM __drizzle_migrations");
    expect(Number(recorded.rows[0]!["n"])).toBe(migrations);
  });

  it("creates a working FTS5 table for ticket search", async () => {
    const db = client(shards[1]!.url);
    await db.execute({
      // rowids are keyed to their source rows (worker/search/search-index.ts); a ticket row's is negative.
      sql: "INSERT INTO tickets_fts (rowid, ticket_id, account_id, subject, body, customer_name, customer_email) VALUES (-1000, ?, ?, ?, ?, ?, ?)",
      args: ["tkt_1", "acc_1", "Parcel arrived damaged", "The box was torn", "Zoë Müller", "zoe@example.com"],
    });
    const bySubject = await db.execute({
      sql: "SELECT ticket_id FROM tickets_fts WHERE tickets_fts MATCH ? AND account_id = ?",
      args: ["damaged", "acc_1"],
    });
    expect(bySubject.rows.map((row) => row["ticket_id"])).toEqual(["tkt_1"]);
    // Diacritics are folded and prefixes match.
    const byName = await db.execute({ sql: "SELECT ticket_id FROM tickets_fts WHERE tickets_fts MATCH ?", args: ["muller"] });
    expect(byName.rows).toHaveLength(1);
    const byPrefix = await db.execute({ sql: "SELECT ticket_id FROM tickets_fts WHERE tickets_fts MATCH ?", args: ["parc*"] });
    expect(byPrefix.rows).toHaveLength(1);
    // account_id is UNINDEXED: a full-text query cannot match it.
    const byAccount = await db.execute({ sql: "SELECT ticket_id FROM tickets_fts WHERE tickets_fts MATCH ?", args: ['"acc_1"'] });
    expect(byAccount.rows).toHaveLength(0);
  });

  it("enforces foreign keys and lowercase login emails", async () => {
    const db = client(shards[1]!.url);
    await expect(
      db.execute(
        "INSERT INTO messages (id, account_id, ticket_id, author_kind, body, channel, created_at) VALUES ('msg_x', 'acc_1', 'tkt_missing', 'customer', 'hi', 'chat', 1)",
      ),
    ).rejects.toThrow(/FOREIGN KEY/i);
    await expect(
      db.execute("INSERT INTO agent_logins (email, account_id, agent_id) VALUES ('Mixed@Case.com', 'acc_1', 'agt_1')"),
    ).rejects.toThrow(/CHECK/i);
  });
});

describe("parseShardConfig", () => {
  it("parses URLs and tokens in order, trimming and allowing empty token entries", () => {
    expect(
      parseShardConfig({
        SHARD_URLS: " https://shard0.example.com , libsql://shard1.example.com,http://127.0.0.1:8081,file:.data/s3.db",
        SHARD_TOKENS: "tok0,,tok2, ",
      }),
    ).toEqual([
      { index: 0, url: "https://shard0.example.com", authToken: "tok0" },
      { index: 1, url: "libsql://shard1.example.com" },
      { index: 2, url: "http://127.0.0.1:8081", authToken: "tok2" },
      { index: 3, url: "file:.data/s3.db" },
    ]);
  });

  it("treats missing or blank SHARD_TOKENS as no tokens", () => {
    expect(parseShardConfig({ SHARD_URLS: "http://a.example,http://b.example" })).toEqual([
      { index: 0, url: "http://a.example" },
      { index: 1, url: "http://b.example" },
    ]);
    expect(parseShardConfig({ SHARD_URLS: "http://a.example", SHARD_TOKENS: "  " })).toEqual([
      { index: 0, url: "http://a.example" },
    ]);
  });

  it.each([
    [{}, /SHARD_URLS is empty/],
    [{ SHARD_URLS: "" }, /SHARD_URLS is empty/],
    [{ SHARD_URLS: "   " }, /SHARD_URLS is empty/],
    [{ SHARD_URLS: "http://a.example,,http://b.example" }, /entry 1 is empty/],
    [{ SHARD_URLS: "http://a.example," }, /entry 1 is empty/],
    [{ SHARD_URLS: "not a url" }, /entry 0 is not a valid URL/],
    [{ SHARD_URLS: "http://a.example,ftp://b.example" }, /entry 1 has unsupported scheme "ftp:"/],
    [{ SHARD_URLS: "postgres://db.example/x" }, /unsupported scheme/],
    [{ SHARD_URLS: "http://a.example,http://a.example" }, /entries 0 and 1 are the same URL/],
    [{ SHARD_URLS: "http://a.example,http://b.example", SHARD_TOKENS: "only-one" }, /SHARD_TOKENS has 1 entries but SHARD_URLS has 2/],
    [{ SHARD_URLS: "http://a.example", SHARD_TOKENS: "t0,t1" }, /SHARD_TOKENS has 2 entries but SHARD_URLS has 1/],
  ])("rejects %j", (env, message) => {
    expect(() => parseShardConfig(env)).toThrow(ShardConfigError);
    expect(() => parseShardConfig(env)).toThrow(message);
  });
});

describe("openShard", () => {
  it("uses the web client by default (no connection until the first query)", () => {
    const shard = openShard({ index: 3, url: "http://127.0.0.1:9", authToken: "secret" });
    expect(shard.index).toBe(3);
    expect(shard.client.protocol).toBe("http");
    expect(typeof shard.db.select).toBe("function");
    shard.client.close();
    // The web client cannot open local files: Node callers pass their own createClient.
    expect(() => openShard({ index: 0, url: "file:x.db" })).toThrow(/file:/);
  });

  it("opens a file shard through an injected Node client, with the schema for db.query", async () => {
    const shard = openShard(shards[0]!, { createClient });
    try {
      const rows = await shard.db.query.accounts.findMany();
      expect(rows.map((row) => row.id)).toContain("acc_keep");
    } finally {
      shard.client.close();
    }
  });
});

describe("placement", () => {
  it("uses 32-bit FNV-1a (standard test vectors)", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  it("is stable and within range", () => {
    expect(placeAccount("acc_demo", 1)).toBe(0);
    for (const count of [2, 3, 4, 7]) {
      const placed = placeAccount("acc_demo", count);
      expect(placed).toBe(fnv1a32("acc_demo") % count);
      expect(placeAccount("acc_demo", count)).toBe(placed);
      expect(placed).toBeGreaterThanOrEqual(0);
      expect(placed).toBeLessThan(count);
    }
  });

  it("spreads accounts evenly over shards", () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 2000; i++) counts[placeAccount(newId("account"), 4)]! += 1;
    for (const count of counts) {
      expect(count).toBeGreaterThan(400);
      expect(count).toBeLessThan(600);
    }
    const sequential = [0, 0, 0];
    for (let i = 0; i < 900; i++) sequential[placeAccount(`acc_${i}`, 3)]! += 1;
    for (const count of sequential) expect(count).toBeGreaterThan(200);
  });

  it("rejects a bad shard count", () => {
    expect(() => placeAccount("acc_demo", 0)).toThrow(RangeError);
    expect(() => placeAccount("acc_demo", 1.5)).toThrow(RangeError);
  });
});

describe("directory", () => {
  const directory = () => drizzle(client(shards[0]!.url));

  it("registers an account at its placed shard, idempotently, and looks it up", async () => {
    const db = directory();
    const id = "acc_directory_test";
    expect(await lookupAccountShard(db, id)).toBeNull();
    const placed = await registerAccount(db, { id, name: "Directory Test" }, 4);
    expect(placed).toBe(placeAccount(id, 4));
    expect(await lookupAccountShard(db, id)).toBe(placed);
    expect(await registerAccount(db, { id, name: "Renamed" }, 4)).toBe(placed);
    const rows = await db.$client.execute({ sql: "SELECT name, created_at FROM accounts WHERE id = ?", args: [id] });
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]!["name"]).toBe("Directory Test");
    expect(Number(rows.rows[0]!["created_at"])).toBeGreaterThan(Date.now() - 60_000);
  });

  it("keeps a moved account where it was moved", async () => {
    const db = directory();
    const id = "acc_mover";
    const placed = await registerAccount(db, { id, name: "Mover" }, 2);
    const target = placed === 0 ? 1 : 0;
    expect(await moveAccount(db, id, target)).toBe(true);
    expect(await lookupAccountShard(db, id)).toBe(target);
    expect(await registerAccount(db, { id, name: "Mover" }, 2)).toBe(target);
    expect(await moveAccount(db, "acc_nobody", 1)).toBe(false);
  });

  it("finds logins by email, case-insensitively", async () => {
    const db = directory();
    const login = { email: "  Ana.Lopez@Example.COM ", accountId: "acc_a", agentId: "agt_a" };
    expect(await registerLogin(db, login)).toEqual({ accountId: "acc_a", agentId: "agt_a" });
    expect(await registerLogin(db, login)).toEqual({ accountId: "acc_a", agentId: "agt_a" });
    expect(await findLogin(db, "ana.lopez@example.com")).toEqual({ accountId: "acc_a", agentId: "agt_a" });
    expect(await findLogin(db, "ANA.LOPEZ@EXAMPLE.COM")).toEqual({ accountId: "acc_a", agentId: "agt_a" });
    expect(await findLogin(db, "someone.else@example.com")).toBeNull();
    const stored = await db.$client.execute("SELECT email FROM agent_logins WHERE agent_id = 'agt_a'");
    expect(stored.rows.map((row) => row["email"])).toEqual(["ana.lopez@example.com"]);
  });

  it("refuses to give one email to two agents", async () => {
    const db = directory();
    await registerLogin(db, { email: "shared@example.com", accountId: "acc_a", agentId: "agt_1" });
    await expect(registerLogin(db, { email: "Shared@example.com", accountId: "acc_b", agentId: "agt_2" })).rejects.toThrow(
      LoginTakenError,
    );
    expect(await findLogin(db, "shared@example.com")).toEqual({ accountId: "acc_a", agentId: "agt_1" });
    expect(await removeLogin(db, "SHARED@example.com")).toBe(true);
    expect(await findLogin(db, "shared@example.com")).toBeNull();
    expect(await removeLogin(db, "shared@example.com")).toBe(false);
  });
});

describe("value lists and ids", () => {
  it("exposes the ticket statuses and makes prefixed random ids", () => {
    expect(TICKET_STATUSES).toEqual(["open", "pending", "snoozed", "closed"]);
    const a = newId("ticket");
    const b = newId("ticket");
    expect(a).toMatch(/^tkt_[0-9a-z]{16}$/);
    expect(a).not.toBe(b);
  });
});
