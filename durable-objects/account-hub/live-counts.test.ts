import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { count } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { viewCountKey } from "../../protocol/index.ts";
import { tickets, type ViewFilter } from "../../schema/tables.ts";
import type { AgentIdentity } from "../../worker/auth/identity.ts";
import { tokenFor } from "../../worker/test-support/live-client.ts";
import { createReadFixture, type ReadFixture } from "../../worker/test-support/read-fixture.ts";
import { viewFilterCondition } from "../../worker/views/filter.ts";
import { roomName } from "../ticket-room/room-api.ts";

// Live view counts must be exact: after any run of ticket changes through the rooms, every
// count in the hub equals a COUNT(*) with the same filter on the shard.

let fx: ReadFixture;
const HOUR = 3_600_000;

interface TestView {
  id: string;
  filter: ViewFilter;
  ownerAgentId: string | null;
}
let testViews: TestView[];

function hub() {
  return env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(fx.accountId));
}

function room(ticketId: string) {
  return env.TICKET_ROOM.get(env.TICKET_ROOM.idFromName(roomName({ accountId: fx.accountId, ticketId })));
}

async function api(who: AgentIdentity, method: string, path: string, body?: unknown): Promise<Response> {
  return SELF.fetch(`http://hub.test${path}`, {
    method,
    headers: { Authorization: `Bearer ${await tokenFor(who)}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** What every count should be, asked of the shard. */
async function shardCounts(now: number): Promise<Record<string, number>> {
  const expected: Record<string, number> = {};
  for (const view of testViews) {
    const perAgent = view.filter.assignee === "me";
    const viewers = perAgent ? (view.ownerAgentId ? [view.ownerAgentId] : [fx.agent.agentId, fx.admin.agentId]) : [view.ownerAgentId ?? ""];
    for (const agentId of viewers) {
      const row = await fx.shard.db.select({ n: count() }).from(tickets).where(viewFilterCondition(view.filter, agentId, fx.accountId, now)).get();
      if (row && row.n > 0) expected[viewCountKey(view.id, perAgent, agentId)] = row.n;
    }
  }
  return expected;
}

async function settle(ticketIds: Iterable<string>): Promise<void> {
  for (const ticketId of new Set(ticketIds)) {
    const stub = room(ticketId);
    await stub.flush();
    expect(await stub.pendingChanges()).toBe(0);
  }
}

beforeAll(async () => {
  fx = await createReadFixture("counts");
  const v = (key: string) => `view_counts_${fx.accountId}_${key}`;
  testViews = [
    { id: v("open"), filter: { status: ["open"] }, ownerAgentId: null },
    { id: v("mine"), filter: { assignee: "me", status: ["open", "pending"] }, ownerAgentId: null },
    { id: v("unassigned"), filter: { assignee: "unassigned", status: ["open", "pending"] }, ownerAgentId: null },
    { id: v("tagged"), filter: { tagIds: [fx.tagIds[0], fx.tagIds[2]] }, ownerAgentId: null },
    { id: v("team"), filter: { teamId: fx.teamId, status: ["open", "pending", "snoozed"] }, ownerAgentId: null },
    { id: v("urgent"), filter: { priority: ["urgent", "high"], channel: ["email", "chat"] }, ownerAgentId: null },
    { id: v("private"), filter: { channel: ["email"], status: ["open"] }, ownerAgentId: fx.agent.agentId },
    { id: v("recent"), filter: { updatedWithinHours: 24, status: ["open", "pending"] }, ownerAgentId: null },
    { id: v("admin-mine"), filter: { assignee: "me" }, ownerAgentId: fx.admin.agentId },
  ];
  await fx.shard.client.batch(
    testViews.map((view, position) => ({
      sql: "INSERT INTO views (id, account_id, name, filter, position, owner_agent_id) VALUES (?, ?, ?, ?, ?, ?)",
      args: [view.id, fx.accountId, view.id, JSON.stringify(view.filter), position, view.ownerAgentId],
    })),
    "write",
  );
  await hub().reloadConfig(fx.accountId);
});

afterAll(async () => {
  await fx.shard.client.execute({ sql: "DELETE FROM views WHERE account_id = ?", args: [fx.accountId] });
  await fx.drop();
});

describe("live view counts", () => {
  it("start from the shard: tickets written before the hub knew of them are counted", async () => {
    const now = Date.now();
    expect(await hub().viewCounts()).toEqual(await shardCounts(now));
    expect(Object.keys(await hub().viewCounts()).length).toBeGreaterThan(5);
  });

  it("equal COUNT(*) on the shard after every batch of a few thousand random changes", async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const ticketIds = fx.tickets.map((ticket) => ticket.id);
    const agents = [fx.agent, fx.admin];
    const patchOf = (): Record<string, unknown> => {
      switch (Math.floor(random() * 6)) {
        case 0:
          return { status: pick(["open", "pending", "closed"]) };
        case 1:
          return { assigneeId: pick([null, fx.agent.agentId, fx.admin.agentId]) };
        case 2:
          return { tagIds: fx.tagIds.filter(() => random() < 0.4) };
        case 3:
          return { priority: pick(["low", "normal", "high", "urgent"]) };
        case 4:
          return { teamId: pick([null, fx.teamId]) };
        default:
          return { status: "snoozed", snoozedUntil: Date.now() + 48 * HOUR };
      }
    };
    let changes = 0;
    for (let batch = 0; batch < 20; batch++) {
      const touched: string[] = [];
      const requests: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) {
        if (random() < 0.03) {
          requests.push(
            api(pick(agents), "POST", "/api/tickets", {
              customer: { email: `counts.${batch}.${i}@example.com` },
              subject: `Batch ${batch}`,
              body: "new",
              ...(random() < 0.5 ? { teamId: fx.teamId } : {}),
            }).then(async (response) => {
              expect(response.status).toBe(201);
              const id = ((await response.json()) as { ticket: { id: string } }).ticket.id;
              ticketIds.push(id);
              touched.push(id);
            }),
          );
          continue;
        }
        const ticketId = pick(ticketIds);
        touched.push(ticketId);
        requests.push(
          api(pick(agents), "PATCH", `/api/tickets/${ticketId}`, patchOf()).then((response) => {
            expect(response.status).toBe(200);
          }),
        );
      }
      await Promise.all(requests);
      changes += requests.length;
      await settle(touched);
      const now = Date.now();
      expect(await hub().viewCounts(), `after batch ${batch}`).toEqual(await shardCounts(now));
    }
    expect(changes).toBe(2_000);
  }, 120_000);

  it("come back exact after a restart, and the periodic check repairs a change no report told of", async () => {
    const { evictDurableObject } = await import("cloudflare:test");
    await evictDurableObject(hub());
    expect(await hub().viewCounts()).toEqual(await shardCounts(Date.now()));
    // A ticket changed behind the rooms' back (what a lost report would look like).
    const victim = fx.tickets[0]!.id;
    await fx.shard.client.execute({
      sql: "UPDATE tickets SET status = 'open', assignee_id = NULL, version = version + 1000, updated_at = ? WHERE id = ?",
      args: [Date.now(), victim],
    });
    expect(await hub().viewCounts()).not.toEqual(await shardCounts(Date.now()));
    await runInDurableObject(hub(), (_instance, state) => {
      // Make the periodic check due now.
      state.storage.sql.exec("UPDATE hub_meta SET value = '0' WHERE key = 'synced_at'");
    });
    // The alarm's check only runs while someone is connected: the socket arms it for now.
    const { LiveTestClient } = await import("../../worker/test-support/live-client.ts");
    const client = await LiveTestClient.openAs(fx.agent);
    await runDurableObjectAlarm(hub()); // unless it already ran by itself
    const expected = await shardCounts(Date.now());
    const deadline = Date.now() + 5_000;
    const canonical = (counts: Record<string, number>) => JSON.stringify(Object.entries(counts).sort());
    while (canonical(await hub().viewCounts()) !== canonical(expected) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await hub().viewCounts()).toEqual(expected);
    client.close();
  });
});
