import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { loginToken, readJson } from "../test-support/live-client.ts";
import { shardOf } from "../test-support/shard.ts";
import { flushRoom, postEmail, unique, type InboundAnswer } from "../test-support/channels-app.ts";
import { MAX_BULK_MESSAGES } from "./bulk-routes.ts";

interface BulkAnswer {
  results: ({ ticketId: string; ok: true; messageId: string; seq: number } | { ticketId: string; ok: false; error: { code: string } })[];
}

let ana: string;
let olive: string;

beforeAll(async () => {
  ana = await loginToken("ana@demo.shop");
  olive = await loginToken("owner@other.shop");
});

function bulk(body: unknown, token: string | null = ana) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  return SELF.fetch("http://hub.test/api/tickets/messages", { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}

async function newTicket(token = ana): Promise<string> {
  const response = await SELF.fetch("http://hub.test/api/tickets", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ customer: { email: "bulk.buyer@example.com" }, subject: "Bulk", body: "First" }),
  });
  expect(response.status).toBe(201);
  return (await readJson<{ ticket: { id: string } }>(response)).ticket.id;
}

async function threadOf(ticketId: string) {
  const shard = await shardOf("acc_demo");
  const rows = await shard.client.execute({ sql: "SELECT seq, body, is_internal_note FROM messages WHERE ticket_id = ? ORDER BY seq", args: [ticketId] });
  return rows.rows.map((row) => [row.seq, row.body, row.is_internal_note]);
}

describe("POST /api/tickets/messages", () => {
  it("writes replies and notes for several tickets, each ticket's in request order", async () => {
    const [a, b] = [await newTicket(), await newTicket()];
    const response = await bulk({
      messages: [
        { ticketId: a, kind: "note", body: "a1" },
        { ticketId: b, kind: "reply", body: "b1" },
        { ticketId: a, kind: "reply", body: "a2" },
        { ticketId: a, kind: "note", body: "a3" },
      ],
    });
    expect(response.status).toBe(200);
    const { results } = await readJson<BulkAnswer>(response);
    expect(results.map((r) => [r.ticketId, r.ok && r.seq])).toEqual([[a, 2], [b, 2], [a, 3], [a, 4]]);
    await flushRoom("acc_demo", a);
    await flushRoom("acc_demo", b);
    expect(await threadOf(a)).toEqual([[1, "First", 0], [2, "a1", 1], [3, "a2", 0], [4, "a3", 1]]);
    expect(await threadOf(b)).toEqual([[1, "First", 0], [2, "b1", 0]]);
  });

  it("fails a missing ticket and another account's ticket alone, alike, and writes the rest", async () => {
    const mine = await newTicket();
    const theirs = await newTicket(olive);
    const { results } = await readJson<BulkAnswer>(
      await bulk({
        messages: [
          { ticketId: theirs, kind: "note", body: "peeking" },
          { ticketId: mine, kind: "note", body: "fine" },
          { ticketId: "tkt_does_not_exist", kind: "note", body: "nobody" },
        ],
      }),
    );
    expect(results[0]).toEqual({ ticketId: theirs, ok: false, error: { code: "NOT_FOUND", message: "ticket not found" } });
    expect(results[2]).toEqual({ ticketId: "tkt_does_not_exist", ok: false, error: { code: "NOT_FOUND", message: "ticket not found" } });
    expect(results[1]).toMatchObject({ ticketId: mine, ok: true, seq: 2 });
    const other = await shardOf("acc_other");
    await flushRoom("acc_other", theirs);
    const leaked = await other.client.execute({ sql: "SELECT count(*) AS n FROM messages WHERE ticket_id = ? AND body = 'peeking'", args: [theirs] });
    expect(leaked.rows[0]?.n).toBe(0);
  });

  it("queues an outbound email for a reply on an email ticket, and none for a note", async () => {
    const local = unique("bulk");
    const opened = await readJson<InboundAnswer>(
      await postEmail({ from: `${local}@example.com`, to: "support@demo.shop", subject: "Bulk mail", text: "Hi", messageId: `<${local}@mail.example.com>` }),
    );
    await bulk({ messages: [{ ticketId: opened.ticketId, kind: "reply", body: "Hello back" }, { ticketId: opened.ticketId, kind: "note", body: "internal" }] });
    await flushRoom("acc_demo", opened.ticketId);
    const shard = await shardOf("acc_demo");
    const rows = await shard.client.execute({ sql: "SELECT to_address, subject, body FROM outbound_deliveries WHERE ticket_id = ?", args: [opened.ticketId] });
    expect(rows.rows.map((row) => ({ ...row }))).toEqual([{ to_address: `${local}@example.com`, subject: "Re: Bulk mail", body: "Hello back" }]);
  });

  it("refuses bad input with 400 and field errors, 413 over 1 MB, 401 without a session", async () => {
    const ticketId = await newTicket();
    const fieldsOf = async (response: Response) => {
      expect(response.status).toBe(400);
      return Object.keys((await readJson<{ error: { fields: Record<string, string[]> } }>(response)).error.fields);
    };
    expect(await fieldsOf(await bulk({ messages: [] }))).toEqual(["messages"]);
    expect(await fieldsOf(await bulk({ messages: [{ ticketId, kind: "shout", body: "x" }] }))).toEqual(["messages.0.kind"]);
    expect(await fieldsOf(await bulk({ messages: [{ ticketId, kind: "note", body: "  " }] }))).toEqual(["messages.0.body"]);
    const tooMany = Array.from({ length: MAX_BULK_MESSAGES + 1 }, () => ({ ticketId, kind: "note", body: "x" }));
    expect(await fieldsOf(await bulk({ messages: tooMany }))).toEqual(["messages"]);
    expect((await bulk("{not json")).status).toBe(400);
    expect((await bulk({ messages: [{ ticketId, kind: "note", body: "x".repeat(1024 * 1024) }] })).status).toBe(413);
    expect((await bulk({ messages: [{ ticketId, kind: "note", body: "x" }] }, null)).status).toBe(401);
    // Nothing of the refused requests was written.
    await flushRoom("acc_demo", ticketId);
    expect(await threadOf(ticketId)).toEqual([[1, "First", 0]]);
  });
});
