// The live inbox in Chromium against the real stack: what broke in our reference helpdesk's
// incident (several tabs, stale app versions, laptops waking from sleep) must work here.
//   - five tabs of one agent: one socket on the server, the agent listed once, every tab
//     updating; closing the leader tab hands the socket over;
//   - collision: who views and who types, in the list and on the ticket; availability;
//   - a stale client stops after the named close, shows the banner, and does not retry;
//   - a tab frozen for two minutes while tickets change: exact counts, each missed
//     notification once.

import { createClient, type Client } from "@libsql/client";
import { count } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tickets, type ViewFilter } from "../../schema/tables.ts";
import { viewFilterCondition } from "../../worker/views/filter.ts";
import { logIn, WAIT_MS, waitForConnected, waitForViewCount, viewCount } from "../support/agent-app.ts";
import { login, useBrowserStack, type Session } from "../support/stack-fixture.ts";

const ACCOUNT = "acc_demo";
const UNASSIGNED_VIEW = "view_demo_unassigned";

const fixture = useBrowserStack();
let admin: Session;
let ana: Session;
let shard: Client;

beforeAll(async () => {
  admin = await login(fixture.stack(), "admin@demo.shop");
  ana = await login(fixture.stack(), "ana@demo.shop");
  const directory = createClient({ url: fixture.stack().shardUrls[0]! });
  const row = (await directory.execute({ sql: "SELECT shard_index FROM accounts WHERE id = ?", args: [ACCOUNT] })).rows[0];
  directory.close();
  shard = createClient({ url: fixture.stack().shardUrls[Number(row?.shard_index)]! });
});

afterAll(() => shard?.close());

function browser(): Browser {
  return fixture.browser();
}

