import { env } from "cloudflare:test";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ShardDb } from "../../schema/shards.ts";
import { tickets, ticketTags, views, type ViewFilter } from "../../schema/tables.ts";
import { accountShard } from "../shards.ts";
import { createReadFixture, SEEDED, type ReadFixture } from "../test-support/read-fixture.ts";
import { ticketMatchesFilter, viewFilterCondition, ViewFilterInput } from "./filter.ts";

const HOUR = 3_600_000;

/**
 * Evaluates the SQL condition and the JS predicate on every ticket of the account, from
 * one consistent read (a batch is a transaction), and returns both verdicts per ticket.
 */
async function bothVerdicts(db: ShardDb, accountId: string, filter: ViewFilter, agentId: string, now: number) {
  const condition = viewFilterCondition(filter, agentId, accountId, now);
  const [rows, links] = await db.batch([
    db
      .select({
        ticket: tickets,
        matched: sql<number>`case when ${condition} then 1 else 0 end`,
      })
      .from(tickets)
      .where(eq(tickets.accountId, accountId)),
    db.select().from(ticketTags).where(eq(ticketTags.accountId, accountId)),
  ]);
  const tagsOf = new Map<string, string[]>();
  for (const link of links) tagsOf.set(link.ticketId, [...(tagsOf.get(link.ticketId) ?? []), link.tagId]);
  return rows.map(({ ticket, matched }) => ({
    id: ticket.id,
    sql: Number(matched) === 1,
    js: ticketMatchesFilter(filter, ticket, tagsOf.get(ticket.id) ?? [], agentId, now),
  }));
}

async function expectAgreement(db: ShardDb, accountId: string, filters: ViewFilter[], agentIds: string[], now: number) {
  let matched = 0;
  let checked = 0;
  for (const filter of filters) {
    for (const agentId of agentIds) {
      const verdicts = await bothVerdicts(db, accountId, filter, agentId, now);
      expect(verdicts.length).toBeGreaterThan(0);
      for (const verdict of verdicts) {
        expect(verdict.js, `${JSON.stringify(filter)} as ${agentId} on ${verdict.id}`).toBe(verdict.sql);
      }
      matched += verdicts.filter((verdict) => verdict.sql).length;
      checked += verdicts.length;
    }
  }
  // The filters are not all trivially true or false.
  expect(matched).toBeGreaterThan(0);
  expect(matched).toBeLessThan(checked);
}

describe("ViewFilterInput", () => {
  it("accepts every criterion", () => {
    const filter = {
      status: ["open", "pending"],
      priority: ["urgent"],
      channel: ["chat", "email"],
      assignee: "me",
      teamId: null,
      tagIds: ["tag_1"],
      aiState: ["handed_over"],
      createdWithinHours: 24,
      updatedWithinHours: 1,
      sort: { field: "priority", direction: "desc" },
    };
    expect(ViewFilterInput.parse(filter)).toEqual(filter);
    expect(ViewFilterInput.parse({})).toEqual({});
    expect(ViewFilterInput.parse({ assignee: "agt_x", teamId: "team_y" })).toEqual({ assignee: "agt_x", teamId: "team_y" });
  });

  it.each([
    [{ status: ["opened"] }, ["status.0"]],
    [{ status: [] }, ["status"]],
    [{ status: "open" }, ["status"]],
    [{ priority: ["asap"], channel: ["fax"] }, ["priority.0", "channel.0"]],
    [{ assignee: "" }, ["assignee"]],
    [{ tagIds: [] }, ["tagIds"]],
    [{ createdWithinHours: 0 }, ["createdWithinHours"]],
    [{ createdWithinHours: 1.5 }, ["createdWithinHours"]],
    [{ updatedWithinHours: 24 * 367 }, ["updatedWithinHours"]],
    [{ sort: { field: "subject", direction: "asc" } }, ["sort.field"]],
    [{ sort: { field: "priority" } }, ["sort.direction"]],
  ])("rejects %j", (filter, paths) => {
    const result = ViewFilterInput.safeParse(filter);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((issue) => issue.path.join(".")).sort()).toEqual([...paths].sort());
  });

  it("rejects unknown criteria", () => {
    const result = ViewFilterInput.safeParse({ status: ["open"], subject: "refund" });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.code).toBe("unrecognized_keys");
  });
});

