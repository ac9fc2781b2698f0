import { describe, expect, it } from "vitest";
import { readJson } from "../test-support/live-client.ts";
import { shardOf } from "../test-support/shard.ts";
import { flushRoom, postSms, unique, type InboundAnswer } from "../test-support/channels-app.ts";
import { REOPEN_WINDOW_DAYS } from "./inbound.ts";
import { smsSubject } from "./sms.ts";

const DAY = 24 * 60 * 60 * 1000;

/** A fresh, valid E.164 number for this test run. */
function phone(): string {
  const digits = [...crypto.getRandomValues(new Uint8Array(8))].map((byte) => byte % 10).join("");
  return `+1555${digits}`;
}

function sms(from: string, body: string, extra: Record<string, string> = {}) {
  return { From: from, To: "+15550100999", Body: body, MessageSid: unique("SM"), NumMedia: "0", AccountSid: "AC123", SmsStatus: "received", ...extra };
}

async function deliver(fields: Record<string, string>, status = 201): Promise<InboundAnswer> {
  const response = await postSms(fields);
  expect(response.status, await response.clone().text()).toBe(status);
  return readJson<InboundAnswer>(response);
}

async function messagesOf(ticketId: string) {
  const shard = await shardOf("acc_demo");
  const rows = await shard.client.execute({ sql: "SELECT body, seq, channel, external_id FROM messages WHERE ticket_id = ? ORDER BY seq", args: [ticketId] });
  return rows.rows.map((row) => ({ ...row }));
}

async function ticketRow(ticketId: string) {
  const shard = await shardOf("acc_demo");
  return (await shard.client.execute({ sql: "SELECT * FROM tickets WHERE id = ?", args: [ticketId] })).rows[0];
}

