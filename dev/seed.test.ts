import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import type { Client } from "@libsql/client";
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findLogin, placeAccount } from "../schema/directory.ts";
import { migrateShards } from "../schema/migrate.ts";
import { agents, TICKET_CHANNELS, TICKET_STATUSES } from "../schema/tables.ts";
import { verifyPassword } from "../worker/auth/password.ts";
import { DEMO_ACCOUNT_ID, DEMO_LOGINS, DEMO_PASSWORD, OTHER_ACCOUNT_ID, seedDemoStore } from "./seed.ts";
import type { SeededAccount } from "./seed.ts";
import { ACCOUNT_TABLES } from "../schema/move-account.ts";

const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);
const DAY = 86_400_000;

// Every table the seed fills: the directory, each account's tables, and the search index.
const TABLES = ["accounts", "agent_logins", ...ACCOUNT_TABLES, "tickets_fts"];

let dir: string;
let shards: { index: number; url: string }[];
let clients: Client[];
let firstRun: SeededAccount[];

async function rows(client: Client, sql: string, args: (string | number)[] = []) {
  return (await client.execute({ sql, args })).rows;
}

async function count(client: Client, sql: string, args: (string | number)[] = []): Promise<number> {
  const [row] = await rows(client, sql, args);
  return Number(row?.["n"]);
}

async function countAll(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [index, client] of clients.entries()) {
    for (const table of TABLES) counts[`${index}:${table}`] = await count(client, `SELECT count(*) AS n FROM ${table}`);
  }
  return counts;
}

/** The client of the shard an account's data is on, per the directory on shard 0. */
async function shardOf(accountId: string): Promise<Client> {
  const [row] = await rows(clients[0]!, "SELECT shard_index FROM accounts WHERE id = ?", [accountId]);
  const client = clients[Number(row?.["shard_index"])];
  if (!client) throw new Error(`no shard for ${accountId}`);
  return client;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "seed-test-"));
  shards = [0, 1].map((index) => ({ index, url: `file:${join(dir, `shard-${index}.db`)}` }));
  await migrateShards(shards);
  clients = shards.map((shard) => createClient({ url: shard.url }));
  firstRun = await seedDemoStore(shards, { now: NOW });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await rm(dir, { recursive: true, force: true });
});

