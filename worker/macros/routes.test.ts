import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { roomName } from "../../durable-objects/ticket-room/room-api.ts";
import { loginToken, readJson } from "../test-support/live-client.ts";
import { shardOf } from "../test-support/shard.ts";

let admin: string;
let ana: string;
let olive: string;

beforeAll(async () => {
  [admin, ana, olive] = await Promise.all([loginToken("admin@demo.shop"), loginToken("ana@demo.shop"), loginToken("owner@other.shop")]);
});

function call(path: string, token: string, method = "GET", body?: unknown) {
  return SELF.fetch(`http://hub.test/api${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

interface MacroBody {
  macro: { id: string; name: string; body: string };
}

describe("macros", () => {
  it("are managed by admins only, with validated bodies and actions", async () => {
    const input = { name: "Thanks", body: "Thanks {{customer.first_name}}!", actions: [{ type: "close" }] };
    expect((await call("/macros", ana, "POST", input)).status).toBe(403);
    const created = await call("/macros", admin, "POST", input);
    expect(created.status).toBe(201);
    const { macro } = await readJson<MacroBody>(created);

    const bad = await call("/macros", admin, "POST", { name: "", body: "Hi {{customer.shoe_size}}", actions: [{ type: "explode" }] });
    expect(bad.status).toBe(400);
    expect(Object.keys((await readJson(bad)).error.fields ?? {}).sort()).toEqual(["actions.0.type", "body", "name"]);

    expect((await call(`/macros/${macro.id}`, admin, "PATCH", { name: "Thank you" })).status).toBe(200);
    const listed = await readJson<{ macros: { id: string; name: string }[] }>(await call("/macros", ana));
    expect(listed.macros.find((m) => m.id === macro.id)?.name).toBe("Thank you");
    // Another account sees none of it.
    const other = await readJson<{ macros: { id: string }[] }>(await call("/macros", olive));
    expect(other.macros.map((m) => m.id)).not.toContain(macro.id);
    // An admin of another account cannot touch it: to them it does not exist.
    expect((await call(`/macros/${macro.id}`, olive, "DELETE")).status).toBe(404);
    expect((await call(`/macros/${macro.id}`, admin, "DELETE")).status).toBe(204);
    expect((await call(`/macros/${macro.id}`, admin, "DELETE")).status).toBe(404);
  });

  it("apply: renders variables (first name, last order, agent), replies, then runs the actions", async () => {
    const shard = await shardOf("acc_demo");
    // A seeded customer with orders, and a ticket of theirs.
    const row = (
      await shard.client.execute(`SELECT c.id, c.name, o.number FROM customers c JOIN orders o ON o.customer_id = c.id
        WHERE c.account_id = 'acc_demo' ORDER BY o.created_at DESC LIMIT 1`)
    ).rows[0]!;
    const ticketId = String(
      (await shard.client.execute({ sql: "SELECT id FROM tickets WHERE customer_id = ? LIMIT 1", args: [String(row.id)] })).rows[0]?.id ??
        "",
    );
    expect(ticketId).not.toBe("");
    const latest = (
      await shard.client.execute({ sql: "SELECT number FROM orders WHERE customer_id = ? ORDER BY created_at DESC LIMIT 1", args: [String(row.id)] })
    ).rows[0]!.number;
    const { macro } = await readJson<MacroBody>(
      await call("/macros", admin, "POST", {
        name: "Order update",
        body: "Hi {{customer.first_name}}, order {{customer.last_order_number}} is on its way. — {{agent.name}}",
        actions: [{ type: "set_priority", priority: "low" }, { type: "set_status", status: "pending" }],
      }),
    );
    const firstName = String(row.name).split(" ")[0];
    const expected = `Hi ${firstName}, order ${latest} is on its way. — Ana`;

    const preview = await call(`/tickets/${ticketId}/macros/${macro.id}`, ana, "POST", { dryRun: true });
    expect(preview.status).toBe(200);
    expect(await readJson<{ body: string }>(preview)).toMatchObject({ body: expected, patch: { priority: "low", status: "pending" } });

    const applied = await call(`/tickets/${ticketId}/macros/${macro.id}`, ana, "POST", {});
    expect(applied.status).toBe(201);
    const result = await readJson<{ ticket: { status: string; priority: string }; message: { body: string; authorKind: string } }>(applied);
    expect(result.ticket).toMatchObject({ status: "pending", priority: "low" });
    expect(result.message).toMatchObject({ body: expected, authorKind: "agent" });

    const room = env.TICKET_ROOM.get(env.TICKET_ROOM.idFromName(roomName({ accountId: "acc_demo", ticketId })));
    await room.flush();
    const stored = await shard.client.execute({ sql: "SELECT body FROM messages WHERE ticket_id = ? ORDER BY seq DESC LIMIT 1", args: [ticketId] });
    expect(stored.rows[0]?.body).toBe(expected);
  });

  it("apply answers 404 for another account's macro or ticket", async () => {
    const { macro } = await readJson<MacroBody>(await call("/macros", admin, "POST", { name: "X", body: "x", actions: [] }));
    expect((await call(`/tickets/tkt_other_teapot/macros/${macro.id}`, ana, "POST", {})).status).toBe(404);
    expect((await call(`/tickets/tkt_other_teapot/macros/${macro.id}`, olive, "POST", {})).status).toBe(404);
  });
});

describe("rules API", () => {
  it("is admin-only and validates definitions", async () => {
    expect((await call("/rules", ana)).status).toBe(403);
    const bad = await call("/rules", admin, "POST", {
      name: "Bad",
      event: "ticket_created",
      conditions: [{ field: "subject", op: "matches", value: "([" }],
      actions: [],
    });
    expect(bad.status).toBe(400);
    expect(Object.keys((await readJson(bad)).error.fields ?? {}).sort()).toEqual(["actions", "conditions.0.value"]);
    const good = await call("/rules", admin, "POST", {
      name: "VIP",
      event: "message_received",
      conditions: [{ field: "customer_email_domain", op: "eq", value: "vip.example" }],
      actions: [{ type: "set_priority", priority: "high" }],
      enabled: false,
    });
    expect(good.status).toBe(201);
    const { rule } = await readJson<{ rule: { id: string } }>(good);
    const list = await readJson<{ rules: { id: string }[] }>(await call("/rules", admin));
    expect(list.rules.map((r) => r.id)).toContain(rule.id);
    expect((await call(`/rules/${rule.id}`, admin, "DELETE")).status).toBe(204);
  });
});
