import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { shardStatements } from "../../durable-objects/ticket-room/shard-writes.ts";
import { loginToken, readJson } from "../test-support/live-client.ts";
import { shardOf } from "../test-support/shard.ts";
import { channelsRequest, flushRoom, postEmail, postSms, ticketRoomStub, unique, type InboundAnswer } from "../test-support/channels-app.ts";
import type { TicketRoom } from "../../durable-objects/ticket-room/ticket-room.ts";
import type { DeliveryProvider } from "./delivery.ts";

let ana: string;

beforeAll(async () => {
  ana = await loginToken("ana@demo.shop");
});

async function inboundEmail(subject = "Sizing question") {
  const local = unique("cust");
  const response = await postEmail({
    from: `Cora Customer <${local}@example.com>`,
    to: "support@demo.shop",
    subject,
    text: "Does the M fit a 100 cm chest?",
    messageId: `<${local}@mail.example.com>`,
  });
  expect(response.status).toBe(201);
  return { ...(await readJson<InboundAnswer>(response)), address: `${local}@example.com` };
}

function agentPost(path: string, body: unknown) {
  return channelsRequest(`/api/tickets${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ana}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function reply(ticketId: string, body: string): Promise<string> {
  const response = await agentPost(`/${ticketId}/replies`, { body });
  expect(response.status).toBe(201);
  return (await readJson<{ message: { id: string } }>(response)).message.id;
}

async function deliveriesOf(ticketId: string) {
  const shard = await shardOf("acc_demo");
  const rows = await shard.client.execute({ sql: "SELECT * FROM outbound_deliveries WHERE ticket_id = ? ORDER BY created_at, id", args: [ticketId] });
  return rows.rows.map((row) => ({ ...row }));
}

describe("outbound delivery of agent replies", () => {
  it("records one email delivery to the customer per reply, even when the flush runs again or is replayed", async () => {
    const ticket = await inboundEmail();
    const messageId = await reply(ticket.ticketId, "Yes, it does.");
    const stub = ticketRoomStub("acc_demo", ticket.ticketId);
    await stub.flush();
    await stub.flush();
    expect(await stub.pendingChanges()).toBe(0);

    const rows = await deliveriesOf(ticket.ticketId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      account_id: "acc_demo",
      message_id: messageId,
      channel: "email",
      to_address: ticket.address,
      subject: "Re: Sizing question",
      body: "Yes, it does.",
      provider: "dev-mailbox",
      // The room hands the row to the provider right after its flush.
      status: "sent",
    });

    // A flush retried after it had landed (e.g. a timeout) replays the same outbox entry.
    const current = await stub.ticket({ accountId: "acc_demo", ticketId: ticket.ticketId });
    if (!current.ok) throw new Error("ticket missing");
    const replay = shardStatements([
      {
        seq: 1,
        version: current.value.version,
        before: null,
        after: current.value,
        message: null,
        delivery: { id: unique("dlv_"), messageId, channel: "email", toAddress: ticket.address, subject: "Re: Sizing question", body: "Yes, it does.", provider: "dev-mailbox" },
      },
    ]);
    await (await shardOf("acc_demo")).client.batch(replay, "write");
    expect(await deliveriesOf(ticket.ticketId)).toHaveLength(1);

    // A second reply is a second delivery.
    await reply(ticket.ticketId, "Anything else?");
    await flushRoom("acc_demo", ticket.ticketId);
    expect((await deliveriesOf(ticket.ticketId)).map((row) => row.body)).toEqual(["Yes, it does.", "Anything else?"]);
  });

  it("threads a customer's answer to an outbound email that carried our message id as its Message-ID", async () => {
    const ticket = await inboundEmail("Threading by our id");
    const messageId = await reply(ticket.ticketId, "Which colour?");
    await flushRoom("acc_demo", ticket.ticketId);
    const local = unique("answer");
    const response = await postEmail({
      from: ticket.address,
      to: "support@demo.shop",
      subject: "Re: Threading by our id",
      text: "Blue, please.",
      messageId: `<${local}@mail.example.com>`,
      inReplyTo: `<${messageId}@demo.shop>`,
    });
    expect(response.status).toBe(201);
    expect(await readJson<InboundAnswer>(response)).toMatchObject({ ticketId: ticket.ticketId, threaded: true });
  });

  it("sends SMS replies to the customer's phone, and nothing for notes or API tickets", async () => {
    const from = `+1555${[...crypto.getRandomValues(new Uint8Array(8))].map((b) => b % 10).join("")}`;
    const sms = await postSms({ From: from, To: "+15550100999", Body: "Is it in stock?", MessageSid: unique("SM") });
    expect(sms.status).toBe(201);
    const smsTicket = (await readJson<InboundAnswer>(sms)).ticketId;
    await reply(smsTicket, "Yes!");
    const note = await agentPost(`/${smsTicket}/notes`, { body: "internal only" });
    expect(note.status).toBe(201);
    await flushRoom("acc_demo", smsTicket);
    expect((await deliveriesOf(smsTicket)).map((row) => [row.channel, row.to_address, row.subject, row.body])).toEqual([["sms", from, null, "Yes!"]]);

    const created = await agentPost("", { customer: { email: `${unique("api")}@example.com` }, subject: "API ticket", body: "hi" });
    expect(created.status).toBe(201);
    const apiTicket = (await readJson<{ ticket: { id: string } }>(created)).ticket.id;
    await reply(apiTicket, "Hello over the API");
    await flushRoom("acc_demo", apiTicket);
    expect(await deliveriesOf(apiTicket)).toEqual([]);
  });

  it("hands the delivery to the provider once the flush has landed it, and never again", async () => {
    const ticket = await inboundEmail("Dispatch me");
    const stub = ticketRoomStub("acc_demo", ticket.ticketId);
    const provider = await fakeProvider(stub, []);
    await reply(ticket.ticketId, "First");
    await flushRoom("acc_demo", ticket.ticketId);
    expect((await deliveriesOf(ticket.ticketId)).map((row) => row.status)).toEqual(["sent"]);
    await stub.flush();
    await runDurableObjectAlarm(stub);
    expect(provider.calls).toHaveLength(1);
    expect(await owedDeliveries(stub)).toBe(0);
  });
});

describe("outbound deliveries that fail", () => {
  it("retries a provider that fails 3 times from the room's alarm, with backoff, and delivers once", async () => {
    const ticket = await inboundEmail("Flaky provider");
    const stub = ticketRoomStub("acc_demo", ticket.ticketId);
    const provider = await fakeProvider(stub, ["retry", "retry", "retry"]);
    await reply(ticket.ticketId, "Sorry for the wait");
    await flushRoom("acc_demo", ticket.ticketId);
    expect(provider.calls).toHaveLength(1);
    expect((await deliveriesOf(ticket.ticketId)).map((row) => row.status)).toEqual(["queued"]);
    // Nothing else happens on the ticket: the room's alarm alone retries, later each time.
    let lastWait = 0;
    for (let attempt = 2; attempt <= 4; attempt++) {
      const wait = await dueIn(stub);
      expect(wait).toBeGreaterThan(lastWait);
      lastWait = wait;
      expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).not.toBeNull();
      await makeDueNow(stub);
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      expect(provider.calls).toHaveLength(attempt);
    }
    const rows = await deliveriesOf(ticket.ticketId);
    expect(rows.map((row) => row.status)).toEqual(["sent"]);
    // One delivery id throughout: the provider's idempotency key.
    expect(new Set(provider.calls)).toEqual(new Set([rows[0]!.id]));
    expect(provider.delivered).toEqual([rows[0]!.id]);
    expect(await owedDeliveries(stub)).toBe(0);
    await runDurableObjectAlarm(stub);
    await stub.flush();
    expect(provider.calls).toHaveLength(4);
  });

  it("gives a delivery up after the give-up time: marked failed, and an internal note on the ticket says so", async () => {
    const ticket = await inboundEmail("Provider down for a day");
    const stub = ticketRoomStub("acc_demo", ticket.ticketId);
    const provider = await fakeProvider(stub, Array<Script>(10).fill("retry"));
    await reply(ticket.ticketId, "We refunded you");
    await flushRoom("acc_demo", ticket.ticketId);
    expect(provider.calls).toHaveLength(1);
    // A day has passed since the first attempt.
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE room_deliveries SET first_attempt_at = ?, next_at = 0", Date.now() - 25 * 3600_000);
    });
    await runDurableObjectAlarm(stub);
    await flushRoom("acc_demo", ticket.ticketId);
    expect((await deliveriesOf(ticket.ticketId)).map((row) => row.status)).toEqual(["failed"]);
    const notes = await notesOf(ticket.ticketId);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain(`email reply to ${ticket.address} could not be delivered (2 attempts`);
    expect(await owedDeliveries(stub)).toBe(0);
  });

  it("marks a delivery the provider refuses for good failed at once, with the note", async () => {
    const ticket = await inboundEmail("Bad address");
    const stub = ticketRoomStub("acc_demo", ticket.ticketId);
    await fakeProvider(stub, ["refuse"]);
    await reply(ticket.ticketId, "Hello?");
    await flushRoom("acc_demo", ticket.ticketId);
    expect((await deliveriesOf(ticket.ticketId)).map((row) => row.status)).toEqual(["failed"]);
    expect(await notesOf(ticket.ticketId)).toEqual([expect.stringContaining("400 invalid recipient")]);
  });

  it("after a send whose outcome did not reach the shard, records it without sending again", async () => {
    const ticket = await inboundEmail("Shard failed after the send");
    const stub = ticketRoomStub("acc_demo", ticket.ticketId);
    const provider = await fakeProvider(stub, ["retry"]);
    await reply(ticket.ticketId, "On its way");
    await flushRoom("acc_demo", ticket.ticketId);
    // What the room holds when the provider took it but recording "sent" on the shard failed.
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE room_deliveries SET state = 'sent', next_at = 0");
    });
    await runDurableObjectAlarm(stub);
    expect((await deliveriesOf(ticket.ticketId)).map((row) => row.status)).toEqual(["sent"]);
    expect(provider.calls).toHaveLength(1);
    expect(await owedDeliveries(stub)).toBe(0);
  });
});

type Script = "retry" | "refuse";

/**
 * Replaces the room's provider with one that follows `script` (one outcome per call, then
 * success) and records every call's delivery id. Lives as long as the room's instance.
 */
async function fakeProvider(stub: ReturnType<typeof ticketRoomStub>, script: Script[]) {
  const record = { calls: [] as string[], delivered: [] as string[] };
  const remaining = [...script];
  const provider: DeliveryProvider = {
    name: "dev-mailbox",
    async send(delivery) {
      record.calls.push(delivery.id);
      const next = remaining.shift();
      if (next === "retry") return { ok: false, retryable: true, error: "503 from provider" };
      if (next === "refuse") return { ok: false, retryable: false, error: "400 invalid recipient" };
      record.delivered.push(delivery.id);
      return { ok: true };
    },
  };
  await runInDurableObject(stub, (instance: TicketRoom) => {
    (instance as unknown as { deliveryProvider: () => DeliveryProvider }).deliveryProvider = () => provider;
  });
  return record;
}

function owedDeliveries(stub: ReturnType<typeof ticketRoomStub>): Promise<number> {
  return runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM room_deliveries").one().n);
}

/** How long until the room's owed delivery is due. */
function dueIn(stub: ReturnType<typeof ticketRoomStub>): Promise<number> {
  return runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ at: number }>("SELECT next_at AS at FROM room_deliveries").one().at - Date.now());
}

/** Moves the owed delivery's next attempt to now, so the test need not wait out the backoff. */
function makeDueNow(stub: ReturnType<typeof ticketRoomStub>): Promise<void> {
  return runInDurableObject(stub, (_instance, state) => {
    state.storage.sql.exec("UPDATE room_deliveries SET next_at = 0");
  });
}

async function notesOf(ticketId: string): Promise<string[]> {
  const shard = await shardOf("acc_demo");
  const rows = await shard.client.execute({
    sql: "SELECT body FROM messages WHERE ticket_id = ? AND author_kind = 'system' AND is_internal_note = 1 ORDER BY seq",
    args: [ticketId],
  });
  return rows.rows.map((row) => String(row.body));
}

describe("the dev mailbox page", () => {
  it("lists deliveries newest first, escaped, filtered by account", async () => {
    const ticket = await inboundEmail("Mailbox <b>check</b>");
    const marker = unique("marker");
    await reply(ticket.ticketId, `Older reply ${marker}`);
    await reply(ticket.ticketId, `<script>alert("${marker}")</script> & <img src=x onerror=alert(1)>`);
    await flushRoom("acc_demo", ticket.ticketId);

    const response = await channelsRequest("/dev/mailbox?account=acc_demo", {}, { DEV_MAILBOX: "on" });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(response.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).toContain(`&lt;script&gt;alert(&quot;${marker}&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;`);
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<img");
    expect(html).toContain("Re: Mailbox &lt;b&gt;check&lt;/b&gt;");
    expect(html).toContain(ticket.address);
    expect(html).toContain(ticket.ticketId);
    // Newest first.
    expect(html.indexOf(`alert(&quot;${marker}`)).toBeLessThan(html.indexOf(`Older reply ${marker}`));

    const other = await (await channelsRequest("/dev/mailbox?account=acc_other", {}, { DEV_MAILBOX: "on" })).text();
    expect(other).not.toContain(marker);
    const all = await (await channelsRequest("/dev/mailbox", {}, { DEV_MAILBOX: "on" })).text();
    expect(all).toContain(marker);
  });

  it("is not served unless DEV_MAILBOX is on, and rejects bad filters", async () => {
    expect((await channelsRequest("/dev/mailbox", {}, { DEV_MAILBOX: undefined })).status).toBe(404);
    expect((await channelsRequest("/dev/mailbox", {}, { DEV_MAILBOX: "off" })).status).toBe(404);
    const bad = await channelsRequest("/dev/mailbox?account=%3Cscript%3E", {}, { DEV_MAILBOX: "on" });
    expect(bad.status).toBe(400);
  });
});
