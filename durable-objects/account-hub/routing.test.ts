import { env, SELF } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as Y from "yjs";
import { InboxDoc, type InboxNotification } from "../../protocol/index.ts";
import type { AgentIdentity } from "../../worker/auth/identity.ts";
import { LiveTestClient, readJson, tokenFor, waitFor } from "../../worker/test-support/live-client.ts";
import { createReadFixture, type ReadFixture } from "../../worker/test-support/read-fixture.ts";
import { roomName } from "../ticket-room/room-api.ts";
import type { TicketRecord } from "../ticket-room/ticket-record.ts";

// Auto-assignment and notifications, end to end: tickets through the API and the rooms,
// decisions in the hub, results on the shard and in the inbox document.

let fx: ReadFixture;

beforeAll(async () => {
  fx = await createReadFixture("routing");
  // Start from a quiet inbox: every fixture ticket closed before the hub first looks.
  await fx.shard.client.batch(
    [
      { sql: "UPDATE tickets SET status = 'closed' WHERE account_id = ?", args: [fx.accountId] },
      {
        sql: "INSERT INTO team_members (account_id, team_id, agent_id) VALUES (?, ?, ?), (?, ?, ?)",
        args: [fx.accountId, fx.teamId, fx.agent.agentId, fx.accountId, fx.teamId, fx.admin.agentId],
      },
    ],
    "write",
  );
});

afterAll(async () => {
  await fx.shard.client.execute({ sql: "DELETE FROM account_settings WHERE account_id = ?", args: [fx.accountId] });
  await fx.shard.client.execute({ sql: "DELETE FROM view_follows WHERE account_id = ?", args: [fx.accountId] });
  await fx.shard.client.execute({ sql: "DELETE FROM views WHERE account_id = ?", args: [fx.accountId] });
  await fx.drop();
});

