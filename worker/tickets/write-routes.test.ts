import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { roomName } from "../../durable-objects/ticket-room/room-api.ts";
import { loginToken, readJson } from "../test-support/live-client.ts";
import { shardOf } from "../test-support/shard.ts";

interface TicketBody {
  ticket: { id: string; version: number; status: string; priority: string; tagIds: string[]; assigneeId: string | null };
  message?: { id: string; seq: number; isInternalNote: boolean };
}

let ana: string;
let olive: string;

beforeAll(async () => {
  ana = await loginToken("ana@demo.shop");
  olive = await loginToken("owner@other.shop");
});

function api(path: string, token: string, method = "GET", body?: unknown) {
  return SELF.fetch(`http://hub.test/api/tickets${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function createTicket(token = ana, subject = "Where is my parcel?"): Promise<TicketBody> {
  const response = await api("", token, "POST", {
    customer: { email: "Pat.Shopper@example.com", name: "Pat" },
    subject,
    body: "It has been a week.",
  });
  expect(response.status).toBe(201);
  return readJson<TicketBody>(response);
}

function room(accountId: string, ticketId: string) {
  return env.TICKET_ROOM.get(env.TICKET_ROOM.idFromName(roomName({ accountId, ticketId })));
}

async function flushed(accountId: string, ticketId: string): Promise<void> {
  const stub = room(accountId, ticketId);
  await stub.flush();
  expect(await stub.pendingChanges()).toBe(0);
}

describe("creating a ticket through the API", () => {
  it("creates it in its room, then lands ticket, message and customer on the shard", async () => {
    const { ticket, message } = await createTicket();
    expect(ticket).toMatchObject({ status: "open", priority: "normal", version: 2 });
    expect(message).toMatchObject({ seq: 1, isInternalNote: false });
    await flushed("acc_demo", ticket.id);

    const shard = await shardOf("acc_demo");
    const stored = (await shard.client.execute({ sql: "SELECT * FROM tickets WHERE id = ?", args: [ticket.id] })).rows[0];
    expect(stored).toMatchObject({ account_id: "acc_demo", channel: "api", version: 2, subject: "Where is my parcel?" });
    const messages = await shard.client.execute({ sql: "SELECT body, seq, author_kind FROM messages WHERE ticket_id = ?", args: [ticket.id] });
    expect(messages.rows.map((row) => ({ ...row }))).toEqual([{ body: "It has been a week.", seq: 1, author_kind: "customer" }]);
    const customer = await shard.client.execute({ sql: "SELECT email FROM customers WHERE id = ?", args: [String(stored?.customer_id)] });
    expect(customer.rows[0]?.email).toBe("pat.shopper@example.com");
  });

  it("reports the change to the account's hub once it is on the shard", async () => {
    const { ticket } = await createTicket();
    await flushed("acc_demo", ticket.id);
    const hub = env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName("acc_demo"));
    expect(await hub.reportedVersion(ticket.id)).toBe(ticket.version);
  });
});

describe("changing a ticket", () => {
  it("replies and notes get consecutive positions; notes stay internal", async () => {
    const { ticket } = await createTicket();
    const reply = await readJson<TicketBody>(await api(`/${ticket.id}/replies`, ana, "POST", { body: "On its way!" }));
    const note = await readJson<TicketBody>(await api(`/${ticket.id}/notes`, ana, "POST", { body: "Carrier delayed" }));
    expect(reply.message).toMatchObject({ seq: 2, isInternalNote: false });
    expect(note.message).toMatchObject({ seq: 3, isInternalNote: true });
    await flushed("acc_demo", ticket.id);
    const shard = await shardOf("acc_demo");
    const rows = await shard.client.execute({
      sql: "SELECT seq, is_internal_note, author_kind FROM messages WHERE ticket_id = ? ORDER BY seq",
      args: [ticket.id],
    });
    expect(rows.rows.map((row) => [row.seq, row.is_internal_note, row.author_kind])).toEqual([
      [1, 0, "customer"],
      [2, 0, "agent"],
      [3, 1, "agent"],
    ]);
    const stored = (await shard.client.execute({ sql: "SELECT first_response_at, version FROM tickets WHERE id = ?", args: [ticket.id] })).rows[0];
    expect(stored?.first_response_at).not.toBeNull();
    expect(stored?.version).toBe(4);
  });

  it("updates status, priority, assignee, team and tags, and closing stamps closed_at", async () => {
    const { ticket } = await createTicket();
    const shard = await shardOf("acc_demo");
    const tagIds = (await shard.client.execute("SELECT id FROM tags WHERE account_id = 'acc_demo' ORDER BY id LIMIT 2")).rows.map((r) => String(r.id));
    const response = await api(`/${ticket.id}`, ana, "PATCH", {
      status: "closed",
      priority: "urgent",
      assigneeId: "agt_demo_ben",
      teamId: "team_demo_support",
      tagIds,
    });
    expect(response.status).toBe(200);
    const updated = (await readJson<TicketBody>(response)).ticket;
    expect(updated).toMatchObject({ status: "closed", priority: "urgent", assigneeId: "agt_demo_ben", tagIds: [...tagIds].sort() });
    await flushed("acc_demo", ticket.id);
    const stored = (await shard.client.execute({ sql: "SELECT * FROM tickets WHERE id = ?", args: [ticket.id] })).rows[0];
    expect(stored).toMatchObject({ status: "closed", priority: "urgent", assignee_id: "agt_demo_ben", team_id: "team_demo_support" });
    expect(stored?.closed_at).not.toBeNull();
    const tags = await shard.client.execute({ sql: "SELECT tag_id FROM ticket_tags WHERE ticket_id = ? ORDER BY tag_id", args: [ticket.id] });
    expect(tags.rows.map((r) => r.tag_id)).toEqual([...tagIds].sort());
  });

  it("keeps 50 concurrent updates consistent: version = number of changes, shard agrees", async () => {
    const { ticket } = await createTicket();
    const shard = await shardOf("acc_demo");
    const tagIds = (await shard.client.execute("SELECT id FROM tags WHERE account_id = 'acc_demo' ORDER BY id")).rows.map((r) => String(r.id));
    expect(tagIds.length).toBeGreaterThanOrEqual(6);
    // Each request sets a different tag set (the bits of i + 1), so whatever order the room
    // serialises them in, every one of them is a change.
    const tagSet = (i: number) => tagIds.filter((_, bit) => ((i + 1) >> bit) & 1);
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => api(`/${ticket.id}`, ana, "PATCH", { tagIds: tagSet(i) })));
    for (const response of responses) expect(response.status).toBe(200);
    const current = await room("acc_demo", ticket.id).ticket({ accountId: "acc_demo", ticketId: ticket.id });
    expect(current.ok).toBe(true);
    if (!current.ok) return;
    // Creation, the first message, and 50 changes.
    expect(current.value.version).toBe(52);
    await flushed("acc_demo", ticket.id);
    const stored = (await shard.client.execute({ sql: "SELECT version FROM tickets WHERE id = ?", args: [ticket.id] })).rows[0];
    expect(stored?.version).toBe(52);
    const storedTags = await shard.client.execute({ sql: "SELECT tag_id FROM ticket_tags WHERE ticket_id = ? ORDER BY tag_id", args: [ticket.id] });
    expect(storedTags.rows.map((r) => String(r.tag_id))).toEqual(current.value.tagIds);
  });

  it("snoozes a ticket and reopens it from the room's alarm when the time comes", async () => {
    const { ticket } = await createTicket();
    const until = Date.now() + 300;
    const snoozed = await readJson<TicketBody>(await api(`/${ticket.id}`, ana, "PATCH", { snoozedUntil: until }));
    expect(snoozed.ticket.status).toBe("snoozed");
    // The alarm fires by itself; run it by hand too in case it has not yet (false if it has).
    await new Promise((resolve) => setTimeout(resolve, 400));
    await runDurableObjectAlarm(room("acc_demo", ticket.id));
    const woken = await room("acc_demo", ticket.id).ticket({ accountId: "acc_demo", ticketId: ticket.id });
    expect(woken.ok && woken.value.status).toBe("open");
    expect(woken.ok && woken.value.snoozedUntil).toBeNull();
    await flushed("acc_demo", ticket.id);
    const stored = (await (await shardOf("acc_demo")).client.execute({ sql: "SELECT status FROM tickets WHERE id = ?", args: [ticket.id] })).rows[0];
    expect(stored?.status).toBe("open");
  });

  it("deletes a quiet room's flushed outbox entries on its alarm, and a busy room's with its next commit", async () => {
    const { ticket } = await createTicket();
    const stub = room("acc_demo", ticket.id);
    const outboxRows = () => runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n);
    await flushed("acc_demo", ticket.id);
    // On the shard and reported, still stored: deleting them now would cost a commit per flush.
    expect(await outboxRows()).toBeGreaterThan(0);
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).not.toBeNull();
    // The next change's commit deletes them, leaving only its own entry until that is flushed.
    await api(`/${ticket.id}`, ana, "PATCH", { priority: "low" });
    expect(await outboxRows()).toBe(1);
    await flushed("acc_demo", ticket.id);
    // An alarm while the room is busy leaves them for its next commit (no commit of its own)…
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await outboxRows()).toBe(1);
    // …and once the room is quiet (here: restarted, so it no longer knows of a recent commit)
    // its alarm deletes what is left and is not re-armed.
    await evictDurableObject(stub);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await outboxRows()).toBe(0);
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBeNull();
    expect(await stub.pendingChanges()).toBe(0);
  });

  it("does not count a no-op update as a change", async () => {
    const { ticket } = await createTicket();
    const first = await readJson<TicketBody>(await api(`/${ticket.id}`, ana, "PATCH", { priority: "high" }));
    const second = await readJson<TicketBody>(await api(`/${ticket.id}`, ana, "PATCH", { priority: "high" }));
    expect(second.ticket.version).toBe(first.ticket.version);
  });
});

describe("bad input and other accounts", () => {
  it("answers another account's ticket exactly like a missing one: 404", async () => {
    const foreign = await api("/tkt_other_teapot/replies", ana, "POST", { body: "hi" });
    const missing = await api("/tkt_does_not_exist/replies", ana, "POST", { body: "hi" });
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(await readJson(foreign)).toEqual(await readJson(missing));
    const patch = await api("/tkt_other_teapot", ana, "PATCH", { status: "closed" });
    expect(patch.status).toBe(404);
    // And the other account's ticket is untouched.
    const shard = await shardOf("acc_other");
    const stored = (await shard.client.execute("SELECT status FROM tickets WHERE id = 'tkt_other_teapot'")).rows[0];
    expect(stored?.status).toBe("open");
  });

  it("lets the other account work on its own ticket", async () => {
    const response = await api("/tkt_other_teapot/notes", olive, "POST", { body: "Ask for a photo" });
    expect(response.status).toBe(201);
  });

  it("rejects invalid payloads with 400 and field errors", async () => {
    const cases: [string, string, unknown, string[]][] = [
      ["", "POST", { subject: "", body: 5 }, ["body", "customer", "subject"]],
      ["/x", "PATCH", { status: "done", priority: 3 }, ["priority", "status"]],
      ["/x", "PATCH", {}, ["(body)"]],
      ["/x", "PATCH", { status: "snoozed" }, ["snoozedUntil"]],
      ["/x/replies", "POST", { body: "   " }, ["body"]],
      ["/x/replies", "POST", { body: "hi", extra: true }, ["(body)"]],
    ];
    for (const [path, method, body, fields] of cases) {
      const response = await api(path, ana, method, body);
      expect(response.status, `${method} ${path}`).toBe(400);
      const error = (await readJson(response)).error;
      expect(error.code).toBe("VALIDATION_FAILED");
      expect(Object.keys(error.fields ?? {}).sort()).toEqual(fields);
    }
  });

  it("rejects references to agents, teams or tags of no such kind in this account", async () => {
    const { ticket } = await createTicket();
    const response = await api(`/${ticket.id}`, ana, "PATCH", { assigneeId: "agt_other_olive", teamId: "team_nope", tagIds: ["tag_nope"] });
    expect(response.status).toBe(400);
    expect(Object.keys((await readJson(response)).error.fields ?? {}).sort()).toEqual(["assigneeId", "tagIds", "teamId"]);
  });

  it("rejects malformed JSON with 400 and bodies over 1 MB with 413", async () => {
    expect((await api("", ana, "POST", "{nope")).status).toBe(400);
    const huge = await api("", ana, "POST", { customer: { email: "a@b.co" }, subject: "x", body: "y".repeat(1_100_000) });
    expect(huge.status).toBe(413);
  });

  it("requires a session", async () => {
    const response = await SELF.fetch("http://hub.test/api/tickets/x/notes", { method: "POST", body: "{}" });
    expect(response.status).toBe(401);
  });
});
