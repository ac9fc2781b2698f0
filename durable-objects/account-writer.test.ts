import { env, runInDurableObject } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccountWriter, RoomFlush } from "./account-writer.ts";
import type { TicketRecord } from "./ticket-room/ticket-record.ts";
import { createReadFixture, type ReadFixture } from "../worker/test-support/read-fixture.ts";

// The writer on its own: flushes from many rooms go to the shard together, a flush whose
// statements fail is refused alone, and the hub hears of every ticket that landed.

let fx: ReadFixture;

beforeAll(async () => {
  fx = await createReadFixture("writer");
});

afterAll(async () => {
  await fx.shard.client.execute({ sql: "DELETE FROM tags WHERE account_id = ? AND name LIKE 'w-%'", args: [fx.accountId] });
  await fx.drop();
});

function writer() {
  return env.ACCOUNT_WRITER.get(env.ACCOUNT_WRITER.idFromName(fx.accountId));
}

function hub() {
  return env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(fx.accountId));
}

/** A room-shaped flush that adds one tag row, reporting a ticket at `version`. */
function tagFlush(name: string, version: number, ticketId = `tkt_w_${name}`): RoomFlush {
  const now = Date.now();
  const after: TicketRecord = {
    id: ticketId, accountId: fx.accountId, customerId: fx.customerIds[0], channel: "api", subject: name, status: "closed",
    priority: "normal", assigneeId: null, teamId: null, tagIds: [], version, snoozedUntil: null, aiState: "none",
    createdAt: now, updatedAt: now, firstResponseAt: null, closedAt: now, lastMessageAt: null, messageCount: 0,
  };
  return {
    statements: [
      { sql: "INSERT INTO tags (id, account_id, name, created_at) VALUES (?, ?, ?, ?)", args: [`tag_w_${name}`, fx.accountId, `w-${name}`, Date.now()] },
    ],
    report: { ticketId, version, before: null, after, changes: [] },
  };
}

async function tagNames(): Promise<string[]> {
  const rows = await fx.shard.client.execute({ sql: "SELECT name FROM tags WHERE account_id = ? AND name LIKE 'w-%' ORDER BY name", args: [fx.accountId] });
  return rows.rows.map((row) => String(row.name));
}

describe("AccountWriter", () => {
  it("carries flushes that arrive together to the shard in fewer requests, and reports each ticket to the hub", async () => {
    const before = await writer().stats();
    const names = Array.from({ length: 12 }, (_, i) => `batch${String(i).padStart(2, "0")}`);
    await Promise.all(names.map((name, i) => writer().write(fx.accountId, tagFlush(name, i + 1))));
    const after = await writer().stats();
    expect(after.flushes - before.flushes).toBe(12);
    expect(after.shardRequests - before.shardRequests).toBeLessThan(12);
    expect(await tagNames()).toEqual(names.map((name) => `w-${name}`));
    // The rooms were answered once the shard had it; the reports follow, queued in the writer.
    expect(await writer().deliverReports()).toBe(0);
    for (const [i, name] of names.entries()) expect(await hub().reportedVersion(`tkt_w_${name}`)).toBe(i + 1);
  });

  it("refuses only the flush whose statements fail; the others in the same request land", async () => {
    const good = ["good1", "good2", "good3"];
    // A duplicate tag name breaks the unique index: that flush alone must fail.
    const poison: RoomFlush = { ...tagFlush("poison", 1), statements: [...tagFlush("good1", 1).statements] };
    const outcomes = await Promise.allSettled([
      writer().write(fx.accountId, tagFlush("warmup", 1)),
      ...good.map((name) => writer().write(fx.accountId, tagFlush(name, 1))),
      writer().write(fx.accountId, poison),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled", "rejected"]);
    expect(await tagNames()).toEqual(expect.arrayContaining(good.map((name) => `w-${name}`)));
    expect(await writer().deliverReports()).toBe(0);
    expect(await hub().reportedVersion("tkt_w_good3")).toBe(1);
    expect(await hub().reportedVersion("tkt_w_poison")).toBeNull();
  });
});

describe("a report the hub refuses", () => {
  it("is set aside after failing alone while the next one goes through, so it holds nothing back", async () => {
    const poisoned = "tkt_w_refused";
    await runInDurableObject(writer(), (instance: AccountWriter) => {
      (instance as unknown as { sendReports: (accountId: string, reports: RoomFlush["report"][]) => Promise<void> }).sendReports = async (accountId, reports) => {
        if (reports.some((report) => report.ticketId === poisoned)) throw new Error("the hub cannot apply this report (fault injected)");
        await hub().reportTicketChanges(reports);
      };
    });
    try {
      await writer().write(fx.accountId, tagFlush("refused", 1, poisoned));
      await writer().write(fx.accountId, tagFlush("after1", 1));
      await writer().write(fx.accountId, tagFlush("after2", 1));
      // Every batch holds the refused report: the writer backs off, then isolates it.
      let queued = -1;
      for (let attempt = 0; attempt < 6 && queued !== 0; attempt++) queued = await writer().deliverReports();
      expect(queued).toBe(0);
      expect(await hub().reportedVersion("tkt_w_after1")).toBe(1);
      expect(await hub().reportedVersion("tkt_w_after2")).toBe(1);
      expect(await hub().reportedVersion(poisoned)).toBeNull();
      const setAside = await runInDurableObject(writer(), (_instance, state) =>
        state.storage.sql.exec<{ payload: string; error: string }>("SELECT payload, error FROM refused_reports").toArray(),
      );
      expect(setAside.map((row) => (JSON.parse(row.payload) as { ticketId: string }).ticketId)).toEqual([poisoned]);
      expect(setAside[0]!.error).toContain("fault injected");
    } finally {
      await runInDurableObject(writer(), (instance: AccountWriter) => {
        delete (instance as unknown as { sendReports?: unknown }).sendReports;
      });
    }
  });
});