async function api(who: AgentIdentity, method: string, path: string, body?: unknown): Promise<Response> {
  return SELF.fetch(`http://hub.test${path}`, {
    method,
    headers: { Authorization: `Bearer ${await tokenFor(who)}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function room(ticketId: string) {
  return env.TICKET_ROOM.get(env.TICKET_ROOM.idFromName(roomName({ accountId: fx.accountId, ticketId })));
}

function hub() {
  return env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(fx.accountId));
}

async function createTicket(who: AgentIdentity, patch: Record<string, unknown> = {}): Promise<string> {
  const response = await api(who, "POST", "/api/tickets", {
    customer: { email: `routing.${crypto.randomUUID().slice(0, 8)}@example.com` },
    subject: "Needs routing",
    body: "Hello",
    ...patch,
  });
  expect(response.status).toBe(201);
  return (await readJson<{ ticket: { id: string } }>(response)).ticket.id;
}

async function ticketsOnShard(ids: readonly string[]) {
  const rows = await fx.shard.client.execute({
    sql: `SELECT id, assignee_id, priority, version, created_at FROM tickets WHERE id IN (${ids.map(() => "?").join(",")})`,
    args: [...ids],
  });
  return rows.rows.map((row) => ({ id: String(row.id), assigneeId: row.assignee_id === null ? null : String(row.assignee_id), priority: String(row.priority), version: Number(row.version) }));
}

/** Waits until every room is flushed and the assignments stop changing. */
async function settled(ids: readonly string[]) {
  let previous = "";
  for (let round = 0; round < 50; round++) {
    for (const id of ids) await room(id).flush();
    const now = JSON.stringify(await ticketsOnShard(ids));
    if (now === previous) return JSON.parse(now) as Awaited<ReturnType<typeof ticketsOnShard>>;
    previous = now;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("assignments did not settle");
}

describe("auto-assignment", () => {
  it("serves 50 tickets created at once by priority, within each agent's capacity, each assigned once", async () => {
    // Nobody is online yet: nothing can be assigned.
    const ids = await Promise.all(
      Array.from({ length: 50 }, (_, i) => createTicket(fx.admin, { teamId: fx.teamId, priority: i % 5 === 0 ? "urgent" : "normal" })),
    );
    expect((await settled(ids)).every((ticket) => ticket.assigneeId === null)).toBe(true);

    const agentTab = await LiveTestClient.openAs(fx.agent);
    const adminTab = await LiveTestClient.openAs(fx.admin);
    const after = await settled(ids);
    const assigned = after.filter((ticket) => ticket.assigneeId !== null);
    // Default capacity: 5 non-chat tickets each; the 10 urgent ones first.
    expect(assigned.filter((t) => t.assigneeId === fx.agent.agentId)).toHaveLength(5);
    expect(assigned.filter((t) => t.assigneeId === fx.admin.agentId)).toHaveLength(5);
    expect(assigned.every((t) => t.priority === "urgent")).toBe(true);
    // Created (1), first message (2), assigned once (3): never reassigned.
    expect(assigned.every((t) => t.version === 3)).toBe(true);

    // A busy agent gets nothing more; a freed slot of an available one is filled at once.
    expect((await api(fx.admin, "PUT", "/api/me/availability", { status: "busy" })).status).toBe(200);
    const [adminsFirst] = assigned.filter((t) => t.assigneeId === fx.admin.agentId);
    const [agentsFirst] = assigned.filter((t) => t.assigneeId === fx.agent.agentId);
    expect((await api(fx.admin, "PATCH", `/api/tickets/${adminsFirst!.id}`, { status: "closed" })).status).toBe(200);
    expect((await api(fx.agent, "PATCH", `/api/tickets/${agentsFirst!.id}`, { status: "closed" })).status).toBe(200);
    const later = await settled(ids);
    expect(later.filter((t) => t.assigneeId === fx.admin.agentId)).toHaveLength(5); // 4 open + the closed one
    expect(later.filter((t) => t.assigneeId === fx.agent.agentId)).toHaveLength(6); // 5 open + the closed one
    const newest = later.find((t) => t.assigneeId === fx.agent.agentId && !assigned.some((a) => a.id === t.id));
    expect(newest?.priority).toBe("normal");

    // Back to available: the admin's free slot is filled too.
    expect((await api(fx.admin, "PUT", "/api/me/availability", { status: "available" })).status).toBe(200);
    expect((await settled(ids)).filter((t) => t.assigneeId === fx.admin.agentId)).toHaveLength(6);
    agentTab.close();
    adminTab.close();
  });
});

describe("taking chats back", () => {
  it("returns an agent's open chats to the queue when the agent stops being available, if the account wants it", async () => {
    await fx.shard.client.execute({
      sql: "INSERT OR IGNORE INTO account_settings (account_id, webhook_secret, business_hours, updated_at) VALUES (?, 'routing-test-secret', '{}', ?)",
      args: [fx.accountId, Date.now()],
    });
    expect((await api(fx.agent, "PATCH", "/api/settings/routing", { unassignChatsWhenUnavailable: true })).status).toBe(403);
    expect((await api(fx.admin, "PATCH", "/api/settings/routing", { unassignChatsWhenUnavailable: "yes" })).status).toBe(400);
    expect((await api(fx.admin, "PATCH", "/api/settings/routing", { unassignChatsWhenUnavailable: true })).status).toBe(200);
    expect((await api(fx.admin, "PUT", "/api/me/availability", { status: "busy" })).status).toBe(200);
    const agentTab = await LiveTestClient.openAs(fx.agent);

    const ticketId = `tkt_chat_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const ref = { accountId: fx.accountId, ticketId };
    const created = await room(ticketId).create(
      { id: ticketId, accountId: fx.accountId, customerId: fx.customerIds[0], channel: "chat", subject: "Live chat", teamId: fx.teamId },
      { id: `msg_${crypto.randomUUID().replace(/-/g, "")}`, authorKind: "customer", authorId: fx.customerIds[0], body: "Hi!" },
      { kind: "customer", id: fx.customerIds[0] },
    );
    expect(created.ok).toBe(true);
    expect((await settled([ticketId]))[0]?.assigneeId).toBe(fx.agent.agentId);

    expect((await api(fx.agent, "PUT", "/api/me/availability", { status: "away" })).status).toBe(200);
    expect((await settled([ticketId]))[0]?.assigneeId).toBeNull();
    const ticket = await room(ticketId).ticket(ref);
    expect(ticket.ok && ticket.value.assigneeId).toBeNull();
    agentTab.close();
    expect((await api(fx.admin, "PUT", "/api/me/availability", { status: "available" })).status).toBe(200);
    expect((await api(fx.agent, "PUT", "/api/me/availability", { status: "available" })).status).toBe(200);
  });
});

