import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { accountShard } from "../shards.ts";
import { readJson } from "../test-support/live-client.ts";
import { readApp } from "../test-support/read-app.ts";
import { createReadFixture, requestAs, SEEDED, type FixtureTicket, type ReadFixture } from "../test-support/read-fixture.ts";
import type { TicketDetail, TicketSummary } from "./read-routes.ts";

type ListBody = { tickets: TicketSummary[]; nextCursor: string | null };
type DetailBody = { ticket: TicketDetail; messages: { id: string; seq: number; body: string; isInternalNote: boolean; createdAt: number }[] };
type ErrorBody = { error: { code: string; message: string; fields?: Record<string, string[]> } };

let fx: ReadFixture;

beforeAll(async () => {
  fx = await createReadFixture("list");
});

afterAll(async () => {
  await fx?.drop();
});

async function list(query: string): Promise<ListBody> {
  const response = await fx.request(`/api/tickets?${query}`);
  expect(response.status, `${query}: ${response.status === 200 ? "" : await response.clone().text()}`).toBe(200);
  return readJson<ListBody>(response);
}

/** Every page of a listing, following nextCursor. */
async function pages(query: string, limit: number): Promise<{ ids: string[]; pageCount: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pageCount = 0;
  do {
    const body: ListBody = await list(`${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(body.tickets.length).toBeLessThanOrEqual(limit);
    if (body.nextCursor) expect(body.tickets).toHaveLength(limit);
    ids.push(...body.tickets.map((ticket) => ticket.id));
    cursor = body.nextCursor;
    pageCount += 1;
    expect(pageCount).toBeLessThan(50);
  } while (cursor);
  return { ids, pageCount };
}

const cmp = (a: number | string, b: number | string) => (a < b ? -1 : a > b ? 1 : 0);
const RANK = { low: 0, normal: 1, high: 2, urgent: 3 } as const;

function expectedOrder(tickets: FixtureTicket[], key: (t: FixtureTicket) => number[], order: "asc" | "desc"): string[] {
  const sign = order === "asc" ? 1 : -1;
  return [...tickets]
    .sort((a, b) => {
      const [ka, kb] = [key(a), key(b)];
      for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return sign * cmp(ka[i]!, kb[i]!);
      return sign * cmp(a.id, b.id);
    })
    .map((t) => t.id);
}

describe("GET /api/tickets", () => {
  it("needs a session", async () => {
    for (const headers of [{}, { Authorization: "Bearer garbage" }] as Record<string, string>[]) {
      const response = await readApp.request("/api/tickets", { headers }, env);
      expect(response.status).toBe(401);
      expect((await readJson(response)).error.code).toBe("UNAUTHORIZED");
    }
  });

  it("lists the account's tickets as summaries, 25 by default, most recently updated first", async () => {
    const body = await list("");
    expect(body.tickets).toHaveLength(25);
    expect(body.nextCursor).toEqual(expect.any(String));
    expect(body.tickets.map((t) => t.id)).toEqual(expectedOrder(fx.tickets, (t) => [t.updatedAt], "desc").slice(0, 25));
    const tagged = fx.tickets.find((t) => t.tagIds.length === 2)!;
    const summary = (await list("limit=100")).tickets.find((t) => t.id === tagged.id)!;
    expect(summary).toEqual({
      id: tagged.id,
      subject: tagged.subject,
      status: tagged.status,
      priority: tagged.priority,
      channel: tagged.channel,
      assigneeId: tagged.assigneeId,
      teamId: tagged.teamId,
      customer: { id: tagged.customerId, name: "Kim Fixture", email: expect.stringMatching(/^kim\..*@example\.com$/) },
      tags: [
        { id: fx.tagIds[0], name: "alpha" },
        { id: fx.tagIds[1], name: "beta" },
      ],
      createdAt: tagged.createdAt,
      updatedAt: tagged.updatedAt,
      lastMessageAt: tagged.lastMessageAt,
      version: 1,
    });
  });

  it("never shows another account's tickets", async () => {
    const demo = await requestAs(SEEDED.ana, "/api/tickets?limit=100");
    const ids = (await readJson<ListBody>(demo)).tickets.map((t) => t.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.some((id) => fx.tickets.some((t) => t.id === id))).toBe(false);
    const mine = (await list("limit=100")).tickets.map((t) => t.id);
    expect(new Set(mine)).toEqual(new Set(fx.tickets.map((t) => t.id)));
  });

  it.each([
    ["sort=updated&order=desc", (t: FixtureTicket) => [t.updatedAt], "desc"],
    ["sort=updated&order=asc", (t: FixtureTicket) => [t.updatedAt], "asc"],
    ["sort=created&order=asc", (t: FixtureTicket) => [t.createdAt], "asc"],
    ["sort=priority&order=desc", (t: FixtureTicket) => [RANK[t.priority], t.updatedAt], "desc"],
    ["sort=priority&order=asc", (t: FixtureTicket) => [RANK[t.priority], t.updatedAt], "asc"],
    ["sort=last_message", (t: FixtureTicket) => [t.lastMessageAt ?? t.createdAt], "desc"],
  ] as const)("pages through %s without duplicates or gaps", async (query, key, order) => {
    const { ids, pageCount } = await pages(query, 7);
    expect(pageCount).toBe(Math.ceil(fx.tickets.length / 7));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expectedOrder(fx.tickets, key, order));
  });

  it("pages through a filtered list", async () => {
    const { ids } = await pages("status=open,pending&sort=created", 4);
    const expected = expectedOrder(
      fx.tickets.filter((t) => t.status === "open" || t.status === "pending"),
      (t) => [t.createdAt],
      "desc",
    );
    expect(expected.length).toBeGreaterThan(8);
    expect(ids).toEqual(expected);
  });

  it.each([
    ["status=closed", (t: FixtureTicket) => t.status === "closed"],
    ["status=open&status=snoozed", (t: FixtureTicket) => t.status === "open" || t.status === "snoozed"],
    ["channel=sms", (t: FixtureTicket) => t.channel === "sms"],
    ["priority=urgent,high", (t: FixtureTicket) => t.priority === "urgent" || t.priority === "high"],
    ["assignee=me", (t: FixtureTicket) => t.assigneeId === fx.agent.agentId],
    ["assignee=unassigned", (t: FixtureTicket) => t.assigneeId === null],
    ["assignee=ADMIN", (t: FixtureTicket) => t.assigneeId === fx.admin.agentId],
    ["team=TEAM", (t: FixtureTicket) => t.teamId === fx.teamId],
    ["team=none", (t: FixtureTicket) => t.teamId === null],
    ["tag=TAG0&tag=TAG1", (t: FixtureTicket) => t.tagIds.includes(fx.tagIds[0]) || t.tagIds.includes(fx.tagIds[1])],
    ["tag=TAG1", (t: FixtureTicket) => t.tagIds.includes(fx.tagIds[1])],
    ["createdWithinHours=10", (t: FixtureTicket) => t.createdAt >= Date.now() - 10 * 3_600_000],
    ["updatedWithinHours=2&status=open", (t: FixtureTicket) => t.updatedAt >= Date.now() - 2 * 3_600_000 && t.status === "open"],
  ] as const)("filters by %s", async (template, expected) => {
    const query = template
      .replace("ADMIN", fx.admin.agentId)
      .replace("TEAM", fx.teamId)
      .replace("TAG0", fx.tagIds[0])
      .replace("TAG1", fx.tagIds[1]);
    const ids = (await list(`${query}&limit=100`)).tickets.map((t) => t.id);
    const want = fx.tickets.filter(expected).map((t) => t.id);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(fx.tickets.length);
    expect(new Set(ids)).toEqual(new Set(want));
  });

  describe("full-text search (q)", () => {
    const id = (key: string) => fx.tickets.find((t) => t.id.endsWith(`_${key}`))!.id;

    it("ranks a ticket whose subject matches above ones that mention the word once in a message", async () => {
      const found = (await list("q=zeppelin")).tickets.map((t) => t.id);
      expect(found).toHaveLength(3);
      expect(found[0]).toBe(id("zsubject"));
      expect(new Set(found.slice(1))).toEqual(new Set([id("zbody"), id("zbody2")]));
    });

    it("is case and accent insensitive and supports a trailing * for prefixes", async () => {
      expect((await list("q=ZÉPPELIN")).tickets).toHaveLength(3);
      expect((await list(`q=${encodeURIComponent("zeppel*")}`)).tickets).toHaveLength(3);
      expect((await list("q=zeppel")).tickets).toHaveLength(0);
    });

    it("matches a ticket when every word is found somewhere in it (subject, customer or messages)", async () => {
      expect((await list("q=quokka")).tickets.map((t) => t.id).sort()).toEqual([id("qboth"), id("qone")].sort());
      // "quokka" is in the subject, "marmalade" in a message: both words, one ticket.
      expect((await list("q=quokka%20marmalade")).tickets.map((t) => t.id)).toEqual([id("qboth")]);
      expect((await list("q=quokka%20zeppelin")).tickets).toHaveLength(0);
    });

    it("finds internal notes and customers by email", async () => {
      const note = (await list("q=Internal%20checked%2017")).tickets.map((t) => t.id);
      expect(note).toEqual([fx.tickets[17]!.id]);
      const email = fx.tickets[0]!;
      const byEmail = (await list(`q=${encodeURIComponent(`kim.${fx.accountId.split("_").at(-1)}@example.com`)}&limit=100`)).tickets;
      expect(byEmail.length).toBe(fx.tickets.filter((t) => t.customerId === email.customerId).length);
      expect(byEmail.every((t) => t.customer.id === email.customerId)).toBe(true);
    });

    it("combines with filters", async () => {
      expect((await list("q=zeppelin&status=closed")).tickets.map((t) => t.id)).toEqual([id("zbody")]);
      expect((await list("q=zeppelin&status=open,pending")).tickets.map((t) => t.id)).toEqual([id("zsubject"), id("zbody2")]);
      const tagged = (await list(`q=fixture&tag=${fx.tagIds[1]}&limit=100`)).tickets;
      expect(tagged.map((t) => t.id).sort()).toEqual(fx.tickets.filter((t) => t.tagIds.includes(fx.tagIds[1])).map((t) => t.id).sort());
    });

    it("pages through the ranked list without duplicates or gaps (ties broken by id)", async () => {
      const all = (await list("q=question&limit=100")).tickets.map((t) => t.id);
      expect(all.length).toBeGreaterThan(30);
      const { ids, pageCount } = await pages("q=question", 6);
      expect(pageCount).toBe(Math.ceil(all.length / 6));
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(all);
    });

    it("can also sort search results by a field", async () => {
      const found = (await list("q=zeppelin&sort=created&order=asc")).tickets.map((t) => t.id);
      expect(found).toEqual([id("zbody2"), id("zbody"), id("zsubject")]);
    });

    it("stays inside the account", async () => {
      const response = await requestAs(SEEDED.ana, "/api/tickets?q=zeppelin");
      expect((await readJson<ListBody>(response)).tickets).toEqual([]);
      const teapot = await requestAs(SEEDED.ana, "/api/tickets?q=teapot");
      expect((await readJson<ListBody>(teapot)).tickets).toEqual([]);
      const olive = await requestAs(SEEDED.olive, "/api/tickets?q=teapot");
      expect((await readJson<ListBody>(olive)).tickets.map((t) => t.id)).toEqual(["tkt_other_teapot"]);
    });
  });

  describe("?view=", () => {
    const sharedView = () => `view_shared_${fx.accountId}`;
    const adminPrivate = () => `view_admin_${fx.accountId}`;

    beforeAll(async () => {
      await fx.shard.client.batch(
        [
          {
            sql: "INSERT INTO views (id, account_id, name, filter, position, owner_agent_id) VALUES (?, ?, 'Open, oldest first', ?, 0, NULL)",
            args: [sharedView(), fx.accountId, JSON.stringify({ status: ["open"], sort: { field: "created_at", direction: "asc" } })],
          },
          {
            sql: "INSERT INTO views (id, account_id, name, filter, position, owner_agent_id) VALUES (?, ?, 'Mine', ?, 1, ?)",
            args: [adminPrivate(), fx.accountId, JSON.stringify({ assignee: "me" }), fx.admin.agentId],
          },
        ],
        "write",
      );
    });

    it("lists a view's tickets in the view's order", async () => {
      const ids = (await list(`view=${sharedView()}&limit=100`)).tickets.map((t) => t.id);
      expect(ids).toEqual(expectedOrder(fx.tickets.filter((t) => t.status === "open"), (t) => [t.createdAt], "asc"));
    });

    it("narrows a view with extra parameters and search", async () => {
      const ids = (await list(`view=${sharedView()}&channel=email&limit=100`)).tickets.map((t) => t.id);
      expect(ids).toEqual(
        expectedOrder(fx.tickets.filter((t) => t.status === "open" && t.channel === "email"), (t) => [t.createdAt], "asc"),
      );
      expect((await list(`view=${sharedView()}&q=zeppelin`)).tickets.map((t) => t.id)).toEqual([
        fx.tickets.find((t) => t.id.endsWith("_zsubject"))!.id,
        fx.tickets.find((t) => t.id.endsWith("_zbody2"))!.id,
      ]);
    });

    it("applies 'me' as the agent looking at the view", async () => {
      const response = await fx.request(`/api/tickets?view=${adminPrivate()}&limit=100`, fx.admin);
      const ids = (await readJson<ListBody>(response)).tickets.map((t) => t.id);
      expect(new Set(ids)).toEqual(new Set(fx.tickets.filter((t) => t.assigneeId === fx.admin.agentId).map((t) => t.id)));
    });

    it("is 404 for an unknown view, another agent's private view, and another account's view", async () => {
      for (const [who, view] of [
        [fx.agent, "view_nope"],
        [fx.agent, adminPrivate()],
        [fx.agent, "view_demo_unassigned"],
      ] as const) {
        const response = await fx.request(`/api/tickets?view=${view}`, who);
        expect(response.status, view).toBe(404);
        expect(await readJson(response)).toEqual({ error: { code: "NOT_FOUND", message: "view not found" } });
      }
    });
  });

  it.each([
    ["limit=0", ["limit"]],
    ["limit=101", ["limit"]],
    ["limit=ten", ["limit"]],
    ["status=bogus", ["status.0"]],
    ["status=", ["status"]],
    ["channel=fax&priority=meh", ["channel.0", "priority.0"]],
    ["sort=random", ["sort"]],
    ["order=sideways", ["order"]],
    ["createdWithinHours=0&updatedWithinHours=1.5", ["createdWithinHours", "updatedWithinHours"]],
    ["createdWithinHours=999999", ["createdWithinHours"]],
    ["sort=relevance", ["sort"]],
    ["stauts=open&view=x&view=y", ["stauts", "view"]],
    ["q=", ["q"]],
    [`q=${"x".repeat(201)}`, ["q"]],
    ["q=***%20--", ["q"]],
    ["q=a%20b%20c%20d%20e%20f%20g%20h%20i", ["q"]],
    ["cursor=not-a-cursor", ["cursor"]],
  ])("rejects %s with 400 and the bad fields", async (query, fields) => {
    const response = await fx.request(`/api/tickets?${query}`);
    expect(response.status).toBe(400);
    const body = await readJson<ErrorBody>(response);
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(Object.keys(body.error.fields ?? {}).sort()).toEqual([...fields].sort());
  });

  it("rejects a cursor from another sort or search", async () => {
    const first = await list("sort=created&limit=2");
    expect(first.nextCursor).not.toBeNull();
    for (const query of ["sort=updated", "sort=created&order=asc", "q=fixture&sort=created"]) {
      const response = await fx.request(`/api/tickets?${query}&limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`);
      expect(response.status, query).toBe(400);
      expect(Object.keys((await readJson<ErrorBody>(response)).error.fields ?? {})).toEqual(["cursor"]);
    }
    const ok = await fx.request(`/api/tickets?sort=created&limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(ok.status).toBe(200);
  });
});

