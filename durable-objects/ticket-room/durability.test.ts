import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { accountHub } from "../../worker/live/hub.ts";
import { loginToken, readJson } from "../../worker/test-support/live-client.ts";
import { shardOf } from "../../worker/test-support/shard.ts";
import { roomName, type TicketRef } from "./room-api.ts";
import type { TicketRoom } from "./ticket-room.ts";
import type { AccountWriter } from "../account-writer.ts";
import { flushRoom, postEmail, unique, type InboundAnswer } from "../../worker/test-support/channels-app.ts";

// Fault injection on the write path: the room is stopped at the named point (its flush
// never starts, as after a deploy or a crash), then evicted; what it committed must still
// reach the shard and the hub by itself.

let ana: string;

beforeAll(async () => {
  ana = await loginToken("ana@demo.shop");
});

function room(ref: TicketRef) {
  return env.TICKET_ROOM.get(env.TICKET_ROOM.idFromName(roomName(ref)));
}

async function createTicket(): Promise<TicketRef> {
  const response = await SELF.fetch("http://hub.test/api/tickets", {
    method: "POST",
    headers: { Authorization: `Bearer ${ana}`, "Content-Type": "application/json" },
    body: JSON.stringify({ customer: { email: "durable@example.com" }, subject: "Durability", body: "first" }),
  });
  expect(response.status).toBe(201);
  const { ticket } = await readJson<{ ticket: { id: string } }>(response);
  return { accountId: "acc_demo", ticketId: ticket.id };
}

/** Flushes, then lets the tidy-up alarm of a quiet room run, so no alarm is left set. */
async function quiet(ref: TicketRef): Promise<void> {
  const stub = room(ref);
  await stub.flush();
  expect(await stub.pendingChanges()).toBe(0);
  // A restart forgets the recent commit: the room counts as quiet.
  await evictDurableObject(stub);
  await runDurableObjectAlarm(stub);
  expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBeNull();
}

/** Stops this instance's flushes from starting: what a crash right after the commit leaves. */
function crashBeforeFlush(instance: TicketRoom): void {
  (instance as unknown as { requestFlush: () => void }).requestFlush = () => {};
}

describe("a room stopped between commit and flush", () => {
  it("still lands a customer's message on the shard and in the hub, from the alarm the commit armed", async () => {
    const ref = await createTicket();
    await quiet(ref);
    const stub = room(ref);
    const messageId = `msg_durable_${crypto.randomUUID().slice(0, 8)}`;
    const version = await runInDurableObject(stub, async (instance: TicketRoom) => {
      crashBeforeFlush(instance);
      const result = await instance.addMessage(ref, { id: messageId, authorKind: "customer", authorId: null, body: "thanks!" }, { kind: "customer", id: "cus_x" });
      if (!result.ok) throw new Error(result.message);
      return result.value.ticket.version;
    });
    await evictDurableObject(stub);

    // The commit armed an alarm in the same storage transaction: it survives the eviction.
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    const shard = await shardOf(ref.accountId);
    const stored = await shard.client.execute({ sql: "SELECT body FROM messages WHERE id = ?", args: [messageId] });
    expect(stored.rows.map((row) => row.body)).toEqual(["thanks!"]);
    const ticket = await shard.client.execute({ sql: "SELECT version FROM tickets WHERE id = ?", args: [ref.ticketId] });
    expect(ticket.rows[0]?.version).toBe(version);
    expect(await accountHub(env, ref.accountId).reportedVersion(ref.ticketId)).toBe(version);
    expect(await stub.pendingChanges()).toBe(0);
  });

  it("still lands an agent's close", async () => {
    const ref = await createTicket();
    await quiet(ref);
    const stub = room(ref);
    await runInDurableObject(stub, async (instance: TicketRoom) => {
      crashBeforeFlush(instance);
      const result = await instance.update(ref, { status: "closed" }, { kind: "agent", id: "agt_demo_ana" });
      if (!result.ok) throw new Error(result.message);
    });
    await evictDurableObject(stub);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const shard = await shardOf(ref.accountId);
    const ticket = await shard.client.execute({ sql: "SELECT status FROM tickets WHERE id = ?", args: [ref.ticketId] });
    expect(ticket.rows[0]?.status).toBe("closed");
  });
});