describe("notifications", () => {
  it("reach the agent once each: a new ticket in a followed view, an assignment, a customer reply", async () => {
    const viewId = `view_routing_${fx.accountId}`;
    await fx.shard.client.execute({
      sql: "INSERT INTO views (id, account_id, name, filter, position) VALUES (?, ?, 'Email', ?, 0)",
      args: [viewId, fx.accountId, JSON.stringify({ channel: ["api"], status: ["open"] })],
    });
    const followed = await api(fx.agent, "PATCH", "/api/me/preferences", { followedViewIds: [viewId] });
    expect(followed.status).toBe(200);
    expect((await api(fx.agent, "PATCH", "/api/me/preferences", { followedViewIds: ["view_nope"] })).status).toBe(400);

    const tab = await LiveTestClient.openAs(fx.agent);
    const mine = () => tab.doc.getMap<Y.Array<InboxNotification>>(InboxDoc.notifications).get(fx.agent.agentId)?.toArray() ?? [];
    await waitFor(() => tab.doc.getMap(InboxDoc.agents).has(fx.agent.agentId), "the first sync");
    const about = (ticketId: string) => mine().filter((n) => n.ticketId === ticketId).map((n) => n.kind);

    const ticketId = await createTicket(fx.admin);
    await room(ticketId).flush();
    await waitFor(() => about(ticketId).length === 1, "a new-ticket notification");
    expect(mine().find((n) => n.ticketId === ticketId)).toMatchObject({ kind: "new_ticket", viewId });

    expect((await api(fx.admin, "PATCH", `/api/tickets/${ticketId}`, { assigneeId: fx.agent.agentId })).status).toBe(200);
    await room(ticketId).flush();
    await waitFor(() => about(ticketId).length === 2, "an assignment notification");

    const ref = { accountId: fx.accountId, ticketId };
    const customerId = (await room(ticketId).ticket(ref)) as { ok: true; value: TicketRecord };
    await room(ticketId).addMessage(ref, { id: `msg_${crypto.randomUUID().replace(/-/g, "")}`, authorKind: "customer", authorId: customerId.value.customerId, body: "Any news?" }, { kind: "customer", id: customerId.value.customerId });
    await room(ticketId).flush();
    await waitFor(() => about(ticketId).length === 3, "a customer-reply notification");
    expect(about(ticketId)).toEqual(["new_ticket", "assigned", "customer_reply"]);

    // A report the hub already applied (a retried flush) notifies nobody again.
    const current = customerId.value;
    await hub().reportTicketChanges([
      { ticketId, version: 3, before: null, after: { ...current, version: 3 }, changes: [{ version: 1, actor: null, message: null, assigneeId: null }] },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(about(ticketId)).toEqual(["new_ticket", "assigned", "customer_reply"]);
    // Seqs count up per agent, so "read up to" is one number.
    const seqs = mine().map((n) => n.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const read = await api(fx.agent, "POST", "/api/me/notifications/read", { seq: seqs.at(-1) });
    expect(read.status).toBe(204);
    await waitFor(() => tab.doc.getMap<number>(InboxDoc.notificationsRead).get(fx.agent.agentId) === seqs.at(-1), "read mark");
    tab.close();
  });
});
