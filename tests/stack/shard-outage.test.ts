import { createClient } from "@libsql/client";
import { beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../dev/stack.ts";
import { login, postTickets, useStack } from "../support/stack-fixture.ts";

// The fault test: the shard host is down for 30 s while 1,000 messages are posted through
// the API. Ticket rooms keep accepting them (each is committed to the room's own storage
// with an outbox entry); once the shards return, every message lands exactly once, in
// order per ticket.

const TICKETS = 10;
const MESSAGES_PER_TICKET = 100;
const OUTAGE_MS = 30_000;

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

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("a 30 s shard outage", () => {
  it("loses no message: 1,000 posted during the outage land exactly once, in order per ticket", async () => {
    const ticketIds: string[] = [];
    for (let t = 0; t < TICKETS; t++) {
      const response = await post("", { customer: { email: `outage-${t}@example.com` }, subject: `Outage ${t}`, body: "first" });
      expect(response.status).toBe(201);
      ticketIds.push(((await response.json()) as { ticket: { id: string } }).ticket.id);
    }

    // Which shard holds the demo account, and a client for it.
    const directory = createClient({ url: stack.shardUrls[0]! });
    const placement = await directory.execute("SELECT shard_index FROM accounts WHERE id = 'acc_demo'");
    const shard = createClient({ url: stack.shardUrls[Number(placement.rows[0]!.shard_index)]! });
    const countOnShard = async () => {
      const result = await shard.execute({
        sql: `SELECT count(*) AS n, count(DISTINCT id) AS distinct_ids FROM messages
              WHERE ticket_id IN (${ticketIds.map(() => "?").join(",")})`,
        args: ticketIds,
      });
      return { n: Number(result.rows[0]!.n), distinct: Number(result.rows[0]!.distinct_ids) };
    };
    await eventually(countOnShard, (c) => c.n === TICKETS, 20_000);

    await stack.stopShards();
    const outageStarted = Date.now();
    // Posts go to every ticket in parallel, in order within each ticket.
    const statuses = await Promise.all(
      ticketIds.map(async (ticketId) => {
        const seen: number[] = [];
        for (let i = 0; i < MESSAGES_PER_TICKET; i++) {
          const response = await post(`/${ticketId}/notes`, { body: `outage message ${i}` });
          seen.push(response.status);
        }
        return seen;
      }),
    );
    expect(statuses.flat().filter((status) => status !== 201)).toEqual([]);
    expect(await countOnShard().catch(() => "unreachable")).toBe("unreachable");

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - outageStarted))));
    await stack.startShards();

    const total = TICKETS * (MESSAGES_PER_TICKET + 1);
    const landed = await eventually(countOnShard, (c) => c.n >= total, 60_000);
    expect(landed).toEqual({ n: total, distinct: total });

    for (const ticketId of ticketIds) {
      const rows = await shard.execute({ sql: "SELECT seq, body FROM messages WHERE ticket_id = ? ORDER BY seq", args: [ticketId] });
      expect(rows.rows.map((row) => Number(row.seq))).toEqual(Array.from({ length: MESSAGES_PER_TICKET + 1 }, (_, i) => i + 1));
      expect(rows.rows.slice(1).map((row) => row.body)).toEqual(
        Array.from({ length: MESSAGES_PER_TICKET }, (_, i) => `outage message ${i}`),
      );
      const ticket = await shard.execute({ sql: "SELECT version FROM tickets WHERE id = ?", args: [ticketId] });
      // Creation, the first message, and one change per posted message.
      expect(Number(ticket.rows[0]!.version)).toBe(2 + MESSAGES_PER_TICKET);
    }
    directory.close();
    shard.close();
  }, 180_000);
});