describe("seedDemoStore", () => {
  it("registers both accounts in the directory on shard 0, on their placed shards", async () => {
    expect(firstRun).toEqual([
      { id: DEMO_ACCOUNT_ID, name: "Demo Shop", shardIndex: placeAccount(DEMO_ACCOUNT_ID, 2), created: true },
      { id: OTHER_ACCOUNT_ID, name: "Other Store", shardIndex: placeAccount(OTHER_ACCOUNT_ID, 2), created: true },
    ]);
    const directory = await rows(clients[0]!, "SELECT id, name, shard_index FROM accounts ORDER BY id");
    expect(directory.map((row) => [row["id"], row["name"], Number(row["shard_index"])])).toEqual([
      [DEMO_ACCOUNT_ID, "Demo Shop", placeAccount(DEMO_ACCOUNT_ID, 2)],
      [OTHER_ACCOUNT_ID, "Other Store", placeAccount(OTHER_ACCOUNT_ID, 2)],
    ]);
    expect(await count(clients[1]!, "SELECT count(*) AS n FROM accounts")).toBe(0);
    // Each account's data is only on its own shard.
    for (const seeded of firstRun) {
      for (const [index, client] of clients.entries()) {
        const tickets = await count(client, "SELECT count(*) AS n FROM tickets WHERE account_id = ?", [seeded.id]);
        if (index === seeded.shardIndex) expect(tickets).toBeGreaterThan(0);
        else expect(tickets).toBe(0);
      }
    }
  });

  it("adds nothing when run again", async () => {
    const before = await countAll();
    const again = await seedDemoStore(shards, { now: NOW + DAY });
    expect(again.map((account) => account.created)).toEqual([false, false]);
    expect(again.map((account) => account.shardIndex)).toEqual(firstRun.map((account) => account.shardIndex));
    expect(await countAll()).toEqual(before);
  });

  it("creates the demo content", async () => {
    const db = await shardOf(DEMO_ACCOUNT_ID);
    const n = (sql: string) => count(db, sql, [DEMO_ACCOUNT_ID]);
    expect(await n("SELECT count(*) AS n FROM agents WHERE account_id = ?")).toBe(3);
    expect(await n("SELECT count(*) AS n FROM teams WHERE account_id = ?")).toBe(2);
    expect(await n("SELECT count(*) AS n FROM customers WHERE account_id = ?")).toBeGreaterThanOrEqual(25);
    expect(await n("SELECT count(*) AS n FROM tickets WHERE account_id = ?")).toBeGreaterThanOrEqual(35);
    expect(await n("SELECT count(*) AS n FROM orders WHERE account_id = ?")).toBeGreaterThanOrEqual(35);
    expect(await n("SELECT count(*) AS n FROM views WHERE account_id = ? AND owner_agent_id IS NULL")).toBeGreaterThanOrEqual(3);
    expect(await n("SELECT count(*) AS n FROM macros WHERE account_id = ?")).toBeGreaterThanOrEqual(2);
    const articles = await n("SELECT count(*) AS n FROM help_articles WHERE account_id = ?");
    expect(articles).toBeGreaterThanOrEqual(6);
    expect(articles).toBeLessThanOrEqual(8);
    const guidance = await n("SELECT count(*) AS n FROM guidance WHERE account_id = ?");
    expect(guidance).toBeGreaterThanOrEqual(2);
    expect(guidance).toBeLessThanOrEqual(3);
    expect(await n("SELECT count(*) AS n FROM ai_settings WHERE account_id = ? AND enabled = 1")).toBe(1);
    expect(await n("SELECT count(*) AS n FROM ticket_tags WHERE account_id = ?")).toBeGreaterThan(0);

    const tickets = await rows(db, "SELECT * FROM tickets WHERE account_id = ?", [DEMO_ACCOUNT_ID]);
    expect(new Set(tickets.map((t) => t["channel"]))).toEqual(new Set(TICKET_CHANNELS));
    expect(new Set(tickets.map((t) => t["status"]))).toEqual(new Set(TICKET_STATUSES));
    expect(new Set(tickets.map((t) => t["priority"])).size).toBeGreaterThanOrEqual(3);
    expect(tickets.some((t) => t["assignee_id"] === null)).toBe(true);
    expect(tickets.some((t) => t["assignee_id"] !== null)).toBe(true);
    for (const t of tickets) {
      expect(String(t["id"])).toMatch(/^tkt_/);
      expect(Number(t["created_at"])).toBeGreaterThanOrEqual(NOW - 30 * DAY);
      expect(Number(t["created_at"])).toBeLessThanOrEqual(NOW);
      expect(Number(t["updated_at"])).toBeGreaterThanOrEqual(Number(t["created_at"]));
      expect(Number(t["version"])).toBeGreaterThanOrEqual(1);
      if (t["status"] === "closed") expect(t["closed_at"]).not.toBeNull();
      else expect(t["closed_at"]).toBeNull();
      if (t["status"] === "snoozed") expect(Number(t["snoozed_until"])).toBeGreaterThan(NOW);
    }
    const created = tickets.map((t) => Number(t["created_at"]));
    expect(Math.max(...created) - Math.min(...created)).toBeGreaterThan(15 * DAY);

    const perTicket = await rows(
      db,
      "SELECT t.id, count(m.id) AS n, max(m.created_at) AS last FROM tickets t LEFT JOIN messages m ON m.ticket_id = t.id WHERE t.account_id = ? GROUP BY t.id",
      [DEMO_ACCOUNT_ID],
    );
    for (const row of perTicket) {
      expect(Number(row["n"])).toBeGreaterThanOrEqual(1);
      expect(Number(row["n"])).toBeLessThanOrEqual(6);
      expect(Number(row["last"])).toBeLessThanOrEqual(NOW);
    }
    expect(perTicket.some((row) => Number(row["n"]) >= 4)).toBe(true);
    const kinds = await rows(db, "SELECT DISTINCT author_kind FROM messages WHERE account_id = ?", [DEMO_ACCOUNT_ID]);
    expect(kinds.map((row) => row["author_kind"])).toEqual(expect.arrayContaining(["customer", "agent", "ai"]));
    expect(await n("SELECT count(*) AS n FROM messages WHERE account_id = ? AND is_internal_note = 1")).toBeGreaterThan(0);

    // Order totals are the sum of their items (plus at most the $6 shipping fee).
    const orders = await rows(db, "SELECT number, total_cents, items FROM orders WHERE account_id = ?", [DEMO_ACCOUNT_ID]);
    for (const order of orders) {
      const items = JSON.parse(String(order["items"])) as { quantity: number; unitPriceCents: number }[];
      expect(items.length).toBeGreaterThan(0);
      const subtotal = items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
      expect([subtotal, subtotal + 600]).toContain(Number(order["total_cents"]));
      expect(String(order["number"])).toMatch(/^#\d+$/);
    }
  });

  it("gives every demo login a password that verifies", async () => {
    const directory = drizzle(clients[0]!);
    for (const login of DEMO_LOGINS) {
      const found = await findLogin(directory, login.email);
      expect(found, login.email).not.toBeNull();
      expect(found!.accountId).toBe(login.accountId);
      const shard = drizzle(await shardOf(login.accountId));
      const [agent] = await shard
        .select()
        .from(agents)
        .where(and(eq(agents.accountId, found!.accountId), eq(agents.id, found!.agentId)));
      expect(agent, login.email).toBeDefined();
      expect(agent!.email).toBe(login.email);
      expect(agent!.name).toBe(login.name);
      expect(agent!.role).toBe(login.role);
      expect(await verifyPassword(DEMO_PASSWORD, agent!.passwordHash)).toBe(true);
      expect(await verifyPassword("wrong-password", agent!.passwordHash)).toBe(false);
    }
    expect(DEMO_LOGINS.map((login) => login.email)).toEqual([
      "admin@demo.shop",
      "ana@demo.shop",
      "ben@demo.shop",
      "owner@other.shop",
    ]);
  });

  it("keeps every row inside its own account", async () => {
    for (const client of clients) {
      const checks = [
        "SELECT count(*) AS n FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id WHERE c.id IS NULL OR c.account_id <> t.account_id",
        "SELECT count(*) AS n FROM messages m LEFT JOIN tickets t ON t.id = m.ticket_id WHERE t.id IS NULL OR t.account_id <> m.account_id",
        "SELECT count(*) AS n FROM tickets t JOIN agents a ON a.id = t.assignee_id WHERE a.account_id <> t.account_id",
        "SELECT count(*) AS n FROM tickets t JOIN teams g ON g.id = t.team_id WHERE g.account_id <> t.account_id",
        "SELECT count(*) AS n FROM ticket_tags x JOIN tickets t ON t.id = x.ticket_id JOIN tags g ON g.id = x.tag_id WHERE t.account_id <> x.account_id OR g.account_id <> x.account_id",
        "SELECT count(*) AS n FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL OR c.account_id <> o.account_id",
        "SELECT count(*) AS n FROM messages m JOIN customers c ON c.id = m.author_id WHERE m.author_kind = 'customer' AND c.account_id <> m.account_id",
        "SELECT count(*) AS n FROM messages m JOIN agents a ON a.id = m.author_id WHERE m.author_kind = 'agent' AND a.account_id <> m.account_id",
        "SELECT count(*) AS n FROM tickets_fts f LEFT JOIN tickets t ON t.id = f.ticket_id WHERE t.id IS NULL OR t.account_id <> f.account_id",
      ];
      for (const sql of checks) expect(await count(client, sql), sql).toBe(0);
    }
    const other = await shardOf(OTHER_ACCOUNT_ID);
    expect(await count(other, "SELECT count(*) AS n FROM agents WHERE account_id = ?", [OTHER_ACCOUNT_ID])).toBe(1);
    expect(await count(other, "SELECT count(*) AS n FROM tickets WHERE account_id = ?", [OTHER_ACCOUNT_ID])).toBeGreaterThanOrEqual(2);
  });

  it("numbers each ticket's messages 1, 2, 3… in created order", async () => {
    for (const accountId of [DEMO_ACCOUNT_ID, OTHER_ACCOUNT_ID]) {
      const db = await shardOf(accountId);
      const thread = await rows(db, "SELECT ticket_id, seq, created_at FROM messages WHERE account_id = ? ORDER BY ticket_id, created_at, seq", [
        accountId,
      ]);
      expect(thread.length).toBeGreaterThan(0);
      let ticket: unknown;
      let expected = 0;
      for (const row of thread) {
        expected = row["ticket_id"] === ticket ? expected + 1 : 1;
        ticket = row["ticket_id"];
        expect(Number(row["seq"]), `${String(ticket)} message at ${String(row["created_at"])}`).toBe(expected);
      }
    }
  });

  it("indexes tickets and messages for full-text search, one FTS row each, keyed by their rowids", async () => {
    const db = await shardOf(DEMO_ACCOUNT_ID);
    // One row per ticket (rowid = -tickets.rowid: subject and customer, empty body) and one
    // per message (rowid = messages.rowid: the body), nothing else.
    const ticketRows = await rows(
      db,
      `SELECT f.rowid AS fts_rowid, t.rowid AS t_rowid, f.ticket_id, t.id, f.subject, t.subject AS t_subject, f.body,
              f.customer_name, c.name, f.customer_email, c.email
         FROM tickets t JOIN customers c ON c.id = t.customer_id LEFT JOIN tickets_fts f ON f.rowid = -t.rowid
        WHERE t.account_id = ?`,
      [DEMO_ACCOUNT_ID],
    );
    expect(ticketRows.length).toBeGreaterThanOrEqual(35);
    for (const row of ticketRows) {
      expect(row["ticket_id"], String(row["id"])).toBe(row["id"]);
      expect(row["subject"]).toBe(row["t_subject"]);
      expect(row["body"]).toBe("");
      expect(row["customer_name"]).toBe(row["name"]);
      expect(row["customer_email"]).toBe(row["email"]);
    }
    const messageRows = await rows(
      db,
      `SELECT m.id, m.ticket_id AS m_ticket, f.ticket_id, f.account_id, f.body, m.body AS m_body, f.subject, f.customer_name
         FROM messages m LEFT JOIN tickets_fts f ON f.rowid = m.rowid WHERE m.account_id = ?`,
      [DEMO_ACCOUNT_ID],
    );
    for (const row of messageRows) {
      expect(row["ticket_id"], String(row["id"])).toBe(row["m_ticket"]);
      expect(row["account_id"]).toBe(DEMO_ACCOUNT_ID);
      expect(row["body"]).toBe(row["m_body"]);
      expect(row["subject"]).toBe("");
      expect(row["customer_name"]).toBe("");
    }
    expect(await count(db, "SELECT count(*) AS n FROM tickets_fts WHERE account_id = ?", [DEMO_ACCOUNT_ID])).toBe(
      ticketRows.length + messageRows.length,
    );

    const [ticket] = await rows(db, "SELECT id, subject FROM tickets WHERE account_id = ? ORDER BY created_at LIMIT 1", [
      DEMO_ACCOUNT_ID,
    ]);
    const word = String(ticket!["subject"])
      .split(/[^A-Za-z]+/)
      .filter((part) => part.length >= 5)[0];
    expect(word, `a word of ${String(ticket!["subject"])}`).toBeDefined();
    const found = await rows(db, "SELECT ticket_id, rowid FROM tickets_fts WHERE tickets_fts MATCH ? AND account_id = ?", [
      `subject:${word!}`,
      DEMO_ACCOUNT_ID,
    ]);
    expect(found.filter((row) => Number(row["rowid"]) < 0).map((row) => row["ticket_id"])).toContain(ticket!["id"]);

    // A word of a message finds that message's row, which names its ticket.
    const [message] = await rows(db, "SELECT m.rowid, m.ticket_id FROM messages m WHERE m.account_id = ? AND m.body LIKE '%tracking%' LIMIT 1", [
      DEMO_ACCOUNT_ID,
    ]);
    const byBody = await rows(db, "SELECT rowid, ticket_id FROM tickets_fts WHERE tickets_fts MATCH 'body:tracking' AND account_id = ?", [
      DEMO_ACCOUNT_ID,
    ]);
    expect(byBody.map((row) => Number(row["rowid"]))).toContain(Number(message!["rowid"]));
    expect(byBody.every((row) => Number(row["rowid"]) > 0)).toBe(true);

    // A customer's email finds their tickets; another account's words stay in that account.
    const other = await shardOf(OTHER_ACCOUNT_ID);
    const teapot = await rows(other, "SELECT ticket_id FROM tickets_fts WHERE tickets_fts MATCH ? AND account_id = ?", [
      "teapot",
      OTHER_ACCOUNT_ID,
    ]);
    // The subject ("Teapot lid cracked") and the first message both say teapot.
    expect(new Set(teapot.map((row) => row["ticket_id"]))).toEqual(new Set(["tkt_other_teapot"]));
    expect(teapot).toHaveLength(2);
    const byEmail = await rows(other, "SELECT ticket_id FROM tickets_fts WHERE tickets_fts MATCH ? AND account_id = ?", [
      'customer_email:"rosa.q@example.net"',
      OTHER_ACCOUNT_ID,
    ]);
    expect(byEmail.map((row) => row["ticket_id"])).toEqual(["tkt_other_matcha"]);
    expect(
      await rows(db, "SELECT ticket_id FROM tickets_fts WHERE tickets_fts MATCH ? AND account_id = ?", ["teapot", DEMO_ACCOUNT_ID]),
    ).toHaveLength(0);
  });

  it("is deterministic: a fresh seed with the same clock makes the same data", async () => {
    const otherDir = await mkdtemp(join(tmpdir(), "seed-test-b-"));
    try {
      const otherShards = [0, 1].map((index) => ({ index, url: `file:${join(otherDir, `shard-${index}.db`)}` }));
      await migrateShards(otherShards);
      await seedDemoStore(otherShards, { now: NOW });
      const snapshot = async (client: Client) =>
        JSON.stringify([
          await rows(client, "SELECT * FROM tickets ORDER BY id"),
          await rows(client, "SELECT * FROM messages ORDER BY id"),
          await rows(client, "SELECT * FROM orders ORDER BY id"),
          await rows(client, "SELECT id, email, name FROM customers ORDER BY id"),
        ]);
      const fresh = otherShards.map((shard) => createClient({ url: shard.url }));
      try {
        for (const index of [0, 1]) expect(await snapshot(fresh[index]!)).toBe(await snapshot(clients[index]!));
      } finally {
        for (const client of fresh) client.close();
      }
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });
});
