import { describe, expect, it } from "vitest";
import { readJson } from "../test-support/live-client.ts";
import { shardOf } from "../test-support/shard.ts";
import { flushRoom, postEmail, ticketRoomStub, unique, type InboundAnswer } from "../test-support/channels-app.ts";
import { REOPEN_WINDOW_DAYS } from "./inbound.ts";

const DAY = 24 * 60 * 60 * 1000;

function email(overrides: Record<string, unknown> = {}) {
  const id = unique("m");
  return {
    from: `Rita Reader <rita.${id}@example.com>`,
    to: "support@demo.shop",
    subject: "My order never arrived",
    text: "Hello, order #1001 never arrived.",
    messageId: `<${id}@mail.example.com>`,
    ...overrides,
  };
}

async function deliver(payload: unknown, status = 201): Promise<InboundAnswer> {
  const response = await postEmail(payload);
  expect(response.status, await response.clone().text()).toBe(status);
  return readJson<InboundAnswer>(response);
}

async function messagesOf(ticketId: string) {
  const shard = await shardOf("acc_demo");
  const rows = await shard.client.execute({
    sql: "SELECT id, body, seq, author_kind, author_id, channel, external_id FROM messages WHERE ticket_id = ? ORDER BY seq",
    args: [ticketId],
  });
  return rows.rows.map((row) => ({ ...row }));
}

async function ticketRow(ticketId: string) {
  const shard = await shardOf("acc_demo");
  return (await shard.client.execute({ sql: "SELECT * FROM tickets WHERE id = ?", args: [ticketId] })).rows[0];
}

/** A closed email ticket written straight to the shard (as an old ticket whose room is long gone). */
async function closedTicketOnShard(closedDaysAgo: number): Promise<{ ticketId: string; externalId: string }> {
  const shard = await shardOf("acc_demo");
  const now = Date.now();
  const closedAt = now - closedDaysAgo * DAY;
  const customerId = unique("cus_");
  const ticketId = unique("tkt_");
  const externalId = `<${unique("old")}@mail.example.com>`;
  await shard.client.batch(
    [
      { sql: "INSERT INTO customers (id, account_id, email, name, created_at) VALUES (?, 'acc_demo', ?, 'Old Timer', ?)", args: [customerId, `${customerId}@example.com`, closedAt - DAY] },
      {
        sql: `INSERT INTO tickets (id, account_id, customer_id, channel, subject, status, version, created_at, updated_at, closed_at, last_message_at)
              VALUES (?, 'acc_demo', ?, 'email', 'Old question', 'closed', 3, ?, ?, ?, ?)`,
        args: [ticketId, customerId, closedAt - DAY, closedAt, closedAt, closedAt - DAY],
      },
      {
        sql: `INSERT INTO messages (id, account_id, ticket_id, author_kind, author_id, body, channel, external_id, seq, created_at)
              VALUES (?, 'acc_demo', ?, 'customer', ?, 'Old question body', 'email', ?, 1, ?)`,
        args: [unique("msg_"), ticketId, customerId, externalId, closedAt - DAY],
      },
    ],
    "write",
  );
  return { ticketId, externalId };
}

