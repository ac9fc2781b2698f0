import type { Client } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReadFixture, type ReadFixture } from "../test-support/read-fixture.ts";
import { reindexAccountStatements } from "./search-index.ts";

// The fixture account is written with plain INSERTs, as a room's flush, the seed or an
// account move writes rows: these tests check the index rows the shard's search triggers
// made from them, and what the triggers do on later writes.

let fx: ReadFixture;
let client: Client;

beforeAll(async () => {
  fx = await createReadFixture("index");
  client = fx.shard.client;
});

afterAll(async () => {
  await fx?.drop();
});

async function rows(sql: string, args: (string | number)[] = []) {
  return (await client.execute({ sql, args })).rows.map((row) => ({ ...row }));
}

/** Every FTS row of the fixture account, ordered by rowid. */
async function ftsRows() {
  return rows(
    "SELECT rowid, ticket_id, account_id, subject, body, customer_name, customer_email FROM tickets_fts WHERE account_id = ? ORDER BY rowid",
    [fx.accountId],
  );
}

async function matching(query: string): Promise<string[]> {
  const found = await rows("SELECT DISTINCT ticket_id FROM tickets_fts WHERE tickets_fts MATCH ? AND account_id = ? ORDER BY ticket_id", [
    query,
    fx.accountId,
  ]);
  return found.map((row) => String(row["ticket_id"]));
}