async function api<T>(session: Session, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(new URL(path, fixture.stack().baseUrl), {
    method,
    headers: { Authorization: `Bearer ${session.token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`);
  return (response.status === 204 ? null : await response.json()) as T;
}

async function newTicket(subject: string): Promise<string> {
  const answer = await api<{ ticket: { id: string } }>(admin, "POST", "/api/tickets", {
    customer: { email: `live.${crypto.randomUUID().slice(0, 8)}@example.com` },
    subject,
    body: "Hello from the live inbox test",
  });
  return answer.ticket.id;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function socketsOf(agentId: string): Promise<number> {
  const { agents } = await api<{ agents: { agentId: string; sockets: number }[] }>(ana, "GET", "/api/live/presence");
  return agents.find((entry) => entry.agentId === agentId)?.sockets ?? 0;
}

async function leaders(pages: readonly Page[]): Promise<Page[]> {
  const flags = await Promise.all(pages.map((page) => page.getByTestId("connection-state").getAttribute("data-leader")));
  return pages.filter((_, i) => flags[i] === "true");
}

/** Every view's count as the shard has it for this agent, keyed by view id. */
async function shardCounts(agentId: string): Promise<Record<string, number>> {
  const { views } = await api<{ views: { id: string; filter: ViewFilter }[] }>(ana, "GET", "/api/views");
  const db = drizzle(shard);
  const now = Date.now();
  const counts: Record<string, number> = {};
  for (const view of views) {
    const row = await db.select({ n: count() }).from(tickets).where(viewFilterCondition(view.filter, agentId, ACCOUNT, now)).get();
    counts[view.id] = row?.n ?? 0;
  }
  return counts;
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const canonical = (counts: Record<string, number>) => JSON.stringify(Object.entries(counts).sort(([x], [y]) => x.localeCompare(y)));
  return canonical(a) === canonical(b);
}

async function sidebarCounts(page: Page): Promise<Record<string, number>> {
  return page.locator('[data-testid="view-link"]').evaluateAll((links) =>
    Object.fromEntries(
      links.map((link) => [link.getAttribute("data-view-id") ?? "", Number(link.querySelector('[data-testid="view-count"]')?.textContent ?? "NaN")]),
    ),
  );
}

describe("many tabs, one socket", () => {
  it("five tabs of one agent hold one socket, the agent shows once, every tab updates, and the leader hands over", async () => {
    const context = await browser().newContext();
    const benContext = await browser().newContext();
    try {
      const tabs: Page[] = [];
      let agentId = "";
      for (let i = 0; i < 5; i++) {
        const tab = await logIn(context, fixture.stack().baseUrl, "ana@demo.shop");
        tabs.push(tab.page);
        agentId = tab.agentId;
      }
      expect(await until(() => leaders(tabs), (found) => found.length === 1, "exactly one leader tab")).toHaveLength(1);
      await until(() => socketsOf(agentId), (n) => n === 1, "one socket for five tabs");

      const ben = await logIn(benContext, fixture.stack().baseUrl, "ben@demo.shop");
      await ben.page.locator(`[data-testid="online-agents"] li[data-agent-id="${agentId}"]`).waitFor({ timeout: WAIT_MS });
      expect(await ben.page.locator(`[data-testid="online-agents"] li[data-agent-id="${agentId}"]`).count()).toBe(1);

      await waitForViewCount(tabs[0]!, UNASSIGNED_VIEW, (await shardCounts(agentId))[UNASSIGNED_VIEW]!);
      const before = (await viewCount(tabs[0]!, UNASSIGNED_VIEW))!;
      await newTicket("Seen by every tab");
      for (const tab of tabs) await waitForViewCount(tab, UNASSIGNED_VIEW, before + 1);

      const [leader] = await leaders(tabs);
      await leader!.close();
      const rest = tabs.filter((tab) => tab !== leader);
      expect(await until(() => leaders(rest), (found) => found.length === 1, "a new leader among the other tabs")).toHaveLength(1);
      await until(() => socketsOf(agentId), (n) => n === 1, "still one socket after the handover");
      await newTicket("Seen after the handover");
      for (const tab of rest) await waitForViewCount(tab, UNASSIGNED_VIEW, before + 2);
      for (const tab of rest) await waitForConnected(tab);
      expect(await ben.page.locator(`[data-testid="online-agents"] li[data-agent-id="${agentId}"]`).count()).toBe(1);
    } finally {
      await context.close();
      await benContext.close();
    }
  }, 120_000);
});

describe("collision detection and availability", () => {
  it("shows who views and who types a ticket, in the list and on the ticket, and teammates' availability", async () => {
    const anaContext = await browser().newContext();
    const benContext = await browser().newContext();
    try {
      const ticketId = await newTicket("Two agents, one ticket");
      const anaTab = await logIn(anaContext, fixture.stack().baseUrl, "ana@demo.shop");
      const benTab = await logIn(benContext, fixture.stack().baseUrl, "ben@demo.shop");
      await anaTab.page.goto(new URL(`/views/${UNASSIGNED_VIEW}`, fixture.stack().baseUrl).toString());
      await anaTab.page.locator(`[data-testid="ticket-row"][data-ticket-id="${ticketId}"]`).waitFor({ timeout: WAIT_MS });

      await benTab.page.goto(new URL(`/tickets/${ticketId}`, fixture.stack().baseUrl).toString());
      const marker = anaTab.page.locator(`[data-testid="ticket-row"][data-ticket-id="${ticketId}"] [data-testid="collision-marker"]`);
      await marker.waitFor({ timeout: WAIT_MS });
      expect(await marker.textContent()).toContain("Ben viewing");

      await anaTab.page.locator(`[data-testid="ticket-row"][data-ticket-id="${ticketId}"]`).click();
      const bar = anaTab.page.getByTestId("collision-bar");
      await bar.waitFor({ timeout: WAIT_MS });
      expect(await bar.textContent()).toContain("Ben is viewing");
      // Ben sees Ana on the ticket as well.
      await benTab.page.getByTestId("collision-bar").waitFor({ timeout: WAIT_MS });

      await benTab.page.getByTestId("reply-input").pressSequentially("On it", { delay: 30 });
      await anaTab.page.getByTestId("collision-typing").waitFor({ timeout: WAIT_MS });
      expect(await bar.textContent()).toContain("Ben is typing");

      await benTab.page.getByTestId("availability-select").selectOption("busy");
      await anaTab.page.locator(`[data-testid="online-agents"] li[data-agent-id="${benTab.agentId}"][data-availability="busy"]`).waitFor({ timeout: WAIT_MS });
      await benTab.page.getByTestId("availability-select").selectOption("available");
      await anaTab.page.locator(`[data-testid="online-agents"] li[data-agent-id="${benTab.agentId}"][data-availability="available"]`).waitFor({ timeout: WAIT_MS });
    } finally {
      await anaContext.close();
      await benContext.close();
    }
  }, 90_000);
});

describe("following a view", () => {
  it("from the sidebar: its new tickets then notify the agent, with the unread count in the tab title", async () => {
    const context = await browser().newContext();
    try {
      const { page } = await logIn(context, fixture.stack().baseUrl, "ben@demo.shop");
      const toggle = page.locator(`[data-testid="view-link"][data-view-id="${UNASSIGNED_VIEW}"] + [data-testid="follow-view"]`);
      await toggle.waitFor({ timeout: WAIT_MS });
      if ((await toggle.getAttribute("aria-pressed")) !== "true") await toggle.click();
      await page.waitForFunction(
        (viewId) => document.querySelector(`[data-view-id="${viewId}"] + [data-testid="follow-view"]`)?.getAttribute("aria-pressed") === "true",
        UNASSIGNED_VIEW,
        { timeout: WAIT_MS },
      );
      const unreadBefore = Number((await page.getByTestId("unread-count").textContent({ timeout: 1_000 }).catch(() => "0")) ?? "0");
      const ticketId = await newTicket("Followed by Ben");
      await page.waitForFunction((n) => document.title === `(${n}) Helpdesk`, unreadBefore + 1, { timeout: WAIT_MS });
      await page.getByTestId("notifications-button").click();
      const item = page.locator(`[data-testid="notification"][data-ticket-id="${ticketId}"]`);
      await item.waitFor({ timeout: WAIT_MS });
      expect(await item.getAttribute("data-kind")).toBe("new_ticket");
      expect(await item.textContent()).toContain("New ticket in Unassigned: Followed by Ben");
    } finally {
      await context.close();
    }
  }, 60_000);
});

describe("the idle time", () => {
  it("is set from the availability switch, persisted, and reaches the agent's other tabs", async () => {
    const context = await browser().newContext();
    const { page, agentId } = await logIn(context, fixture.stack().baseUrl, "ben@demo.shop");
    const stored = async () =>
      Number((await shard.execute({ sql: "SELECT idle_away_minutes AS m FROM agents WHERE id = ?", args: [agentId] })).rows[0]?.m);
    const before = await stored();
    try {
      const { page: other } = await logIn(context, fixture.stack().baseUrl, "ben@demo.shop");
      const chosen = before === 30 ? 60 : 30;
      await page.getByTestId("idle-minutes-select").selectOption(String(chosen));
      await until(stored, (minutes) => minutes === chosen, "the idle time on the shard");
      // The other tab learns it from the inbox document (its idle tracker follows the same value).
      await other.waitForFunction(
        (value) => (document.querySelector('[data-testid="idle-minutes-select"]') as HTMLSelectElement | null)?.value === value,
        String(chosen),
        { timeout: WAIT_MS },
      );
    } finally {
      await api(await login(fixture.stack(), "ben@demo.shop"), "PATCH", "/api/me/preferences", { idleAwayMinutes: before });
      await context.close();
    }
  }, 60_000);
});

describe("a stale client", () => {
  it("stops after the CLIENT_TOO_OLD close, shows the reload banner, and makes no second attempt", async () => {
    const context = await browser().newContext();
    // This tab speaks a protocol version the server no longer accepts (an app left open for weeks).
    await context.addInitScript(() => {
      const Real = window.WebSocket;
      const counter = window as unknown as { wsAttempts: number };
      counter.wsAttempts = 0;
      window.WebSocket = class extends Real {
        constructor(url: string | URL, protocols?: string | string[]) {
          counter.wsAttempts += 1;
          super(String(url).replace(/([?&])v=\d+/, "$1v=0"), protocols);
        }
      };
    });
    try {
      const page = await context.newPage();
      await page.goto(new URL("/", fixture.stack().baseUrl).toString());
      await page.getByLabel("Email").fill("ana@demo.shop");
      await page.getByLabel("Password").fill((await import("../../dev/seed.ts")).DEMO_PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      const banner = page.getByTestId("stopped-banner");
      await banner.waitFor({ timeout: WAIT_MS });
      expect(await banner.getAttribute("data-reason")).toBe("CLIENT_TOO_OLD");
      expect(await banner.textContent()).toContain("Reload");
      // Time for a backoff, a wake signal and a sleep check to have retried, had they wanted to.
      await page.evaluate(() => window.dispatchEvent(new Event("online")));
      await page.waitForTimeout(6_000);
      // One attempt each for the inbox socket and the agent's own document, and no retry.
      expect(await page.evaluate(() => (window as unknown as { wsAttempts: number }).wsAttempts)).toBe(2);
      expect(await page.getByTestId("connection-state").getAttribute("data-state")).toBe("stopped");
    } finally {
      await context.close();
    }
  }, 60_000);
});

describe("sleep and wake", () => {
  it("a tab frozen for two minutes while 50 tickets change comes back with exact counts and each missed notification once", async () => {
    const context = await browser().newContext();
    // Desktop notifications allowed; each one shown is recorded.
    await context.addInitScript(() => {
      const shown: string[] = [];
      (window as unknown as { desktopShown: string[] }).desktopShown = shown;
      class RecordingNotification {
        static permission = "granted";
        static requestPermission = async () => "granted";
        constructor(_title: string, options?: { tag?: string }) {
          shown.push(options?.tag ?? "");
        }
      }
      (window as unknown as { Notification: unknown }).Notification = RecordingNotification;
    });
    try {
      const { page, agentId } = await logIn(context, fixture.stack().baseUrl, "ana@demo.shop");
      await until(async () => sameCounts(await sidebarCounts(page), await shardCounts(agentId)), (same) => same, "counts before the freeze");

      const cdp = await context.newCDPSession(page);
      await cdp.send("Page.setWebLifecycleState", { state: "frozen" });
      const frozenAt = Date.now();
      // 30 new tickets in a view Ana follows (30 notifications), 20 changes to other tickets.
      const created: string[] = [];
      for (let i = 0; i < 30; i++) created.push(await newTicket(`While asleep #${i}`));
      const { tickets: open } = await api<{ tickets: { id: string }[] }>(ana, "GET", "/api/tickets?status=open&limit=20");
      for (const [i, ticket] of open.slice(0, 20).entries()) {
        await api(admin, "PATCH", `/api/tickets/${ticket.id}`, i % 2 ? { status: "pending" } : { priority: "urgent" });
      }
      expect(created.length + Math.min(20, open.length)).toBe(50);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 120_000 - (Date.now() - frozenAt))));
      await cdp.send("Page.setWebLifecycleState", { state: "active" });

      await waitForConnected(page, 30_000);
      const expected = await shardCounts(agentId);
      await until(() => sidebarCounts(page), (shown) => sameCounts(shown, expected), "exact counts after waking", 30_000);

      await page.getByTestId("notifications-button").click();
      const listed = await until(
        () => page.locator('[data-testid="notification"]').evaluateAll((items) => items.map((item) => item.getAttribute("data-ticket-id") ?? "")),
        (ids) => created.every((id) => ids.includes(id)),
        "every missed notification listed",
        30_000,
      );
      for (const id of created) expect(listed.filter((listedId) => listedId === id)).toHaveLength(1);
      const desktop = await page.evaluate(() => (window as unknown as { desktopShown: string[] }).desktopShown);
      for (const id of created) expect(desktop.filter((tag) => tag.startsWith(`helpdesk-${id}-`))).toHaveLength(1);
      // Opening the list read them: the title drops the count.
      await until(() => page.title(), (title) => title === "Helpdesk", "the title without unread count");
    } finally {
      await context.close();
    }
  }, 240_000);
});