describe("inbound SMS", () => {
  it("opens an SMS ticket for a new number, then threads the next text into it", async () => {
    const from = phone();
    const long = "Hi, my hoodie arrived in the wrong size and I would like to swap it for a medium please";
    const first = await deliver(sms(from, long));
    expect(first.threaded).toBe(false);
    const second = await deliver(sms(from, "Order #1003"));
    expect(second).toMatchObject({ ticketId: first.ticketId, threaded: true });
    await flushRoom("acc_demo", first.ticketId);

    const ticket = await ticketRow(first.ticketId);
    expect(ticket).toMatchObject({ channel: "sms", status: "open", subject: "Hi, my hoodie arrived in the wrong size and I would like to…" });
    expect(String(ticket?.subject).length).toBeLessThanOrEqual(61);
    expect((await messagesOf(first.ticketId)).map((m) => [m.seq, m.body, m.channel])).toEqual([
      [1, long, "sms"],
      [2, "Order #1003", "sms"],
    ]);
    const shard = await shardOf("acc_demo");
    const customer = (await shard.client.execute({ sql: "SELECT phone, email FROM customers WHERE id = ?", args: [String(ticket?.customer_id)] })).rows[0];
    expect({ ...customer }).toEqual({ phone: from, email: null });
  });

  it("finds an existing customer by phone, however the number is formatted", async () => {
    const shard = await shardOf("acc_demo");
    const number = phone();
    const customerId = unique("cus_");
    await shard.client.execute({ sql: "INSERT INTO customers (id, account_id, name, phone, created_at) VALUES (?, 'acc_demo', 'Tex Tester', ?, ?)", args: [customerId, number, Date.now()] });
    // "+1 555-…" style formatting of the same number.
    const formatted = `${number.slice(0, 2)} (${number.slice(2, 5)}) ${number.slice(5, 8)}-${number.slice(8)}`;
    const answer = await deliver(sms(formatted, "Following up by text"));
    await flushRoom("acc_demo", answer.ticketId);
    expect(await ticketRow(answer.ticketId)).toMatchObject({ customer_id: customerId, channel: "sms" });
    const count = (await shard.client.execute({ sql: "SELECT count(*) AS n FROM customers WHERE account_id = 'acc_demo' AND phone = ?", args: [number] })).rows[0];
    expect(count?.n).toBe(1);
  });

  it("opens a new ticket when the last SMS ticket was closed longer ago than the reopen window, reopens a recent one", async () => {
    const shard = await shardOf("acc_demo");
    const now = Date.now();
    const make = async (closedDaysAgo: number) => {
      const from = phone();
      const customerId = unique("cus_");
      const ticketId = unique("tkt_");
      const closedAt = now - closedDaysAgo * DAY;
      await shard.client.batch(
        [
          { sql: "INSERT INTO customers (id, account_id, phone, created_at) VALUES (?, 'acc_demo', ?, ?)", args: [customerId, from, closedAt - DAY] },
          {
            sql: `INSERT INTO tickets (id, account_id, customer_id, channel, subject, status, version, created_at, updated_at, closed_at)
                  VALUES (?, 'acc_demo', ?, 'sms', 'Old text', 'closed', 2, ?, ?, ?)`,
            args: [ticketId, customerId, closedAt - DAY, closedAt, closedAt],
          },
        ],
        "write",
      );
      return { from, ticketId };
    };
    const stale = await make(REOPEN_WINDOW_DAYS + 1);
    const fresh = await make(REOPEN_WINDOW_DAYS - 1);

    const reopened = await deliver(sms(fresh.from, "Me again"));
    expect(reopened).toMatchObject({ ticketId: fresh.ticketId, threaded: true });
    await flushRoom("acc_demo", fresh.ticketId);
    expect(await ticketRow(fresh.ticketId)).toMatchObject({ status: "open", closed_at: null });

    const opened = await deliver(sms(stale.from, "Hello after a long time"));
    expect(opened.threaded).toBe(false);
    expect(opened.ticketId).not.toBe(stale.ticketId);
    await flushRoom("acc_demo", opened.ticketId);
    expect(await ticketRow(opened.ticketId)).toMatchObject({ channel: "sms", status: "open", subject: "Hello after a long time" });
    expect(await ticketRow(stale.ticketId)).toMatchObject({ status: "closed" });
    // The next text goes to the new ticket, not the stale one.
    const next = await deliver(sms(stale.from, "And another thing"));
    expect(next).toMatchObject({ ticketId: opened.ticketId, threaded: true });
  });

  it("puts texts that race to open a conversation into one ticket", async () => {
    const from = phone();
    const answers = await Promise.all([1, 2, 3, 4].map((n) => deliver(sms(from, `burst ${n}`))));
    const ticketIds = new Set(answers.map((a) => a.ticketId));
    expect(ticketIds.size).toBe(1);
    expect(answers.filter((a) => a.threaded === false)).toHaveLength(1);
    const [ticketId] = [...ticketIds];
    await flushRoom("acc_demo", ticketId!);
    expect((await messagesOf(ticketId!)).map((m) => m.body).sort()).toEqual(["burst 1", "burst 2", "burst 3", "burst 4"]);
    const shard = await shardOf("acc_demo");
    const count = (await shard.client.execute({ sql: "SELECT count(*) AS n FROM customers WHERE account_id = 'acc_demo' AND phone = ?", args: [from] })).rows[0];
    expect(count?.n).toBe(1);
  });

  it("de-duplicates by MessageSid", async () => {
    const fields = sms(phone(), "Only once");
    const first = await deliver(fields);
    const again = await deliver(fields, 200);
    expect(again).toEqual({ duplicate: true, ticketId: first.ticketId });
    await flushRoom("acc_demo", first.ticketId);
    const late = await deliver(fields, 200);
    expect(late).toEqual({ duplicate: true, ticketId: first.ticketId });
    expect((await messagesOf(first.ticketId)).map((m) => [m.body, m.external_id])).toEqual([["Only once", fields.MessageSid]]);
  });

  it("records media-only texts with their attachment links", async () => {
    const answer = await deliver(sms(phone(), "", { NumMedia: "1", MediaUrl0: "https://api.twilio.example/Media/ME1", MediaContentType0: "image/jpeg" }));
    await flushRoom("acc_demo", answer.ticketId);
    expect((await messagesOf(answer.ticketId))[0]?.body).toBe("[attachment: https://api.twilio.example/Media/ME1]");
    expect((await ticketRow(answer.ticketId))?.subject).toMatch(/^Text message from \+1555/);
  });

  it("rejects invalid fields with 400, other content types with 415, over 1 MB with 413", async () => {
    const cases: [Record<string, string>, string[]][] = [
      [{ From: "12345", To: "+15550100999", Body: "hi" }, ["From", "MessageSid"]],
      [{ From: "+15550100", To: "whatsapp:+15550100999", Body: "hi", MessageSid: "SM0123456789" }, ["To"]],
      [{ From: "+15550100", To: "+15550100999", Body: "  ", MessageSid: "SM0123456789", NumMedia: "0" }, ["Body"]],
      [{ From: "+15550100", To: "+15550100999", Body: "hi", MessageSid: "SM0123456789", NumMedia: "many" }, ["NumMedia"]],
    ];
    for (const [fields, expected] of cases) {
      const response = await postSms(fields);
      expect(response.status, JSON.stringify(fields)).toBe(400);
      const error = (await readJson(response)).error;
      expect(error.code).toBe("VALIDATION_FAILED");
      expect(Object.keys(error.fields ?? {}).sort()).toEqual(expected);
    }
    const json = await postSms(JSON.stringify(sms(phone(), "hi")), { contentType: "application/json" });
    expect(json.status).toBe(415);
    expect((await readJson(json)).error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    const multipart = await postSms("x", { contentType: "multipart/form-data; boundary=x" });
    expect(multipart.status).toBe(415);
    const huge = await postSms(sms(phone(), "y".repeat(1_100_000)));
    expect(huge.status).toBe(413);
  });

  it("makes subjects from the first ~60 characters, cut at a word", () => {
    expect(smsSubject("Short one", "+15550100")).toBe("Short one");
    expect(smsSubject("a".repeat(80), "+15550100")).toBe(`${"a".repeat(60)}…`);
    expect(smsSubject("word ".repeat(20), "+15550100")).toBe(`${"word ".repeat(12).trim()}…`);
    expect(smsSubject("", "+15550100")).toBe("Text message from +15550100");
  });
});