describe("the search index, kept by the shard's triggers", () => {
  it("has one row per ticket at -tickets.rowid (subject, customer) and one per message at messages.rowid (body)", async () => {
    const ticketRows = await rows(
      `SELECT t.id, t.subject, c.name, c.email, f.ticket_id, f.subject AS f_subject, f.body, f.customer_name, f.customer_email
         FROM tickets t JOIN customers c ON c.id = t.customer_id LEFT JOIN tickets_fts f ON f.rowid = -t.rowid
        WHERE t.account_id = ?`,
      [fx.accountId],
    );
    expect(ticketRows).toHaveLength(fx.tickets.length);
    for (const row of ticketRows) {
      expect(row).toMatchObject({ ticket_id: row["id"], f_subject: row["subject"], body: "", customer_name: row["name"], customer_email: row["email"] });
    }
    const messageRows = await rows(
      `SELECT m.id, m.ticket_id AS m_ticket, m.body AS m_body, f.ticket_id, f.account_id, f.subject, f.body, f.customer_name, f.customer_email
         FROM messages m LEFT JOIN tickets_fts f ON f.rowid = m.rowid WHERE m.account_id = ?`,
      [fx.accountId],
    );
    const messageCount = fx.tickets.reduce((sum, t) => sum + t.messages.length, 0);
    expect(messageRows).toHaveLength(messageCount);
    for (const row of messageRows) {
      expect(row).toMatchObject({ ticket_id: row["m_ticket"], account_id: fx.accountId, body: row["m_body"], subject: "", customer_name: "", customer_email: "" });
    }
    expect(await ftsRows()).toHaveLength(fx.tickets.length + messageCount);
  });

  it("is idempotent: a flush replayed (message upserts, ticket upsert unchanged) changes nothing", async () => {
    const before = await ftsRows();
    const ticket = fx.tickets[2]!;
    const message = ticket.messages[0]!;
    await client.batch(
      [
        {
          sql: `INSERT INTO messages (id, account_id, ticket_id, author_kind, body, channel, seq, created_at)
                VALUES (?, ?, ?, 'customer', 'a replayed body', 'email', 1, 1) ON CONFLICT (id) DO NOTHING`,
          args: [message.id, fx.accountId, ticket.id],
        },
        {
          sql: `INSERT INTO tickets (id, account_id, customer_id, channel, subject, status, created_at, updated_at)
                VALUES (?, ?, ?, 'email', ?, 'open', 1, 1)
                ON CONFLICT (id) DO UPDATE SET subject = excluded.subject, version = tickets.version + 1`,
          args: [ticket.id, fx.accountId, ticket.customerId, ticket.subject],
        },
      ],
      "write",
    );
    expect(await ftsRows()).toEqual(before);
  });

  it("replaces a ticket's row when its subject changes, also through a room's upsert", async () => {
    const ticket = fx.tickets[3]!;
    const count = (await ftsRows()).length;
    expect(await matching("subject:lighthouse")).toEqual([]);
    await client.execute({
      sql: `INSERT INTO tickets (id, account_id, customer_id, channel, subject, status, created_at, updated_at)
            VALUES (?, ?, ?, 'email', 'Lighthouse lamp broken', 'open', 1, 1)
            ON CONFLICT (id) DO UPDATE SET subject = excluded.subject, version = tickets.version + 1`,
      args: [ticket.id, fx.accountId, ticket.customerId],
    });
    expect(await matching("subject:lighthouse")).toEqual([ticket.id]);
    // The old subject's words no longer find it through its ticket row.
    expect(await matching(`subject:"Fixture question 3"`)).toEqual([]);
    expect((await ftsRows()).length).toBe(count);
  });

  it("indexes a message when it is written, and only once", async () => {
    const ticket = fx.tickets[5]!;
    const count = (await ftsRows()).length;
    const insert = {
      sql: `INSERT INTO messages (id, account_id, ticket_id, author_kind, body, channel, seq, created_at)
            VALUES (?, ?, ?, 'customer', 'The periscope arrived scratched', 'email', 9, ?) ON CONFLICT (id) DO NOTHING`,
      args: [`msg_index_${fx.accountId}`, fx.accountId, ticket.id, Date.now()],
    };
    await client.batch([insert], "write");
    await client.batch([insert], "write");
    expect((await ftsRows()).length).toBe(count + 1);
    expect(await matching("periscope")).toEqual([ticket.id]);
  });

  it("re-indexes a customer's tickets when the customer's name changes", async () => {
    const lou = fx.customerIds[1];
    await client.execute({ sql: "UPDATE customers SET name = 'Louise Quartermaine' WHERE id = ?", args: [lou] });
    const found = await matching("customer_name:quartermaine");
    expect(found.sort()).toEqual(fx.tickets.filter((t) => t.customerId === lou).map((t) => t.id).sort());
    expect(found.length).toBeGreaterThan(0);
  });

  it("removes a ticket's rows with its messages and the ticket", async () => {
    const id = `tkt_${fx.accountId}_doomed`;
    const count = (await ftsRows()).length;
    await client.batch(
      [
        {
          sql: `INSERT INTO tickets (id, account_id, customer_id, channel, subject, status, created_at, updated_at)
                VALUES (?, ?, ?, 'email', 'Doomed xylophone', 'open', 1, 1)`,
          args: [id, fx.accountId, fx.customerIds[0]],
        },
        {
          sql: `INSERT INTO messages (id, account_id, ticket_id, author_kind, body, channel, seq, created_at)
                VALUES (?, ?, ?, 'customer', 'xylophone keys missing', 'email', 1, 1)`,
          args: [`msg_${fx.accountId}_doomed`, fx.accountId, id],
        },
      ],
      "write",
    );
    expect((await ftsRows()).length).toBe(count + 2);
    expect(await matching("xylophone")).toEqual([id]);
    await client.batch(
      [
        { sql: "DELETE FROM messages WHERE ticket_id = ?", args: [id] },
        { sql: "DELETE FROM tickets WHERE id = ?", args: [id] },
      ],
      "write",
    );
    expect((await ftsRows()).length).toBe(count);
    expect(await matching("xylophone")).toEqual([]);
  });

  it("rebuilds an account's index to the same rows", async () => {
    const before = await ftsRows();
    await client.execute({ sql: "DELETE FROM tickets_fts WHERE account_id = ? AND rowid > 0", args: [fx.accountId] });
    expect((await ftsRows()).length).toBeLessThan(before.length);
    await client.batch(reindexAccountStatements(fx.accountId), "write");
    expect(await ftsRows()).toEqual(before);
  });
});
