import { env, SELF } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ticketRoom } from "../tickets/rooms.ts";
import { tokenFor } from "../test-support/live-client.ts";
import { createReadFixture, type ReadFixture } from "../test-support/read-fixture.ts";

// A deleted tag must leave the ticket rooms too: a room that kept its id would report it
// with its next change, and the hub would count a tag that no longer exists.

let fx: ReadFixture;

beforeAll(async () => {
  fx = await createReadFixture("droptag");
});

afterAll(async () => {
  await fx?.drop();
});

describe("deleting a tag", () => {
  it("drops it from the record of every room holding it, as a change the hub hears of", async () => {
    const tagId = fx.tagIds[0];
    const holders = fx.tickets.filter((ticket) => ticket.tagIds.includes(tagId));
    expect(holders.length).toBeGreaterThan(0);
    // The rooms hold the tag (built from the shard on first use).
    const before = new Map<string, number>();
    for (const ticket of holders) {
      const ref = { accountId: fx.accountId, ticketId: ticket.id };
      const held = await ticketRoom(env, ref).ticket(ref);
      if (!held.ok) throw new Error(held.message);
      expect(held.value.tagIds).toContain(tagId);
      before.set(ticket.id, held.value.version);
    }

    const response = await SELF.fetch(`http://hub.test/api/tags/${tagId}`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${await tokenFor(fx.admin)}` },
    });
    expect(response.status).toBe(204);

    for (const ticket of holders) {
      const ref = { accountId: fx.accountId, ticketId: ticket.id };
      const room = ticketRoom(env, ref);
      let held = await room.ticket(ref);
      for (let tries = 0; held.ok && held.value.tagIds.includes(tagId) && tries < 100; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        held = await room.ticket(ref);
      }
      if (!held.ok) throw new Error(held.message);
      expect(held.value.tagIds).not.toContain(tagId);
      expect(held.value.version).toBe(before.get(ticket.id)! + 1);
      await room.flush();
      expect(await room.pendingChanges()).toBe(0);
    }
    // Tickets that never held it are untouched.
    const other = fx.tickets.find((ticket) => !ticket.tagIds.includes(tagId))!;
    const ref = { accountId: fx.accountId, ticketId: other.id };
    const untouched = await ticketRoom(env, ref).ticket(ref);
    expect(untouched.ok && untouched.value.tagIds).not.toContain(tagId);
  });
});
