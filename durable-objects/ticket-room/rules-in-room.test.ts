import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { loginToken, readJson } from "../../worker/test-support/live-client.ts";
import { shardOf } from "../../worker/test-support/shard.ts";
import { roomName } from "./room-api.ts";

// Rules run inside the ticket's room, once per external event; what they change is one
// more change of the ticket, and their own changes never trigger rules again.

interface Created {
  ticket: { id: string; version: number; priority: string; tagIds: string[]; teamId: string | null };
}

let ana: string;
let olive: string;

beforeAll(async () => {
  ana = await loginToken("ana@demo.shop");
  olive = await loginToken("owner@other.shop");
});

async function create(token: string, email: string, subject: string, body: string): Promise<Created> {
  const response = await SELF.fetch("http://hub.test/api/tickets", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ customer: { email }, subject, body }),
  });
  expect(response.status).toBe(201);
  return readJson<Created>(response);
}

function room(accountId: string, ticketId: string) {
  return env.TICKET_ROOM.get(env.TICKET_ROOM.idFromName(roomName({ accountId, ticketId })));
}

describe("rules in the ticket room", () => {
  it("applies the demo store's seeded rules on ticket creation as one extra change", async () => {
    const shard = await shardOf("acc_demo");
    const payment = (await shard.client.execute("SELECT id FROM tags WHERE account_id = 'acc_demo' AND name = 'payment'")).rows[0]?.id;
    const { ticket } = await create(ana, "double@example.com", "Card problem", "I was charged twice for one order");
    expect(ticket.priority).toBe("urgent");
    expect(ticket.tagIds).toContain(payment);
    // Creation, first message, and the rules' change.
    expect(ticket.version).toBe(3);

    const plain = await create(ana, "calm@example.com", "Hello", "Just a question about sizes");
    expect(plain.ticket.priority).toBe("normal");
    expect(plain.ticket.version).toBe(2);

    const bulk = await create(ana, "bulk@example.com", "Order", "Can I place a bulk order?");
    expect(bulk.ticket.teamId).toBe("team_demo_sales");
  });

  it("auto-replies once per customer per 5 minutes, across tickets, and records why", async () => {
    const shard = await shardOf("acc_other");
    await shard.client.execute({
      sql: `INSERT INTO rules (id, account_id, name, event, conditions, actions, position, enabled)
            VALUES ('rule_other_ack', 'acc_other', 'Acknowledge', 'ticket_created', '[]', ?, 0, 1)`,
      args: [JSON.stringify([{ type: "auto_reply", body: "Hi {{customer.first_name}}, we got your message." }])],
    });
    try {
      const first = await create(olive, "walt.white@example.com", "Lid", "The lid is cracked");
      await room("acc_other", first.ticket.id).flush();
      const messages = await shard.client.execute({
        sql: "SELECT seq, author_kind, body FROM messages WHERE ticket_id = ? ORDER BY seq",
        args: [first.ticket.id],
      });
      expect(messages.rows.map((row) => [row.seq, row.author_kind])).toEqual([
        [1, "customer"],
        [2, "system"],
      ]);
      expect(String(messages.rows[1]?.body)).toMatch(/^Hi .+, we got your message\.$/);
      const log = await shard.client.execute(
        "SELECT last_sent_at FROM auto_reply_log WHERE account_id = 'acc_other' AND customer_id IN (SELECT customer_id FROM tickets WHERE id = '" + first.ticket.id + "')",
      );
      expect(log.rows).toHaveLength(1);

      // Same customer, another ticket, within 5 minutes: no second auto-reply.
      const second = await create(olive, "walt.white@example.com", "Spout", "And the spout too");
      await room("acc_other", second.ticket.id).flush();
      const again = await shard.client.execute({ sql: "SELECT author_kind FROM messages WHERE ticket_id = ?", args: [second.ticket.id] });
      expect(again.rows.map((row) => row.author_kind)).toEqual(["customer"]);
    } finally {
      await shard.client.execute("DELETE FROM rules WHERE id = 'rule_other_ack'");
    }
  });
});
