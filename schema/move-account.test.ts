// Moving an account while a slow writer holds a batch: a writer that resolved the account's
// placement before the move began and writes only after the copy (a slow AccountWriter
// batch, a delivery dispatcher marking an email sent). Runs against a real shard host over
// Hrana with the Worker's own placement code (schema/placements.ts), web client included.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client, type InStatement } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemoStore } from "../dev/seed.ts";
import { startShardHost, type ShardHost } from "../dev/shard-host/server.ts";
import { migrateShards } from "./migrate.ts";
import { moveAccountToShard } from "./move-account.ts";
import { AccountMovingError, AccountPlacements, type PlacementOptions } from "./placements.ts";
import { openShards, parseShardConfig, type Shard } from "./shards.ts";
import { setAccountEpochStatement, WRITE_FENCED, writeFenceStatement } from "./write-fence.ts";

const ACCOUNT = "acc_demo";

let dir: string;
let host: ShardHost;
let urls: string[];
let raw: Client[];
const opened: Shard[][] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "move-account-test-"));
  host = await startShardHost({ dir, port: 0, shards: 2 });
  urls = host.urls;
  await migrateShards(urls.map((url, index) => ({ index, url })));
  await seedDemoStore(urls.map((url, index) => ({ index, url })));
  raw = urls.map((url) => createClient({ url }));
});

afterAll(async () => {
  for (const client of raw) client.close();
  for (const shards of opened) for (const shard of shards) shard.client.close();
  await host.close();
  await rm(dir, { recursive: true, force: true });
});

/** A Worker isolate's view of the shards: its own connections and placement cache. */
function isolate(options: PlacementOptions = {}): AccountPlacements {
  const shards = openShards(parseShardConfig({ SHARD_URLS: urls.join(",") }));
  opened.push(shards);
  return new AccountPlacements(shards, options);
}

async function shardOf(accountId: string): Promise<number> {
  const row = (await raw[0]!.execute({ sql: "SELECT shard_index FROM accounts WHERE id = ?", args: [accountId] })).rows[0];
  return Number(row!.shard_index);
}

async function one(client: Client, sql: string, args: (string | number)[]): Promise<Record<string, unknown>> {
  const row = (await client.execute({ sql, args })).rows[0];
  if (!row) throw new Error(`no row for ${sql} ${JSON.stringify(args)}`);
  return { ...row };
}

/** What callers do with AccountMovingError (rooms from their alarm): try again later, placement looked up afresh. */
function untilPlaced<T>(placements: AccountPlacements, write: (shard: Shard) => Promise<T>): Promise<T> {
  return untilPlacedFor(placements, ACCOUNT, write);
}