describe("GET /api/tickets cursors are signed and bound to the account and the search", () => {
  /** Rewrites a cursor's JSON payload (the part before any signature) and keeps the rest. */
  function tamper(cursor: string, edit: (data: Record<string, unknown>) => void): string {
    const [payload = "", ...rest] = cursor.split(".");
    const data = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
    edit(data);
    const encoded = btoa(JSON.stringify(data)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    return [encoded, ...rest].join(".");
  }

  async function expectCursorRefused(response: Response, message: RegExp): Promise<void> {
    expect(response.status).toBe(400);
    const body = await readJson<ErrorBody>(response);
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(Object.keys(body.error.fields ?? {})).toEqual(["cursor"]);
    expect(body.error.fields?.["cursor"]?.join()).toMatch(message);
  }

  it("refuses a cursor issued to another account", async () => {
    const first = await list("sort=created&limit=2");
    expect(first.nextCursor).not.toBeNull();
    const response = await requestAs(SEEDED.ana, `/api/tickets?sort=created&limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`);
    await expectCursorRefused(response, /another account/);
  });

  it("refuses a cursor whose keyset was altered", async () => {
    const first = await list("sort=created&limit=2");
    const altered = tamper(first.nextCursor!, (data) => {
      const keys = data["k"] as (number | string)[];
      keys[0] = Number(keys[0]) + 1;
    });
    await expectCursorRefused(await fx.request(`/api/tickets?sort=created&limit=2&cursor=${encodeURIComponent(altered)}`), /altered/);
  });

  it("pages through a search, and refuses its cursor once the window in it is widened", async () => {
    const all = await list("q=fixture&limit=100");
    expect(all.tickets.length).toBeGreaterThan(2);
    const paged = await pages("q=fixture", 2);
    expect(paged.ids).toEqual(all.tickets.map((ticket) => ticket.id));

    const first = await list("q=fixture&limit=2");
    const widened = tamper(first.nextCursor!, (data) => {
      data["w"] = [1, 2 ** 50, -1, -(2 ** 50), 1, -1];
    });
    await expectCursorRefused(await fx.request(`/api/tickets?q=fixture&limit=2&cursor=${encodeURIComponent(widened)}`), /altered/);
  });
});

describe("GET /api/tickets/:id", () => {
  it("returns the ticket with its thread in seq order, internal notes included", async () => {
    const ticket = fx.tickets[1]!;
    const response = await fx.request(`/api/tickets/${ticket.id}`);
    expect(response.status).toBe(200);
    const body = await readJson<DetailBody>(response);
    expect(body.ticket).toMatchObject({
      id: ticket.id,
      subject: ticket.subject,
      status: ticket.status,
      customer: { id: ticket.customerId, name: "Lou Fixture" },
      tags: [],
      snoozedUntil: null,
      firstResponseAt: null,
      closedAt: null,
      aiState: "none",
    });
    expect(body.messages.map((m) => [m.id, m.seq, m.isInternalNote])).toEqual([
      [ticket.messages[0]!.id, 1, false],
      [ticket.messages[1]!.id, 2, true],
    ]);
  });

  it("orders by seq before created time", async () => {
    const ticket = fx.tickets[2]!;
    const t0 = ticket.createdAt;
    // Three messages whose clocks disagree with the room's order (seq).
    await fx.shard.client.batch(
      [
        { sql: "DELETE FROM messages WHERE ticket_id = ?", args: [ticket.id] },
        ...[
          ["m_b", 2, t0 + 1],
          ["m_a", 1, t0 + 5],
          ["m_c", 3, t0 + 3],
        ].map(([suffix, seq, at]) => ({
          sql: `INSERT INTO messages (id, account_id, ticket_id, author_kind, body, channel, seq, created_at)
                VALUES (?, ?, ?, 'customer', 'x', 'email', ?, ?)`,
          args: [`${ticket.id}_${suffix}`, fx.accountId, ticket.id, seq!, at!],
        })),
      ],
      "write",
    );
    const body = await readJson<DetailBody>(await fx.request(`/api/tickets/${ticket.id}`));
    expect(body.messages.map((m) => m.id.slice(-3))).toEqual(["m_a", "m_b", "m_c"]);
  });

  it("answers another account's ticket exactly like a missing one", async () => {
    const demoTicket = (await readJson<ListBody>(await requestAs(SEEDED.ana, "/api/tickets?limit=1"))).tickets[0]!;
    const ok = await requestAs(SEEDED.ana, `/api/tickets/${demoTicket.id}`);
    expect(ok.status).toBe(200);
    const foreign = await fx.request(`/api/tickets/${demoTicket.id}`);
    const missing = await fx.request("/api/tickets/tkt_does_not_exist");
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(await readJson(foreign)).toEqual(await readJson(missing));
    const olive = await requestAs(SEEDED.olive, `/api/tickets/${demoTicket.id}`);
    expect(olive.status).toBe(404);
  });

  it("returns a seeded ticket's thread numbered 1..n", async () => {
    const { db } = await accountShard(env, "acc_demo");
    const demo = await db.query.tickets.findFirst({ where: (t, { eq }) => eq(t.accountId, "acc_demo") });
    const body = await readJson<DetailBody>(await requestAs(SEEDED.ben, `/api/tickets/${demo!.id}`));
    expect(body.messages.length).toBeGreaterThan(0);
    expect(body.messages.map((m) => m.seq)).toEqual(body.messages.map((_, i) => i + 1));
  });

  it("rejects an over-long id with 400", async () => {
    const response = await fx.request(`/api/tickets/${"x".repeat(65)}`);
    expect(response.status).toBe(400);
    expect(Object.keys((await readJson<ErrorBody>(response)).error.fields ?? {})).toEqual(["id"]);
  });
});
