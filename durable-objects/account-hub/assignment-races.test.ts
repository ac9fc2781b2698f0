import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { AgentIdentity } from "../../worker/auth/identity.ts";
import { LiveTestClient, readJson, tokenFor } from "../../worker/test-support/live-client.ts";
import { createReadFixture, type ReadFixture } from "../../worker/test-support/read-fixture.ts";
import { roomName, type TicketRef } from "../ticket-room/room-api.ts";
import type { TicketRecord } from "../ticket-room/ticket-record.ts";
import type { AccountHub, RoutingRoom } from "./account-hub.ts";

// Auto-assignment while the world moves: the hub awaits each room's answer, and meanwhile
// agents change availability, reports arrive late or after the periodic check. The rooms are
// stood in for (the hub's `roomFor` seam), so each test decides exactly when what happens.

type Call = { kind: "assign" | "release"; ticketId: string; agentId: string };

const fixtures: ReadFixture[] = [];
const sockets: LiveTestClient[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  for (const fx of fixtures.splice(0)) {
    await fx.shard.client.execute({ sql: "DELETE FROM account_settings WHERE account_id = ?", args: [fx.accountId] });
    await fx.drop();
  }
});

/** An account with no open ticket and the fixture agent alone in the team. */
async function quietAccount(label: string): Promise<ReadFixture> {
  const fx = await createReadFixture(label);
  fixtures.push(fx);
  await fx.shard.client.batch(
    [
      { sql: "UPDATE tickets SET status = 'closed' WHERE account_id = ?", args: [fx.accountId] },
      { sql: "INSERT INTO team_members (account_id, team_id, agent_id) VALUES (?, ?, ?)", args: [fx.accountId, fx.teamId, fx.agent.agentId] },
      {
        sql: "INSERT OR IGNORE INTO account_settings (account_id, webhook_secret, business_hours, updated_at) VALUES (?, 'races-secret', '{}', ?)",
        args: [fx.accountId, Date.now()],
      },
    ],
    "write",
  );
  return fx;
}

