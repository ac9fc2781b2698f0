import { createClient } from "@libsql/client";
import { beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../dev/stack.ts";
import { login, postTickets, useStack } from "../support/stack-fixture.ts";
import { ACCOUNT_TABLES, moveAccountToShard } from "../../schema/move-account.ts";

// Moving an account between shards while agents keep posting: the rooms hold their
// outboxes during the move and flush to the new shard after the switch.

const current = useStack();
let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = current();
  token = (await login(stack, "ana@demo.shop")).token;
});

function post(path: string, body: unknown): Promise<Response> {
  return postTickets(stack, token, path, body);
}

describe("npm run shards -- move", () => {
  it("moves an account while its rooms keep accepting writes, and verifies every table", async () => {
    const tickets: string[] = [];
    for (let t = 0; t < 3; t++) {
      const response = await post("", { customer: { email: `mover-${t}@example.com` }, subject: `Move ${t}`, body: "before" });
      expect(response.status).toBe(201);
      tickets.push(((await response.json()) as { ticket: { id: string } }).ticket.id);
    }
    const directory = createClient({ url: stack.shardUrls[0]! });
    const from = Number((await directory.execute("SELECT shard_index FROM accounts WHERE id = 'acc_demo'")).rows[0]!.shard_index);
    const to = 1 - from;

    // Agents keep posting throughout the move.
    let posting = true;
    const posted: Promise<number[]> = (async () => {
      const statuses: number[] = [];
      for (let i = 0; posting; i++) {
        statuses.push((await post(`/${tickets[i % tickets.length]}/notes`, { body: `during move ${i}` })).status);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return statuses;
    })();

    // Writes the Worker makes itself (here: a private view) pause with a 503 during the copy.
    const duringMove = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 11_000));
      const response = await fetch(`${stack.baseUrl}/api/views`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ name: "Mine", filter: { status: ["open"] } }),
      });
      return { status: response.status, body: (await response.json()) as { error?: { code: string } } };
    })();

    const report = await moveAccountToShard(
      stack.shardUrls.map((url) => ({ url })),
      "acc_demo",
      to,
      { settleMs: 12_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    posting = false;
    const statuses = await posted;
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((status) => status !== 201)).toEqual([]);

    expect(report).toMatchObject({ from, to });
    const paused = await duringMove;
    expect(paused.status).toBe(503);
    expect(paused.body.error?.code).toBe("ACCOUNT_MOVING");
    expect(Object.keys(report.rows).sort()).toEqual([...ACCOUNT_TABLES].sort());
    expect(report.rows.tickets).toBeGreaterThan(40);
    const placement = (await directory.execute("SELECT shard_index, moving_to_shard FROM accounts WHERE id = 'acc_demo'")).rows[0];
    expect({ ...placement }).toEqual({ shard_index: to, moving_to_shard: null });

    // Every message posted during the move reaches the new shard, exactly once.
    const target = createClient({ url: stack.shardUrls[to]! });
    const expected = tickets.length + statuses.length;
    const deadline = Date.now() + 60_000;
    let landed = 0;
    while (Date.now() < deadline) {
      const result = await target.execute({
        sql: `SELECT count(*) AS n, count(DISTINCT id) AS d FROM messages WHERE ticket_id IN (?, ?, ?)`,
        args: tickets,
      });
      landed = Number(result.rows[0]!.n);
      expect(Number(result.rows[0]!.d)).toBe(landed);
      if (landed >= expected) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(landed).toBe(expected);

    // Search works on the new shard (the index was rebuilt there).
    const hits = await target.execute("SELECT count(*) AS n FROM tickets_fts WHERE tickets_fts MATCH 'move' AND account_id = 'acc_demo'");
    expect(Number(hits.rows[0]!.n)).toBeGreaterThanOrEqual(3);

    // The app keeps working for the moved account.
    const me = await fetch(`${stack.baseUrl}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    directory.close();
    target.close();
  }, 180_000);

  it("refuses an unknown account or shard without touching the directory", async () => {
    const shards = stack.shardUrls.map((url) => ({ url }));
    await expect(moveAccountToShard(shards, "acc_nope", 0, { settleMs: 0 })).rejects.toThrow(/not in the directory/);
    await expect(moveAccountToShard(shards, "acc_other", 7, { settleMs: 0 })).rejects.toThrow(/no shard 7/);
    const directory = createClient({ url: stack.shardUrls[0]! });
    const other = (await directory.execute("SELECT moving_to_shard FROM accounts WHERE id = 'acc_other'")).rows[0];
    expect(other?.moving_to_shard).toBeNull();
    directory.close();
  });
});
