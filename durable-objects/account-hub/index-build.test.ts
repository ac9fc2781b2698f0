import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ViewFilter } from "../../schema/tables.ts";
import { tokenFor, waitFor } from "../../worker/test-support/live-client.ts";
import { createReadFixture, type ReadFixture } from "../../worker/test-support/read-fixture.ts";
import { shardViewCounts } from "../../worker/test-support/view-counts.ts";
import { roomName } from "../ticket-room/room-api.ts";
import type { loadTicketPage } from "../ticket-room/shard-reads.ts";
import type { AccountHub } from "./account-hub.ts";

// The hub's first build of its ticket index reads the shard a page per invocation, from a
// persisted cursor: interrupted (a failed page, a restart) it resumes, reports arriving
// meanwhile are neither lost nor counted twice, and counts are published once it completes.

let fx: ReadFixture;
let views: { id: string; filter: ViewFilter }[];

function hub(): DurableObjectStub<AccountHub> {
  return env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(fx.accountId));
}

function room(ticketId: string) {
  return env.TICKET_ROOM.get(env.TICKET_ROOM.idFromName(roomName({ accountId: fx.accountId, ticketId })));
}

function shardCounts(now: number): Promise<Record<string, number>> {
  return shardViewCounts(fx, views, now);
}

beforeAll(async () => {
  fx = await createReadFixture("build");
  const v = (key: string) => `view_build_${fx.accountId}_${key}`;
  views = [
    { id: v("open"), filter: { status: ["open"] } },
    { id: v("mine"), filter: { assignee: "me", status: ["open", "pending"] } },
    { id: v("tagged"), filter: { tagIds: [fx.tagIds[0]] } },
    { id: v("closed"), filter: { status: ["closed"] } },
  ];
  await fx.shard.client.batch(
    views.map((view, position) => ({
      sql: "INSERT INTO views (id, account_id, name, filter, position) VALUES (?, ?, ?, ?, ?)",
      args: [view.id, fx.accountId, view.id, JSON.stringify(view.filter), position],
    })),
    "write",
  );
});

afterAll(async () => {
  await fx.shard.client.execute({ sql: "DELETE FROM views WHERE account_id = ?", args: [fx.accountId] });
  await fx.drop();
});

describe("building the hub's index", () => {
  it("resumes after a failed page and a restart, keeps the reports that came meanwhile, and ends with exact counts", async () => {
    // Pages of 10 tickets; the second page fails (the shard unreachable), once.
    let pages = 0;
    await runInDurableObject(hub(), (instance: AccountHub) => {
      const seam = instance as unknown as { pageSize: number; loadPage: typeof loadTicketPage };
      const real = seam.loadPage;
      seam.pageSize = 10;
      seam.loadPage = async (...args) => {
        pages += 1;
        if (pages === 2) throw new Error("shard unreachable");
        return real(...args);
      };
    });
    await hub().reloadConfig(fx.accountId);
    await waitFor(() => pages >= 2, "the second page");
    const during = await hub().indexStats();
    expect(during).toMatchObject({ complete: false, tickets: 10 });
    // Nothing published from a partial index.
    expect(await hub().viewCounts()).toEqual({});

    // Changes meanwhile, reported to the hub: one ticket of the first page, one not read yet.
    const byUpdate = [...fx.tickets].sort((a, b) => a.updatedAt - b.updatedAt || a.id.localeCompare(b.id));
    const changed = [byUpdate[0]!.id, byUpdate.at(-1)!.id];
    for (const ticketId of changed) {
      const response = await SELF.fetch(`http://hub.test/api/tickets/${ticketId}`, {
        method: "PATCH",
        headers: { Authorization: `Bearer ${await tokenFor(fx.admin)}`, "Content-Type": "application/json" },
        body: JSON.stringify({ status: "open", assigneeId: fx.agent.agentId, tagIds: [fx.tagIds[0]] }),
      });
      expect(response.status).toBe(200);
      await room(ticketId).flush();
      expect(await room(ticketId).pendingChanges()).toBe(0);
    }
    expect(await hub().reportedVersion(changed[1]!)).not.toBeNull();

    // A restart: the next alarm resumes from the persisted cursor (with the default page size).
    await evictDurableObject(hub());
    for (let alarms = 0; alarms < 10 && !(await hub().indexStats()).complete; alarms++) await runDurableObjectAlarm(hub());
    const done = await hub().indexStats();
    expect(done.complete).toBe(true);
    expect(done.tickets).toBe(fx.tickets.length);
    expect(await hub().viewCounts()).toEqual(await shardCounts(Date.now()));
  });
});