async function untilPlacedFor<T>(placements: AccountPlacements, account: string, write: (shard: Shard) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write(await placements.shardForWrite(account));
    } catch (error) {
      if (!(error instanceof AccountMovingError) || attempt > 200) throw error;
      placements.forget(account);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** A ticket of the account with a message and a tag, a tag it lacks, and a queued email delivery for it. */
async function fixture(source: Client) {
  const ticket = await one(
    source,
    `SELECT t.id, t.version, m.id AS message_id, tt.tag_id
       FROM tickets t JOIN messages m ON m.ticket_id = t.id JOIN ticket_tags tt ON tt.ticket_id = t.id
      WHERE t.account_id = ? ORDER BY t.id LIMIT 1`,
    [ACCOUNT],
  );
  const otherTag = await one(
    source,
    "SELECT id FROM tags WHERE account_id = ? AND id NOT IN (SELECT tag_id FROM ticket_tags WHERE ticket_id = ?) ORDER BY id LIMIT 1",
    [ACCOUNT, String(ticket.id)],
  );
  const deliveryId = `dlv_move_${String(ticket.id)}`;
  await source.execute({
    sql: `INSERT INTO outbound_deliveries (id, account_id, ticket_id, message_id, channel, to_address, subject, body, provider, status, created_at)
          VALUES (?, ?, ?, ?, 'email', 'shopper@example.com', 'Re: move', 'hello', 'dev-mailbox', 'queued', 0)`,
    args: [deliveryId, ACCOUNT, String(ticket.id), `msg_move_${String(ticket.id)}`],
  });
  return {
    ticketId: String(ticket.id),
    version: Number(ticket.version),
    oldTag: String(ticket.tag_id),
    newTag: String(otherTag.id),
    deliveryId,
  };
}

/** The room's next flush of the ticket: a newer version that only moves forward, and a swapped tag. */
function ticketFlush(f: Awaited<ReturnType<typeof fixture>>): InStatement[] {
  return [
    {
      sql: "UPDATE tickets SET version = ?, subject = 'newest subject' WHERE account_id = ? AND id = ? AND version < ?",
      args: [f.version + 1, ACCOUNT, f.ticketId, f.version + 1],
    },
    { sql: "DELETE FROM ticket_tags WHERE ticket_id = ? AND tag_id = ?", args: [f.ticketId, f.oldTag] },
    { sql: "INSERT INTO ticket_tags (account_id, ticket_id, tag_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", args: [ACCOUNT, f.ticketId, f.newTag] },
  ];
}

/**
 * The delivery dispatcher (worker/channels/delivery.ts, on the write shard): queued rows
 * of the ticket go to the provider, then are marked sent. `beforeSend` lets a test hold it.
 */
async function dispatch(shard: Shard, ticketId: string, sent: string[], beforeSend: () => Promise<void> = async () => {}): Promise<void> {
  const queued = await shard.client.execute({
    sql: "SELECT id FROM outbound_deliveries WHERE account_id = ? AND ticket_id = ? AND status = 'queued' ORDER BY id",
    args: [ACCOUNT, ticketId],
  });
  for (const row of queued.rows) {
    await beforeSend();
    sent.push(String(row.id));
    await shard.client.execute({ sql: "UPDATE outbound_deliveries SET status = 'sent' WHERE id = ? AND status = 'queued'", args: [String(row.id)] });
  }
}

describe("moving an account while a slow writer holds a batch", () => {
  it("keeps the newest version of every ticket and sends no email twice", async () => {
    const from = await shardOf(ACCOUNT);
    const to = 1 - from;
    const f = await fixture(raw[from]!);

    // Both writers look the placement up before the move begins, and hold on to it.
    const writer = isolate();
    let dispatcherFenced!: () => void;
    const fenced = new Promise<void>((resolve) => (dispatcherFenced = resolve));
    const dispatcher = isolate({ onFenced: () => dispatcherFenced() });
    const writerShard = await writer.shardForWrite(ACCOUNT);
    const dispatcherShard = await dispatcher.shardForWrite(ACCOUNT);
    const sent: string[] = [];

    let writerAttempt: Promise<unknown> | undefined;
    let dispatched: Promise<void> | undefined;
    const report = await moveAccountToShard(urls.map((url) => ({ url })), ACCOUNT, to, {
      settleMs: 0,
      // The copy is done; now the slow writers write, each to the shard it looked up earlier.
      afterCopy: async () => {
        writerAttempt = writerShard.client.batch(ticketFlush(f), "write").then(
          () => "landed",
          (error: unknown) => error,
        );
        dispatched = dispatch(dispatcherShard, f.ticketId, sent);
        await writerAttempt;
        // The dispatcher's status write either landed or was fenced (and now waits to be
        // replayed on the new placement, which needs this move to finish).
        await Promise.race([dispatched.catch(() => {}), fenced]);
      },
    });
    expect(report).toMatchObject({ from, to });
    expect(await shardOf(ACCOUNT)).toBe(to);

    // A batch that did not land is retried, as the AccountWriter's rooms do from their alarm.
    if ((await writerAttempt) !== "landed") await untilPlaced(writer, (shard) => shard.client.batch(ticketFlush(f), "write"));
    // The dispatcher's status write has landed by now, wherever the account lives.
    await dispatched;
    // The room's next flush dispatches again, once the placement cache has expired (a fresh isolate).
    await untilPlaced(isolate(), (shard) => dispatch(shard, f.ticketId, sent));

    // Soft: a failure shows every lost write at once, not just the first.
    const target = raw[to]!;
    expect.soft(await one(target, "SELECT version, subject FROM tickets WHERE id = ?", [f.ticketId])).toEqual({
      version: f.version + 1,
      subject: "newest subject",
    });
    const tags = await target.execute({ sql: "SELECT tag_id FROM ticket_tags WHERE ticket_id = ? ORDER BY tag_id", args: [f.ticketId] });
    expect.soft(tags.rows.map((row) => String(row.tag_id))).toContain(f.newTag);
    expect.soft(tags.rows.map((row) => String(row.tag_id))).not.toContain(f.oldTag);
    expect.soft(await one(target, "SELECT status FROM outbound_deliveries WHERE id = ?", [f.deliveryId])).toEqual({ status: "sent" });
    expect.soft(sent).toEqual([f.deliveryId]);
  }, 60_000);

  it("refuses a whole batch written with a stale epoch, as a move error the AccountWriter does not split", async () => {
    const account = "acc_other";
    const index = await shardOf(account);
    const shard = raw[index]!;
    const stale = await isolate().shardForWrite(account);
    const epoch = Number((await one(raw[0]!, "SELECT write_epoch FROM accounts WHERE id = ?", [account])).write_epoch);
    const tag = (id: string): InStatement => ({
      sql: "INSERT INTO tags (id, account_id, name, created_at) VALUES (?, ?, ?, 0)",
      args: [id, account, id],
    });
    const tagCount = async (id: string) => Number((await one(shard, "SELECT count(*) AS n FROM tags WHERE id = ?", [id])).n);

    // What a mover's retire step does to the source.
    await shard.execute(setAccountEpochStatement(account, epoch + 1));
    try {
      // The trigger aborts the statement, and with it the batch's transaction.
      const rawError = await shard.batch([tag("tag_fence_before"), writeFenceStatement(account, epoch), tag("tag_fence_after")], "write").catch((error: unknown) => error);
      expect(String(rawError)).toContain(WRITE_FENCED);
      expect(await tagCount("tag_fence_before")).toBe(0);
      expect(await tagCount("tag_fence_after")).toBe(0);

      // Through the write shard the failure is an AccountMovingError without a SQLITE_ code,
      // so the AccountWriter's isStatementError() does not split the batch room by room.
      const error = await stale.client.batch([tag("tag_fence_writer")], "write").catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AccountMovingError);
      expect((error as { code?: unknown }).code).toBeUndefined();
      expect(await tagCount("tag_fence_writer")).toBe(0);

      // The epoch the shard accepts passes.
      await shard.batch([writeFenceStatement(account, epoch + 1), tag("tag_fence_ok")], "write");
      expect(await tagCount("tag_fence_ok")).toBe(1);
    } finally {
      await shard.batch([{ sql: "DELETE FROM tags WHERE id = 'tag_fence_ok'", args: [] }, setAccountEpochStatement(account, epoch)], "write");
    }
  });

  it("does not switch to a copy whose content differs, and leaves the account writable where it was", async () => {
    const account = "acc_other";
    const from = await shardOf(account);
    const to = 1 - from;
    const before = Number((await one(raw[0]!, "SELECT write_epoch FROM accounts WHERE id = ?", [account])).write_epoch);
    const stale = isolate();
    await stale.shardForWrite(account);

    // A writer that bypasses the fence (a raw client on the source) changes a row after the copy.
    const move = moveAccountToShard(urls.map((url) => ({ url })), account, to, {
      settleMs: 0,
      afterCopy: async () => {
        await raw[from]!.execute({ sql: "UPDATE tickets SET version = version + 1 WHERE id = 'tkt_other_teapot'", args: [] });
      },
    });
    await expect(move).rejects.toThrow(/verification failed: tickets of acc_other differs .* in content; the account stays on shard/);
    expect(await one(raw[0]!, "SELECT shard_index, moving_to_shard, write_epoch FROM accounts WHERE id = ?", [account])).toEqual({
      shard_index: from,
      moving_to_shard: null,
      write_epoch: before + 1,
    });

    // A writer holding the placement from before is fenced once, then writes where the account still lives.
    const error = await (await stale.shardForWrite(account)).client.batch([{ sql: "UPDATE tickets SET subject = 'stale' WHERE id = 'tkt_other_teapot'", args: [] }], "write").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AccountMovingError);
    await untilPlacedFor(stale, account, (shard) => shard.client.batch([{ sql: "UPDATE tickets SET subject = 'after a failed move' WHERE id = 'tkt_other_teapot'", args: [] }], "write"));
    expect(await one(raw[from]!, "SELECT subject FROM tickets WHERE id = 'tkt_other_teapot'", [])).toEqual({ subject: "after a failed move" });

    // Run again, the move copies the newest rows and switches.
    const report = await moveAccountToShard(urls.map((url) => ({ url })), account, to, { settleMs: 0 });
    expect(report).toMatchObject({ from, to, writeEpoch: before + 2 });
    expect(await one(raw[to]!, "SELECT subject FROM tickets WHERE id = 'tkt_other_teapot'", [])).toEqual({ subject: "after a failed move" });
  });
});
