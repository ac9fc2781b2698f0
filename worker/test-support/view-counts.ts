import { count } from "drizzle-orm";
import { viewCountKey } from "../../protocol/index.ts";
import { tickets, type ViewFilter } from "../../schema/tables.ts";
import { viewFilterCondition } from "../views/filter.ts";
import type { ReadFixture } from "./read-fixture.ts";

/**
 * What each view's count must be, by `COUNT(*)` on the fixture's shard at `now`: keyed as
 * the inbox keys them ("assigned to me" views once per fixture agent), zero counts left out.
 */
export async function shardViewCounts(fx: ReadFixture, views: readonly { id: string; filter: ViewFilter }[], now: number): Promise<Record<string, number>> {
  const expected: Record<string, number> = {};
  for (const view of views) {
    const perAgent = view.filter.assignee === "me";
    for (const agentId of perAgent ? [fx.agent.agentId, fx.admin.agentId] : [""]) {
      const row = await fx.shard.db.select({ n: count() }).from(tickets).where(viewFilterCondition(view.filter, agentId, fx.accountId, now)).get();
      if (row && row.n > 0) expected[viewCountKey(view.id, perAgent, agentId)] = row.n;
    }
  }
  return expected;
}