describe("a long hold of large messages", () => {
  it("flushes 400 notes of 100,000 characters each in requests the runtime accepts", async () => {
    const ref = await createTicket();
    await quiet(ref);
    const stub = room(ref);
    const notes = 400;
    // Held (as during an outage or an account move): committed, not flushed.
    await runInDurableObject(stub, async (instance: TicketRoom) => {
      crashBeforeFlush(instance);
      const items = Array.from({ length: notes }, (_, i) => ({ id: `msg_big_${ref.ticketId}_${i}`, body: `${i} ${"x".repeat(100_000)}`, isInternalNote: true }));
      const result = await instance.addAgentMessages(ref, items, "agt_demo_ana");
      if (!result.ok) throw new Error(result.message);
    });
    expect(await stub.pendingChanges()).toBe(notes);
    await evictDurableObject(stub);
    await stub.flush();
    expect(await stub.pendingChanges()).toBe(0);
    const shard = await shardOf(ref.accountId);
    const stored = await shard.client.execute({
      sql: "SELECT count(*) AS n, sum(length(body)) AS chars FROM messages WHERE ticket_id = ? AND is_internal_note = 1",
      args: [ref.ticketId],
    });
    expect(Number(stored.rows[0]!.n)).toBe(notes);
    expect(Number(stored.rows[0]!.chars)).toBeGreaterThan(notes * 100_000);
  }, 120_000);
});

describe("the hub down", () => {
  function writer(accountId: string) {
    return env.ACCOUNT_WRITER.get(env.ACCOUNT_WRITER.idFromName(accountId));
  }

  /** While down, every report the writer sends the hub fails, as an unreachable or overloaded hub's would. */
  async function hubDown(accountId: string, down: boolean): Promise<void> {
    await runInDurableObject(writer(accountId), (instance: AccountWriter) => {
      const seam = instance as unknown as { sendReports?: unknown };
      if (down) seam.sendReports = async () => Promise.reject(new Error("hub unavailable (fault injected)"));
      else delete seam.sendReports;
    });
  }

  it("delays counts, not persistence or delivery: the reports reach the hub once it is back", async () => {
    await hubDown("acc_demo", true);
    try {
      const address = `${unique("hubdown")}@example.com`;
      const inbound = await postEmail({ from: address, to: "support@demo.shop", subject: "Hub down", text: "Hello?", messageId: `<${unique()}@mail.example.com>` });
      expect(inbound.status).toBe(201);
      const { ticketId } = await readJson<InboundAnswer>(inbound);
      const ref = { accountId: "acc_demo", ticketId };
      const reply = await SELF.fetch(`http://hub.test/api/tickets/${ticketId}/replies`, {
        method: "POST",
        headers: { Authorization: `Bearer ${ana}`, "Content-Type": "application/json" },
        body: JSON.stringify({ body: "Here to help" }),
      });
      expect(reply.status).toBe(201);
      // Persistence and delivery go on: the outbox drains, the reply is on the shard and sent.
      await flushRoom("acc_demo", ticketId);
      const shard = await shardOf("acc_demo");
      const sent = await shard.client.execute({ sql: "SELECT status FROM outbound_deliveries WHERE ticket_id = ?", args: [ticketId] });
      expect(sent.rows.map((row) => row.status)).toEqual(["sent"]);
      const current = await room(ref).ticket(ref);
      if (!current.ok) throw new Error(current.message);
      // The hub has not heard, and a retry while it is still down changes nothing.
      expect(await accountHub(env, "acc_demo").reportedVersion(ticketId)).toBeNull();
      await runDurableObjectAlarm(writer("acc_demo"));
      expect(await accountHub(env, "acc_demo").reportedVersion(ticketId)).toBeNull();

      await hubDown("acc_demo", false);
      expect(await runDurableObjectAlarm(writer("acc_demo"))).toBe(true);
      expect(await accountHub(env, "acc_demo").reportedVersion(ticketId)).toBe(current.value.version);
    } finally {
      await hubDown("acc_demo", false);
    }
  });
});
