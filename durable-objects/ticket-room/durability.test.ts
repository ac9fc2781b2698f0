import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { accountHub } from "../../worker/live/hub.ts";
import { loginToken, readJson } from "../../worker/test-support/live-client.ts";
import { shardOf } from "../../worker/test-support/shard.ts";
import { roomName, type TicketRef } from "./room-api.ts";
import type { TicketRoom } from "./ticket-room.ts";

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

/** Flushes, then lets the tidy-up alarm run, so the room is quiet with no alarm set. */
async function quiet(ref: TicketRef): Promise<void> {
  const stub = room(ref);
  await stub.flush();
  expect(await stub.pendingChanges()).toBe(0);
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