async function api(who: AgentIdentity, method: string, path: string, body?: unknown): Promise<Response> {
  return SELF.fetch(`http://hub.test${path}`, {
    method,
    headers: { Authorization: `Bearer ${await tokenFor(who)}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function hubOf(fx: ReadFixture): DurableObjectStub<AccountHub> {
  return env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(fx.accountId));
}

function roomOf(fx: ReadFixture, ticketId: string) {
  return env.TICKET_ROOM.get(env.TICKET_ROOM.idFromName(roomName({ accountId: fx.accountId, ticketId })));
}

/** A waiting ticket of the team, on the shard and in the hub's index (through its room). */
async function waitingTicket(fx: ReadFixture, channel: "chat" | "api"): Promise<string> {
  let ticketId: string;
  if (channel === "chat") {
    ticketId = `tkt_race_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const created = await roomOf(fx, ticketId).create(
      { id: ticketId, accountId: fx.accountId, customerId: fx.customerIds[0], channel: "chat", subject: "Live chat", teamId: fx.teamId },
      { id: `msg_${crypto.randomUUID().replace(/-/g, "")}`, authorKind: "customer", authorId: fx.customerIds[0], body: "Hi!" },
      { kind: "customer", id: fx.customerIds[0] },
    );
    expect(created.ok).toBe(true);
  } else {
    const response = await api(fx.admin, "POST", "/api/tickets", {
      customer: { email: `race.${crypto.randomUUID().slice(0, 8)}@example.com` },
      subject: "Needs routing",
      body: "Hello",
      teamId: fx.teamId,
    });
    expect(response.status).toBe(201);
    ticketId = (await readJson<{ ticket: { id: string } }>(response)).ticket.id;
  }
  await roomOf(fx, ticketId).flush();
  expect(await hubOf(fx).reportedVersion(ticketId)).not.toBeNull();
  return ticketId;
}

/**
 * Stands in for the rooms: records every call, answers "assigned" / "released" without
 * touching the real room (as if the room's report were still on its way), and runs `during`
 * while the hub awaits the answer.
 */
async function fakeRooms(fx: ReadFixture, during: (call: Call, n: number) => Promise<void> = async () => {}): Promise<Call[]> {
  const calls: Call[] = [];
  await runInDurableObject(hubOf(fx), (instance: AccountHub) => {
    const fake = (): RoutingRoom => ({
      async autoAssign(ref: TicketRef, agentId: string) {
        const call: Call = { kind: "assign", ticketId: ref.ticketId, agentId };
        calls.push(call);
        await during(call, calls.length);
        return { ok: true, value: { assigned: true } };
      },
      async releaseAssignment(ref: TicketRef, agentId: string) {
        const call: Call = { kind: "release", ticketId: ref.ticketId, agentId };
        calls.push(call);
        await during(call, calls.length);
        return { ok: true, value: { assigned: true } };
      },
    });
    (instance as unknown as { roomFor: () => RoutingRoom }).roomFor = fake;
  });
  return calls;
}

describe("auto-assignment races", () => {
  it("re-checks availability before each assignment: an agent who turns busy meanwhile gets nothing more", async () => {
    const fx = await quietAccount("busy");
    const chats = [await waitingTicket(fx, "chat"), await waitingTicket(fx, "chat"), await waitingTicket(fx, "chat")];
    // While the hub awaits the first room's answer, the agent turns busy.
    const calls = await fakeRooms(fx, async (_call, n) => {
      if (n === 1) expect((await api(fx.agent, "PUT", "/api/me/availability", { status: "busy" })).status).toBe(200);
    });
    sockets.push(await LiveTestClient.openAs(fx.agent));
    await hubOf(fx).assignmentsInFlight();
    expect(calls.filter((call) => call.kind === "assign")).toHaveLength(1);
    expect(chats).toContain(calls[0]!.ticketId);
  });

  it("takes back chats whose assignment is still on its way when the agent stops being available", async () => {
    const fx = await quietAccount("release");
    expect((await api(fx.admin, "PATCH", "/api/settings/routing", { unassignChatsWhenUnavailable: true })).status).toBe(200);
    const chat = await waitingTicket(fx, "chat");
    const calls = await fakeRooms(fx);
    sockets.push(await LiveTestClient.openAs(fx.agent));
    expect(await hubOf(fx).assignmentsInFlight()).toEqual({ [chat]: fx.agent.agentId });

    expect((await api(fx.agent, "PUT", "/api/me/availability", { status: "away" })).status).toBe(200);
    await hubOf(fx).assignmentsInFlight();
    expect(calls).toEqual([
      { kind: "assign", ticketId: chat, agentId: fx.agent.agentId },
      { kind: "release", ticketId: chat, agentId: fx.agent.agentId },
    ]);
    // Taken back: it no longer counts against the agent.
    expect(await hubOf(fx).assignmentsInFlight()).toEqual({});
  });

  it("forgets an assignment the periodic check saw land before its report, so it does not count twice against capacity", async () => {
    const fx = await quietAccount("skipped");
    expect((await api(fx.admin, "PATCH", `/api/agents/${fx.agent.agentId}`, { ticketCapacity: 2 })).status).toBe(200);
    const first = await waitingTicket(fx, "api");
    // The room takes the assignment and the shard has it, but its report is late.
    const calls = await fakeRooms(fx, async (call) => {
      if (call.kind !== "assign" || call.ticketId !== first) return;
      await fx.shard.client.execute({
        sql: "UPDATE tickets SET assignee_id = ?, version = version + 1, updated_at = ? WHERE id = ?",
        args: [fx.agent.agentId, Date.now(), first],
      });
    });
    sockets.push(await LiveTestClient.openAs(fx.agent));
    expect(await hubOf(fx).assignmentsInFlight()).toEqual({ [first]: fx.agent.agentId });

    // The periodic check against the shard runs first...
    await runInDurableObject(hubOf(fx), (_instance, state) => {
      state.storage.sql.exec("UPDATE hub_meta SET value = '0' WHERE key = 'synced_at'");
    });
    await runDurableObjectAlarm(hubOf(fx));
    const onShard = (await roomOf(fx, first).ticket({ accountId: fx.accountId, ticketId: first })) as { ok: true; value: TicketRecord };
    const landed: TicketRecord = { ...onShard.value, assigneeId: fx.agent.agentId, version: onShard.value.version + 1 };
    expect(await hubOf(fx).reportedVersion(first)).toBe(landed.version);
    // ...then the late report arrives, and is skipped as already seen.
    await hubOf(fx).reportTicketChanges([
      {
        ticketId: first,
        version: landed.version,
        before: onShard.value,
        after: landed,
        changes: [{ version: landed.version, actor: { kind: "system", id: null }, message: null, assigneeId: fx.agent.agentId }],
      },
    ]);
    expect(await hubOf(fx).assignmentsInFlight()).toEqual({});

    // One open ticket of two: a second one still fits.
    const second = await waitingTicket(fx, "api");
    await hubOf(fx).assignmentsInFlight();
    expect(calls.filter((call) => call.kind === "assign").map((call) => call.ticketId)).toEqual([first, second]);
  });
});
