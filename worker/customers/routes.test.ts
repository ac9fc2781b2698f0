import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJson } from "../test-support/live-client.ts";
import { createReadFixture, requestAs, SEEDED, type ReadFixture } from "../test-support/read-fixture.ts";
import type { CustomerJson, TimelineEntry } from "./routes.ts";

type TimelineBody = { customer: CustomerJson; timeline: TimelineEntry[]; hasMore: boolean };
type ErrorBody = { error: { code: string; message: string; fields?: Record<string, string[]> } };

const HOUR = 3_600_000;
let fx: ReadFixture;

beforeAll(async () => {
  fx = await createReadFixture("customers");
  const kim = fx.customerIds[0];
  // Orders between Kim's tickets in time (tickets are 1..30 h old, then 40..44 h).
  const orders = [
    ["o1", "#1", 2.5, "shipped", [{ sku: "A", name: "Alpha mug", quantity: 2, unitPriceCents: 1250 }], 2500],
    ["o2", "#2", 20.5, "delivered", [{ sku: "B", name: "Beta cap", quantity: 1, unitPriceCents: 1900 }], 2500],
    ["o3", "#3", 100, "refunded", [{ sku: "C", name: "Gamma socks", quantity: 3, unitPriceCents: 500 }], 1500],
  ] as const;
  await fx.shard.client.batch(
    orders.map(([key, number, hoursAgo, status, items, total]) => ({
      sql: `INSERT INTO orders (id, account_id, customer_id, number, status, total_cents, currency, items, created_at, shipped_at, tracking_url)
            VALUES (?, ?, ?, ?, ?, ?, 'EUR', ?, ?, NULL, NULL)`,
      args: [`ord_${fx.accountId}_${key}`, fx.accountId, kim, number, status, total, JSON.stringify(items), fx.now - hoursAgo * HOUR],
    })),
    "write",
  );
});

afterAll(async () => {
  await fx?.drop();
});

describe("GET /api/customers/:id", () => {
  it("returns the customer", async () => {
    const response = await fx.request(`/api/customers/${fx.customerIds[1]}`);
    expect(response.status).toBe(200);
    expect((await readJson<{ customer: CustomerJson }>(response)).customer).toEqual({
      id: fx.customerIds[1],
      name: "Lou Fixture",
      email: expect.stringMatching(/^lou\..*@example\.com$/),
      phone: null,
      createdAt: fx.now,
    });
  });

  it("answers another account's customer like a missing one", async () => {
    const demo = await readJson<{ tickets: { customer: { id: string } }[] }>(await requestAs(SEEDED.ana, "/api/tickets?limit=1"));
    const demoCustomer = demo.tickets[0]!.customer.id;
    expect((await requestAs(SEEDED.ana, `/api/customers/${demoCustomer}`)).status).toBe(200);
    for (const path of [`/api/customers/${demoCustomer}`, `/api/customers/${demoCustomer}/timeline`]) {
      const foreign = await fx.request(path);
      const missing = await fx.request(path.replace(demoCustomer, "cus_missing"));
      expect(foreign.status).toBe(404);
      expect(await readJson(foreign)).toEqual(await readJson(missing));
    }
    expect((await requestAs(SEEDED.olive, `/api/customers/${demoCustomer}`)).status).toBe(404);
  });
});

describe("GET /api/customers/:id/timeline", () => {
  it("merges the customer's tickets and orders, newest first", async () => {
    const kim = fx.customerIds[0];
    const response = await fx.request(`/api/customers/${kim}/timeline?limit=200`);
    expect(response.status).toBe(200);
    const body = await readJson<TimelineBody>(response);
    expect(body.customer.id).toBe(kim);
    expect(body.hasMore).toBe(false);
    const kimTickets = fx.tickets.filter((t) => t.customerId === kim);
    expect(body.timeline.filter((e) => e.kind === "ticket")).toHaveLength(kimTickets.length);
    expect(body.timeline.filter((e) => e.kind === "order")).toHaveLength(3);
    const times = body.timeline.map((entry) => entry.at);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    // Orders sit between tickets in time.
    const kinds = body.timeline.map((entry) => entry.kind);
    expect(kinds.indexOf("order")).toBeGreaterThan(0);
    expect(kinds.at(-1)).toBe("order");

    const newestTicket = [...kimTickets].sort((a, b) => b.createdAt - a.createdAt)[0]!;
    expect(body.timeline[0]).toEqual({
      kind: "ticket",
      at: newestTicket.createdAt,
      ticket: {
        id: newestTicket.id,
        subject: newestTicket.subject,
        status: newestTicket.status,
        priority: newestTicket.priority,
        channel: newestTicket.channel,
        createdAt: newestTicket.createdAt,
        updatedAt: newestTicket.updatedAt,
        lastMessageAt: newestTicket.lastMessageAt,
      },
    });
    expect(body.timeline.find((e) => e.kind === "order" && e.order.number === "#1")).toEqual({
      kind: "order",
      at: fx.now - 2.5 * HOUR,
      order: {
        id: `ord_${fx.accountId}_o1`,
        number: "#1",
        status: "shipped",
        totalCents: 2500,
        currency: "EUR",
        items: [{ sku: "A", name: "Alpha mug", quantity: 2, unitPriceCents: 1250 }],
        itemCount: 2,
        createdAt: fx.now - 2.5 * HOUR,
        shippedAt: null,
        trackingUrl: null,
      },
    });
  });

  it("keeps only the newest `limit` entries and says there are more", async () => {
    const kim = fx.customerIds[0];
    const full = await readJson<TimelineBody>(await fx.request(`/api/customers/${kim}/timeline?limit=200`));
    const short = await readJson<TimelineBody>(await fx.request(`/api/customers/${kim}/timeline?limit=4`));
    expect(short.hasMore).toBe(true);
    expect(short.timeline).toEqual(full.timeline.slice(0, 4));
    expect(short.timeline.map((e) => e.kind)).toContain("order");
  });

  it("shows a seeded customer's orders and tickets", async () => {
    const demo = await readJson<{ tickets: { customer: { id: string } }[] }>(
      await requestAs(SEEDED.ana, "/api/tickets?limit=100&sort=created&order=asc"),
    );
    const customerId = demo.tickets[0]!.customer.id;
    const body = await readJson<TimelineBody>(await requestAs(SEEDED.ana, `/api/customers/${customerId}/timeline`));
    expect(body.timeline.some((e) => e.kind === "ticket")).toBe(true);
    const times = body.timeline.map((entry) => entry.at);
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it.each([
    ["limit=0", ["limit"]],
    ["limit=201", ["limit"]],
    ["limit=x&before=1", ["before", "limit"]],
  ])("rejects %s with 400 and the bad fields", async (query, fields) => {
    const response = await fx.request(`/api/customers/${fx.customerIds[0]}/timeline?${query}`);
    expect(response.status).toBe(400);
    expect(Object.keys((await readJson<ErrorBody>(response)).error.fields ?? {}).sort()).toEqual(fields);
  });
});
