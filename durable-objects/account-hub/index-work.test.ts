import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ViewFilter } from "../../schema/tables.ts";
import { createReadFixture, type ReadFixture } from "../../worker/test-support/read-fixture.ts";
import { shardViewCounts } from "../../worker/test-support/view-counts.ts";

// The hub's work on its hot paths is proportional to what changed, not to the account:
// a time window running out reads the tickets leaving it, a wake reads none, and closed
// tickets no view can count are kept compactly. Counts stay equal to COUNT(*) on the shard.
// (Work is counted as ticket JSON documents the hub parses: `indexStats().parsed`.)

const HOUR = 3_600_000;
/** How far from the edge of the 24 h window the edge ticket starts: long enough to count it first. */
const EDGE_MS = 5_000;

let fx: ReadFixture;
let views: { id: string; filter: ViewFilter }[];
let edgeTicketId: string;
let leavesAt: number;

function hub() {
  return env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(fx.accountId));
}

function shardCounts(now: number): Promise<Record<string, number>> {
  return shardViewCounts(fx, views, now);
}

beforeAll(async () => {
  fx = await createReadFixture("work");
  const v = (key: string) => `view_work_${fx.accountId}_${key}`;
  // No view counts closed tickets.
  views = [
    { id: v("recent"), filter: { createdWithinHours: 24, status: ["open", "pending", "snoozed"] } },
    { id: v("open"), filter: { status: ["open"] } },
    { id: v("mine"), filter: { assignee: "me", status: ["open", "pending"] } },
  ];
  await fx.shard.client.batch(
    views.map((view, position) => ({
      sql: "INSERT INTO views (id, account_id, name, filter, position) VALUES (?, ?, ?, ?, ?)",
      args: [view.id, fx.accountId, view.id, JSON.stringify(view.filter), position],
    })),
    "write",
  );
  // One open ticket about to leave the 24 h window.
  edgeTicketId = fx.tickets[1]!.id;
  leavesAt = Date.now() + EDGE_MS;
  await fx.shard.client.execute({
    sql: "UPDATE tickets SET status = 'open', created_at = ? WHERE id = ?",
    args: [leavesAt - 24 * HOUR, edgeTicketId],
  });
  await hub().reloadConfig(fx.accountId);
});

afterAll(async () => {
  await fx.shard.client.execute({ sql: "DELETE FROM views WHERE account_id = ?", args: [fx.accountId] });
  await fx.drop();
});

describe("the hub's index work", () => {
  it("a time window running out reads only the tickets leaving it, and counts stay exact", async () => {
    const recent = views[0]!.id;
    const before = await hub().viewCounts();
    expect(before).toEqual(await shardCounts(Date.now()));
    expect(before[recent]).toBeGreaterThanOrEqual(1);
    const { parsed, tickets: indexed } = await hub().indexStats();
    expect(indexed).toBeGreaterThan(30);

    while (Date.now() <= leavesAt + 1) await new Promise((resolve) => setTimeout(resolve, 100));
    await runDurableObjectAlarm(hub()); // unless it already ran by itself

    const after = await hub().viewCounts();
    expect(after).toEqual(await shardCounts(Date.now()));
    expect(after[recent] ?? 0).toBe(before[recent]! - 1);
    expect((await hub().indexStats()).parsed - parsed).toBe(1);
  });

  it("a wake, however long after the last count, reads no ticket, and counts stay exact", async () => {
    await runInDurableObject(hub(), (_instance, state) => {
      // As if the last full count was long ago.
      state.storage.sql.exec("INSERT OR REPLACE INTO hub_meta (key, value) VALUES ('recounted_at', '0')");
    });
    await evictDurableObject(hub());
    expect(await hub().viewCounts()).toEqual(await shardCounts(Date.now()));
    await runDurableObjectAlarm(hub());
    expect(await hub().viewCounts()).toEqual(await shardCounts(Date.now()));
    expect((await hub().indexStats()).parsed).toBe(0);
  });

  it("keeps closed tickets compactly when no view can count them", async () => {
    const closed = await fx.shard.client.execute({ sql: "SELECT count(*) AS n FROM tickets WHERE account_id = ? AND status = 'closed'", args: [fx.accountId] });
    const stats = await hub().indexStats();
    expect(Number(closed.rows[0]!.n)).toBeGreaterThan(0);
    expect(stats.detailed).toBe(stats.tickets - Number(closed.rows[0]!.n));
  });

  it("reads closed tickets again from the shard when a view that counts them is added, and counts them exactly", async () => {
    const closedView = { id: `view_work_${fx.accountId}_closed`, filter: { status: ["closed"] } satisfies ViewFilter };
    await fx.shard.client.execute({
      sql: "INSERT INTO views (id, account_id, name, filter, position) VALUES (?, ?, ?, ?, 9)",
      args: [closedView.id, fx.accountId, closedView.id, JSON.stringify(closedView.filter)],
    });
    views.push(closedView);
    await hub().reloadConfig(fx.accountId);
    for (let alarms = 0; alarms < 10 && !(await hub().indexStats()).complete; alarms++) await runDurableObjectAlarm(hub());
    const stats = await hub().indexStats();
    expect(stats.complete).toBe(true);
    expect(stats.detailed).toBe(stats.tickets);
    expect(await hub().viewCounts()).toEqual(await shardCounts(Date.now()));
  });
});