describe("viewFilterCondition and ticketMatchesFilter agree", () => {
  it("on the seeded tickets, for every seeded view and every seeded agent", async () => {
    const { db } = await accountShard(env, "acc_demo");
    const seeded = await db
      .select()
      .from(views)
      .where(and(eq(views.accountId, "acc_demo"), sql`${views.id} like 'view_demo_%'`));
    expect(seeded.map((view) => view.id).sort()).toEqual(["view_demo_chat", "view_demo_mine", "view_demo_unassigned", "view_demo_urgent"]);
    const agents = [SEEDED.ana.agentId, SEEDED.ben.agentId, SEEDED.ada.agentId];
    await expectAgreement(db, "acc_demo", seeded.map((view) => ViewFilterInput.parse(view.filter)), agents, Date.now());
  });

  it("on the seeded tickets, for every criterion", async () => {
    const { db } = await accountShard(env, "acc_demo");
    const tags = await db.query.tags.findMany({ where: (t, { eq }) => eq(t.accountId, "acc_demo") });
    const byName = (name: string) => tags.find((tag) => tag.name === name)!.id;
    const filters: ViewFilter[] = [
      {},
      { createdWithinHours: 24 * 7 },
      { updatedWithinHours: 48, status: ["closed"] },
      { tagIds: [byName("refund"), byName("vip")] },
      { tagIds: [byName("shipping")], priority: ["high", "urgent"] },
      { teamId: null },
      { teamId: "team_demo_sales", channel: ["email", "chat"] },
      { assignee: "agt_demo_ben" },
      { assignee: "unassigned", aiState: ["answered", "resolved"] },
      { assignee: "me", status: ["open"], updatedWithinHours: 24 * 14 },
    ];
    await expectAgreement(db, "acc_demo", filters, [SEEDED.ana.agentId, SEEDED.ben.agentId], Date.now());
  });

  describe("on a fixture with known values", () => {
    let fx: ReadFixture;
    beforeAll(async () => {
      fx = await createReadFixture("filter");
    });
    afterAll(async () => {
      await fx?.drop();
    });

    it("for every criterion, at several clocks", async () => {
      const db = fx.shard.db;
      const filters: ViewFilter[] = [
        { status: ["open", "snoozed"] },
        { assignee: "me" },
        { assignee: "unassigned", teamId: fx.teamId },
        { assignee: fx.admin.agentId, priority: ["urgent", "normal"] },
        { tagIds: [fx.tagIds[0]] },
        { tagIds: [fx.tagIds[1], fx.tagIds[2]], channel: ["email"] },
        { teamId: null, createdWithinHours: 12 },
        { updatedWithinHours: 3 },
        { createdWithinHours: 5, updatedWithinHours: 5 },
      ];
      for (const now of [fx.now, fx.now + 2 * HOUR, fx.now + 30 * HOUR]) {
        await expectAgreement(db, fx.accountId, filters, [fx.agent.agentId, fx.admin.agentId], now);
      }
    });

    it("puts the window boundary on the same millisecond", async () => {
      const ticket = fx.tickets[4]!;
      const exactly = ticket.createdAt + 5 * HOUR;
      for (const [now, expected] of [
        [exactly, true],
        [exactly + 1, false],
      ] as const) {
        const verdicts = await bothVerdicts(fx.shard.db, fx.accountId, { createdWithinHours: 5 }, fx.agent.agentId, now);
        const verdict = verdicts.find((v) => v.id === ticket.id)!;
        expect(verdict).toEqual({ id: ticket.id, sql: expected, js: expected });
      }
    });
  });

  it("never matches another account's tickets", async () => {
    const { db } = await accountShard(env, "acc_demo");
    const condition = viewFilterCondition({}, SEEDED.ana.agentId, "acc_demo");
    const accounts = await db.selectDistinct({ accountId: tickets.accountId }).from(tickets).where(condition);
    expect(accounts).toEqual([{ accountId: "acc_demo" }]);
    const other = await accountShard(env, "acc_other");
    const none = await other.db.select({ id: tickets.id }).from(tickets).where(viewFilterCondition({}, SEEDED.olive.agentId, "acc_demo"));
    expect(none.every((row) => !row.id.startsWith("tkt_other"))).toBe(true);
  });
});
