// The agent app's inbox and ticket page against the real stack (shard host, migrations,
// seed, wrangler dev): views in the sidebar, a view's ticket rows, a seeded ticket with an
// internal note shown as bubbles, a reply and a note sent from the reply box, a status
// change through the select, and all of it still there after a reload.

import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { DEMO_PASSWORD as PASSWORD, useBrowserStack } from "../support/stack-fixture.ts";

const EMAIL = "ana@demo.shop";
const WAIT_MS = 15_000;
const SCREENSHOT = "/tmp/ticket-page.png";

const fixture = useBrowserStack();

function url(path: string): string {
  return new URL(path, fixture.stack().baseUrl).toString();
}

// --- the API, as the test's own client ------------------------------------------------

interface ApiMessage {
  id: string;
  authorKind: string;
  body: string;
  isInternalNote: boolean;
}

interface ApiTicket {
  id: string;
  subject: string;
  status: string;
}

async function api<T>(token: string, path: string): Promise<T> {
  const response = await fetch(url(path), { headers: { authorization: `Bearer ${token}`, accept: "application/json" } });
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function apiLogin(email: string): Promise<string> {
  const response = await fetch(url("/api/auth/login"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (!response.ok) throw new Error(`login ${email}: HTTP ${response.status}`);
  return ((await response.json()) as { token: string }).token;
}

/** A view and a ticket on its first page whose thread has an internal note and a customer message. */
async function findTicketWithNote(token: string): Promise<{ viewId: string; ticket: ApiTicket; messages: ApiMessage[] }> {
  const { views } = await api<{ views: { id: string; name: string }[] }>(token, "/api/views");
  expect(views.length).toBeGreaterThan(0);
  for (const view of views) {
    const { tickets } = await api<{ tickets: ApiTicket[] }>(token, `/api/tickets?view=${encodeURIComponent(view.id)}&limit=25`);
    for (const summary of tickets) {
      const { ticket, messages } = await api<{ ticket: ApiTicket; messages: ApiMessage[] }>(
        token,
        `/api/tickets/${encodeURIComponent(summary.id)}`,
      );
      const hasNote = messages.some((message) => message.isInternalNote);
      const hasCustomer = messages.some((message) => message.authorKind === "customer" && !message.isInternalNote);
      if (hasNote && hasCustomer && ticket.status !== "snoozed") return { viewId: view.id, ticket, messages };
    }
  }
  throw new Error("no seeded ticket with an internal note in any view's first page");
}

// --- the browser ----------------------------------------------------------------------

async function logIn(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url("/"));
  await page.getByLabel("Email").fill(EMAIL);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByTestId("current-agent").waitFor({ timeout: WAIT_MS });
  return page;
}

function messageWithText(page: Page, kind: string, text: string) {
  return page.locator(`[data-testid="message"][data-kind="${kind}"]`, { hasText: text });
}

/** Reloads until `check` passes: the ticket page reads the shard, which the room reaches just after answering. */
async function afterReload(page: Page, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    await page.reload();
    await page.getByTestId("ticket-subject").waitFor({ timeout: WAIT_MS });
    await page.getByTestId("message").first().waitFor({ timeout: WAIT_MS });
    if (await check()) return;
    if (Date.now() > deadline) throw new Error("still not there after reloading");
    await page.waitForTimeout(500);
  }
}

async function backgroundOf(page: Page, selector: string): Promise<string> {
  return page.locator(selector).first().evaluate((element) => getComputedStyle(element).backgroundColor);
}

describe("tickets in the agent app", () => {
  it("lists a view, opens a ticket as bubbles, sends a reply and a note, changes the status; all survive a reload", async () => {
    const browser = fixture.browser();
    const token = await apiLogin(EMAIL);
    const target = await findTicketWithNote(token);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const page = await logIn(context);

      // The bare inbox goes on to a view; the sidebar lists the views.
      await page.waitForURL(/\/views\/[^/]+$/, { timeout: WAIT_MS });
      await page.getByTestId("view-link").first().waitFor({ timeout: WAIT_MS });
      expect(await page.getByTestId("connection-state").count()).toBe(1);
      expect(await page.getByTestId("online-agents").count()).toBe(1);

      // Open the view that holds the ticket: it is highlighted and lists ticket rows.
      const viewLink = page.locator(`[data-testid="view-link"][data-view-id="${target.viewId}"]`);
      await viewLink.click();
      await page.waitForURL(`**/views/${target.viewId}`, { timeout: WAIT_MS });
      expect(await viewLink.getAttribute("aria-current")).toBe("page");
      await page.getByTestId("ticket-row").first().waitFor({ timeout: WAIT_MS });
      expect(await page.getByTestId("ticket-row").count()).toBeGreaterThan(0);

      // Open the ticket from its row.
      const row = page.locator(`[data-testid="ticket-row"][data-ticket-id="${target.ticket.id}"]`);
      await row.click();
      await page.waitForURL(`**/tickets/${target.ticket.id}`, { timeout: WAIT_MS });
      await page.getByTestId("ticket-subject").waitFor({ timeout: WAIT_MS });
      expect(await page.getByTestId("ticket-subject").textContent()).toBe(target.ticket.subject);
      expect(await row.getAttribute("aria-current")).toBe("page");

      // The thread as bubbles: every message, the note labelled and coloured apart, the
      // customer on the left of the agents' side.
      await page.getByTestId("message").first().waitFor({ timeout: WAIT_MS });
      expect(await page.getByTestId("message").count()).toBe(target.messages.length);
      const notes = page.locator('[data-testid="message"][data-kind="note"]');
      expect(await notes.count()).toBe(target.messages.filter((m) => m.isInternalNote).length);
      expect(await notes.first().textContent()).toContain("Internal note");
      const noteBackground = await backgroundOf(page, '[data-kind="note"] .bubble');
      const customerBackground = await backgroundOf(page, '[data-kind="customer"] .bubble');
      expect(noteBackground).not.toBe(customerBackground);
      const customerBox = await page.locator('[data-kind="customer"]').first().boundingBox();
      const noteBox = await notes.first().boundingBox();
      expect(customerBox && noteBox && customerBox.x < noteBox.x).toBe(true);

      // A reply.
      const stamp = Date.now();
      const replyText = `Thanks for your patience, reply ${stamp}`;
      const noteText = `Checked with the warehouse, note ${stamp}`;
      await page.getByTestId("reply-input").fill(replyText);
      await page.getByTestId("reply-send").click();
      await messageWithText(page, "agent", replyText).waitFor({ timeout: WAIT_MS });
      expect(await page.getByTestId("reply-input").inputValue()).toBe("");

      // An internal note.
      await page.getByTestId("reply-mode-note").click();
      await page.getByTestId("reply-input").fill(noteText);
      await page.getByTestId("reply-send").click();
      await messageWithText(page, "note", noteText).waitFor({ timeout: WAIT_MS });
      expect(await messageWithText(page, "note", noteText).textContent()).toContain("Internal note");

      // A refused message shows the server's reason and keeps the text.
      await page.getByTestId("reply-mode-reply").click();
      const tooLong = "x".repeat(100_001);
      await page.getByTestId("reply-input").fill(tooLong);
      await page.getByTestId("reply-send").click();
      await page.getByTestId("reply-error").waitFor({ timeout: WAIT_MS });
      expect((await page.getByTestId("reply-error").textContent())?.length).toBeGreaterThan(0);
      expect((await page.getByTestId("reply-input").inputValue()).length).toBe(tooLong.length);
      await page.getByTestId("reply-input").fill("");
      expect(await page.getByTestId("reply-error").count()).toBe(0);

      // The status, through the select; the row in the list follows.
      const newStatus = target.ticket.status === "pending" ? "open" : "pending";
      const patched = page.waitForResponse(
        (response) => response.request().method() === "PATCH" && response.url().endsWith(`/api/tickets/${target.ticket.id}`),
      );
      await page.getByTestId("status-select").selectOption(newStatus);
      expect((await patched).status()).toBe(200);
      await row.locator(`[data-testid="status-badge"][data-status="${newStatus}"]`).waitFor({ timeout: WAIT_MS });
      expect(await page.getByTestId("ticket-update-error").count()).toBe(0);

      await page.screenshot({ path: SCREENSHOT });

      // Stored: after a reload the reply, the note and the status are still there.
      await afterReload(
        page,
        async () =>
          (await messageWithText(page, "agent", replyText).count()) === 1 &&
          (await messageWithText(page, "note", noteText).count()) === 1 &&
          (await page.getByTestId("status-select").inputValue()) === newStatus,
      );
      expect(await page.getByTestId("message").count()).toBe(target.messages.length + 2);
      const stored = await api<{ ticket: ApiTicket; messages: ApiMessage[] }>(token, `/api/tickets/${target.ticket.id}`);
      expect(stored.ticket.status).toBe(newStatus);
      expect(stored.messages.find((m) => m.body === noteText)?.isInternalNote).toBe(true);
      expect(stored.messages.find((m) => m.body === replyText)?.isInternalNote).toBe(false);

      // Back goes to the view; an unknown ticket says so.
      await page.goBack();
      await page.waitForURL(`**/views/${target.viewId}`, { timeout: WAIT_MS });
      expect(await page.getByTestId("ticket-page").count()).toBe(0);
      await page.goto(url("/tickets/tkt_doesnotexist"));
      await page.getByTestId("ticket-error").waitFor({ timeout: WAIT_MS });
    } finally {
      await context.close();
    }
  }, 120_000);
});