describe("inbound email", () => {
  it("opens an email ticket for a new sender: ticket, message and customer land on the shard", async () => {
    const payload = email();
    const answer = await deliver(payload);
    expect(answer).toMatchObject({ threaded: false });
    expect(answer.ticketId).toMatch(/^tkt_/);
    expect(answer.messageId).toMatch(/^msg_/);
    await flushRoom("acc_demo", answer.ticketId);

    const ticket = await ticketRow(answer.ticketId);
    expect(ticket).toMatchObject({ account_id: "acc_demo", channel: "email", subject: "My order never arrived", status: "open" });
    expect(await messagesOf(answer.ticketId)).toEqual([
      {
        id: answer.messageId,
        body: "Hello, order #1001 never arrived.",
        seq: 1,
        author_kind: "customer",
        author_id: ticket?.customer_id,
        channel: "email",
        external_id: payload.messageId,
      },
    ]);
    const shard = await shardOf("acc_demo");
    const customer = (await shard.client.execute({ sql: "SELECT * FROM customers WHERE id = ?", args: [String(ticket?.customer_id)] })).rows[0];
    expect(customer).toMatchObject({ account_id: "acc_demo", email: payload.from.slice("Rita Reader <".length, -1), name: "Rita Reader" });
  });

  it("parses \"Name <addr>\" senders: quoted names, case, and reuses the customer for the next email", async () => {
    const local = unique("jane");
    const first = await deliver(email({ from: `"Doe, Jane" <${local}@Example.COM>` }));
    const second = await deliver(email({ from: `${local}@example.com` }));
    await flushRoom("acc_demo", first.ticketId);
    await flushRoom("acc_demo", second.ticketId);
    expect(second.ticketId).not.toBe(first.ticketId);
    const a = await ticketRow(first.ticketId);
    const b = await ticketRow(second.ticketId);
    expect(b?.customer_id).toBe(a?.customer_id);
    const shard = await shardOf("acc_demo");
    const customers = await shard.client.execute({ sql: "SELECT name, email FROM customers WHERE account_id = 'acc_demo' AND email = ?", args: [`${local}@example.com`] });
    expect(customers.rows.map((row) => ({ ...row }))).toEqual([{ name: "Doe, Jane", email: `${local}@example.com` }]);
  });

  it("turns an html-only email into safe text", async () => {
    const answer = await deliver(
      email({
        text: undefined,
        html: `<html><head><title>t</title><style>p{color:red}</style></head><body>
          <p>Hi&nbsp;there &amp; thanks,</p><script>alert("x")</script>
          <p>Order <b>#1002</b> is &lt;late&gt;.<br>Regards</p><!-- tracking pixel --></body></html>`,
      }),
    );
    await flushRoom("acc_demo", answer.ticketId);
    const [message] = await messagesOf(answer.ticketId);
    expect(message?.body).toBe("Hi there & thanks,\n\nOrder #1002 is <late>.\nRegards");
  });

  it("threads a reply into its ticket by In-Reply-To, and by References", async () => {
    const original = email();
    const opened = await deliver(original);
    const reply = await deliver(email({ from: original.from, subject: "Re: My order never arrived", text: "Any news?", inReplyTo: original.messageId }));
    expect(reply).toMatchObject({ ticketId: opened.ticketId, threaded: true });
    // A client that only sends References (oldest first, our message last).
    const third = await deliver(
      email({ from: original.from, text: "Still waiting.", references: `<unknown-${unique()}@elsewhere.example> ${original.messageId}` }),
    );
    expect(third).toMatchObject({ ticketId: opened.ticketId, threaded: true });
    await flushRoom("acc_demo", opened.ticketId);
    expect((await messagesOf(opened.ticketId)).map((m) => [m.seq, m.body])).toEqual([
      [1, original.text],
      [2, "Any news?"],
      [3, "Still waiting."],
    ]);
  });

  it("reopens a ticket closed recently when the customer replies", async () => {
    const old = await closedTicketOnShard(REOPEN_WINDOW_DAYS - 5);
    const reply = await deliver(email({ text: "It broke again.", inReplyTo: old.externalId }));
    expect(reply).toMatchObject({ ticketId: old.ticketId, threaded: true });
    await flushRoom("acc_demo", old.ticketId);
    expect(await ticketRow(old.ticketId)).toMatchObject({ status: "open", closed_at: null });
    expect((await messagesOf(old.ticketId)).map((m) => m.seq)).toEqual([1, 2]);
  });

  it("opens a new ticket for a reply to a ticket closed longer ago than the reopen window", async () => {
    const old = await closedTicketOnShard(REOPEN_WINDOW_DAYS + 5);
    const reply = await deliver(email({ subject: "Re: Old question", text: "Hello again", inReplyTo: old.externalId }));
    expect(reply.threaded).toBe(false);
    expect(reply.ticketId).not.toBe(old.ticketId);
    await flushRoom("acc_demo", reply.ticketId);
    expect(await ticketRow(reply.ticketId)).toMatchObject({ status: "open", subject: "Re: Old question", channel: "email" });
    expect(await ticketRow(old.ticketId)).toMatchObject({ status: "closed" });
    expect((await messagesOf(old.ticketId)).length).toBe(1);
  });

  it("is idempotent: a re-delivered email writes nothing, before or after the room flushed", async () => {
    const payload = email();
    const first = await deliver(payload);
    // Immediately again: the ticket's room still holds it (or has just flushed it).
    const again = await deliver(payload, 200);
    expect(again).toEqual({ duplicate: true, ticketId: first.ticketId });
    await flushRoom("acc_demo", first.ticketId);
    // Same Message-ID without the angle brackets, after the flush.
    const late = await deliver({ ...payload, messageId: payload.messageId.slice(1, -1) }, 200);
    expect(late).toEqual({ duplicate: true, ticketId: first.ticketId });
    expect((await messagesOf(first.ticketId)).length).toBe(1);

    // And for a threaded reply delivered twice in a row: one message, one change.
    const reply = email({ from: payload.from, text: "Reply once", inReplyTo: payload.messageId });
    const threaded = await deliver(reply);
    const repeated = await deliver(reply, 200);
    expect(repeated).toEqual({ duplicate: true, ticketId: first.ticketId });
    expect(threaded.ticketId).toBe(first.ticketId);
    await flushRoom("acc_demo", first.ticketId);
    expect((await messagesOf(first.ticketId)).map((m) => m.body)).toEqual([payload.text, "Reply once"]);
    const room = await ticketRoomStub("acc_demo", first.ticketId).ticket({ accountId: "acc_demo", ticketId: first.ticketId });
    expect(room.ok && room.value.messageCount).toBe(2);
  });

  it("opens one ticket when the same new email arrives several times at once", async () => {
    const payload = email();
    const responses = await Promise.all([1, 2, 3].map(() => postEmail(payload)));
    const answers = await Promise.all(responses.map((response) => readJson<InboundAnswer>(response)));
    expect(responses.map((response) => response.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(answers.map((answer) => answer.ticketId)).size).toBe(1);
    await flushRoom("acc_demo", answers[0]!.ticketId);
    const shard = await shardOf("acc_demo");
    const copies = await shard.client.execute({ sql: "SELECT ticket_id FROM messages WHERE account_id = 'acc_demo' AND external_id = ?", args: [payload.messageId] });
    expect(copies.rows.map((row) => row.ticket_id)).toEqual([answers[0]!.ticketId]);
  });

  it("does not thread into another account's ticket", async () => {
    // tkt_other_teapot's messages are acc_other's; naming one must not reach it.
    const shard = await shardOf("acc_other");
    const foreign = (await shard.client.execute("SELECT external_id FROM messages WHERE ticket_id = 'tkt_other_teapot' AND external_id IS NOT NULL LIMIT 1")).rows[0];
    const externalId = foreign ? String(foreign.external_id) : "<none@other.shop>";
    const answer = await deliver(email({ inReplyTo: externalId }));
    expect(answer.threaded).toBe(false);
    expect(answer.ticketId).not.toBe("tkt_other_teapot");
  });

  it("rejects invalid payloads with 400 and field errors", async () => {
    const cases: [unknown, string[]][] = [
      [{ from: "not an address", to: [], subject: 5, messageId: "has space@x" }, ["from", "messageId", "subject", "to"]],
      [email({ text: "   ", html: undefined }), ["text"]],
      [email({ from: "Bob <bob@>" }), ["from"]],
      [email({ inReplyTo: 42 }), ["inReplyTo"]],
    ];
    for (const [payload, fields] of cases) {
      const response = await postEmail(payload);
      expect(response.status, JSON.stringify(payload)).toBe(400);
      const error = (await readJson(response)).error;
      expect(error.code).toBe("VALIDATION_FAILED");
      expect(Object.keys(error.fields ?? {}).sort()).toEqual(fields);
    }
    const malformed = await postEmail("{nope");
    expect(malformed.status).toBe(400);
  });

  it("rejects non-JSON with 415 and bodies over 1 MB with 413", async () => {
    const plain = await postEmail("from=a", { headers: { "Content-Type": "text/plain" } });
    expect(plain.status).toBe(415);
    expect((await readJson(plain)).error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    const huge = await postEmail(email({ text: "y".repeat(1_100_000) }));
    expect(huge.status).toBe(413);
    expect((await readJson(huge)).error.code).toBe("PAYLOAD_TOO_LARGE");
  });
});
