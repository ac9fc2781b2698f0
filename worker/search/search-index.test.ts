import type { Client } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReadFixture, type ReadFixture } from "../test-support/read-fixture.ts";
import {
  indexCustomerTicketsStatement,
  indexMessageStatement,
  indexTicketStatement,
  reindexAccountStatements,
  unindexTicketStatements,
} from "./search-index.ts";

// The fixture account is written with indexTicketStatement / indexMessageStatement (as a
// room's flush does), so these tests check the rows those statements made, and what the
// statements do when run again or after a change.

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

describe("the search index scheme", () => {
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

  it("is idempotent: running every statement again changes nothing", async () => {
    const before = await ftsRows();
    await client.batch(
      fx.tickets.flatMap((t) => [indexTicketStatement(t.id, fx.accountId), ...t.messages.map((m) => indexMessageStatement(m.id))]),
      "write",
    );
    expect(await ftsRows()).toEqual(before);
  });

  it("replaces a ticket's row when its subject changes, in the same batch as the ticket write", async () => {
    const ticket = fx.tickets[3]!;
    const count = (await ftsRows()).length;
    expect(await matching("subject:lighthouse")).toEqual([]);
    await client.batch(
      [
        { sql: "UPDATE tickets SET subject = 'Lighthouse lamp broken', version = version + 1 WHERE id = ?", args: [ticket.id] },
        indexTicketStatement(ticket.id, fx.accountId),
      ],
      "write",
    );
    expect(await matching("subject:lighthouse")).toEqual([ticket.id]);
    // The old subject's words no longer find it through its ticket row.
    expect(await matching(`subject:"Fixture question 3"`)).toEqual([]);
    expect((await ftsRows()).length).toBe(count);
  });

  it("indexes a message once it is written, and only once", async () => {
    const ticket = fx.tickets[5]!;
    const messageId = `msg_index_${fx.accountId}`;
    // Before the message exists the statement does nothing.
    await client.execute(indexMessageStatement(messageId));
    const count = (await ftsRows()).length;
    const insert = {
      sql: `INSERT INTO messages (id, account_id, ticket_id, author_kind, body, channel, seq, created_at)
            VALUES (?, ?, ?, 'customer', 'The periscope arrived scratched', 'email', 9, ?) ON CONFLICT (id) DO NOTHING`,
      args: [messageId, fx.accountId, ticket.id, Date.now()],
    };
    await client.batch([insert, indexMessageStatement(messageId)], "write");
    await client.batch([insert, indexMessageStatement(messageId)], "write");
    expect((await ftsRows()).length).toBe(count + 1);
    expect(await matching("periscope")).toEqual([ticket.id]);
  });

  it("re-indexes a customer's tickets after the customer changes", async () => {
    const lou = fx.customerIds[1];
    await client.batch(
      [
        { sql: "UPDATE customers SET name = 'Louise Quartermaine' WHERE id = ?", args: [lou] },
        indexCustomerTicketsStatement(lou, fx.accountId),
      ],
      "write",
    );
    const found = await matching("customer_name:quartermaine");
    expect(found.sort()).toEqual(fx.tickets.filter((t) => t.customerId === lou).map((t) => t.id).sort());
  });

  it("removes a ticket's rows", async () => {
    const ticket = fx.tickets[8]!;
    expect(ticket.messages.length).toBeGreaterThan(0);
    const count = (await ftsRows()).length;
    await client.batch(unindexTicketStatements(ticket.id, fx.accountId), "write");
    expect((await ftsRows()).length).toBe(count - 1 - ticket.messages.length);
    expect((await ftsRows()).some((row) => row["ticket_id"] === ticket.id)).toBe(false);
    await client.batch(
      [indexTicketStatement(ticket.id, fx.accountId), ...ticket.messages.map((m) => indexMessageStatement(m.id))],
      "write",
    );
    expect((await ftsRows()).length).toBe(count);
  });

  it("rebuilds an account's index to the same rows", async () => {
    const before = await ftsRows();
    await client.execute({ sql: "DELETE FROM tickets_fts WHERE account_id = ? AND rowid > 0", args: [fx.accountId] });
    expect((await ftsRows()).length).toBeLessThan(before.length);
    await client.batch(reindexAccountStatements(fx.accountId), "write");
    expect(await ftsRows()).toEqual(before);
  });
});
