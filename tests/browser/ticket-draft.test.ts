// Live ticket rooms in Chromium against the real stack: two agents (two browser contexts) on
// one ticket co-edit the reply and see each other's text and cursor; a customer's email
// arrives in both threads without a reload; the send-time guard holds the reply of the agent
// whose tab was hidden when it arrived (their seenThroughSeq predates it), keeps the text,
// and lets it go once they have looked; sending clears the draft for both and names the
// co-author. A draft typed while the ticket socket was down (the tab then closed) is kept in
// the browser and merges into the room's draft when the ticket opens again.

import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { WAIT_MS, logIn } from "../support/agent-app.ts";
import { useBrowserStack } from "../support/stack-fixture.ts";

const fixture = useBrowserStack();
const WEBHOOK_SECRET = "demo-webhook-secret-local-only";
const SCREENSHOT = "/tmp/ticket-draft.png";

function url(path: string): string {
  return new URL(path, fixture.stack().baseUrl).toString();
}

async function inboundEmail(payload: Record<string, unknown>): Promise<{ ticketId: string; threaded?: boolean }> {
  const response = await fetch(url("/webhooks/acc_demo/email"), {
    method: "POST",
    headers: { Authorization: `Bearer ${WEBHOOK_SECRET}`, "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  if (response.status !== 201) throw new Error(`inbound email: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as { ticketId: string; threaded?: boolean };
}

async function openTicket(context: BrowserContext, email: string, ticketId: string): Promise<{ page: Page; agentId: string }> {
  const agent = await logIn(context, fixture.stack().baseUrl, email);
  await agent.page.goto(url(`/tickets/${ticketId}`));
  await agent.page.locator(`[data-testid="ticket-page"][data-ticket-id="${ticketId}"][data-live="up"]`).waitFor({ timeout: WAIT_MS });
  // A marker that a reload would wipe: everything below must arrive live.
  await agent.page.evaluate(() => Object.assign(window, { noReloadMarker: true }));
  return agent;
}

const draftOf = (page: Page) => page.getByTestId("reply-input").inputValue();

async function waitForDraft(page: Page, text: string): Promise<void> {
  await page.waitForFunction((expected) => (document.querySelector('[data-testid="reply-input"]') as HTMLTextAreaElement | null)?.value === expected, text, {
    timeout: WAIT_MS,
  });
}

function message(page: Page, text: string) {
  return page.getByTestId("message").filter({ hasText: text });
}

/** Makes the page report itself hidden or visible, as a background tab would. */
async function setVisible(page: Page, visible: boolean): Promise<void> {
  await page.evaluate((isVisible) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (isVisible ? "visible" : "hidden") });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => !isVisible });
    document.dispatchEvent(new Event("visibilitychange"));
  }, visible);
}

/** The remote cursor of `agentId` on `page`, checked to sit inside the reply box. */
async function remoteCursorInBox(page: Page, agentId: string): Promise<void> {
  const cursor = page.locator(`[data-testid="remote-cursor"][data-agent-id="${agentId}"]`);
  await cursor.waitFor({ state: "visible", timeout: WAIT_MS });
  const [box, area] = await Promise.all([cursor.boundingBox(), page.getByTestId("reply-input").boundingBox()]);
  expect(box).not.toBeNull();
  expect(area).not.toBeNull();
  expect(box!.x).toBeGreaterThanOrEqual(area!.x);
  expect(box!.x).toBeLessThanOrEqual(area!.x + area!.width);
  expect(box!.y).toBeGreaterThanOrEqual(area!.y);
  expect(box!.y).toBeLessThanOrEqual(area!.y + area!.height);
  expect(await cursor.evaluate((element) => (element as HTMLElement).style.backgroundColor)).not.toBe("");
}

describe("a live ticket room", () => {
  it("two agents co-edit one reply, see the customer's email arrive, and the guard holds a reply written before it", async () => {
    const stamp = crypto.randomUUID().slice(0, 8);
    const first = {
      from: `Rita Reader <rita.${stamp}@example.com>`,
      to: "support@demo.shop",
      subject: `Parcel ${stamp} never arrived`,
      text: `Hello, my parcel ${stamp} never arrived.`,
      messageId: `<first-${stamp}@mail.example.com>`,
    };
    const { ticketId } = await inboundEmail(first);

    const anaContext = await fixture.browser().newContext();
    const benContext = await fixture.browser().newContext();
    // Ana's ticket sockets, to see the page close its own when it leaves the ticket.
    await anaContext.addInitScript(() => {
      const Real = window.WebSocket;
      const opened: WebSocket[] = [];
      Object.assign(window, { ticketSockets: opened });
      window.WebSocket = class extends Real {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          if (String(url).includes("/live/tickets/")) opened.push(this);
        }
      };
    });
    try {
      const ana = await openTicket(anaContext, "ana@demo.shop", ticketId);
      const ben = await openTicket(benContext, "ben@demo.shop", ticketId);
      await message(ana.page, first.text).waitFor({ timeout: WAIT_MS });

      // Co-editing: each sees the other's text, and the other's cursor in the box.
      const anaInput = ana.page.getByTestId("reply-input");
      const benInput = ben.page.getByTestId("reply-input");
      await anaInput.click();
      await anaInput.pressSequentially("Hello Rita, ");
      await waitForDraft(ben.page, "Hello Rita, ");
      await benInput.click();
      await benInput.press("Control+End");
      await benInput.pressSequentially("your parcel left today.");
      const together = "Hello Rita, your parcel left today.";
      await waitForDraft(ana.page, together);
      await waitForDraft(ben.page, together);
      await remoteCursorInBox(ana.page, ben.agentId);
      await remoteCursorInBox(ben.page, ana.agentId);
      await ana.page.getByTestId("reply-input").locator("xpath=..").screenshot({ path: SCREENSHOT });
      // Who else is on the draft.
      await ana.page.locator(`[data-testid="draft-peers"] li[data-agent-id="${ben.agentId}"]`).waitFor({ timeout: WAIT_MS });

      // Ana's tab goes to the background; the customer writes again, threaded by In-Reply-To.
      await setVisible(ana.page, false);
      const followUp = `Any news about ${stamp}? It is a gift.`;
      const threaded = await inboundEmail({
        from: first.from,
        to: first.to,
        subject: `Re: ${first.subject}`,
        text: followUp,
        messageId: `<second-${stamp}@mail.example.com>`,
        inReplyTo: first.messageId,
      });
      expect(threaded).toMatchObject({ ticketId, threaded: true });
      await message(ana.page, followUp).waitFor({ timeout: WAIT_MS });
      await message(ben.page, followUp).waitFor({ timeout: WAIT_MS });
      for (const page of [ana.page, ben.page]) expect(await page.evaluate(() => (window as { noReloadMarker?: boolean }).noReloadMarker)).toBe(true);

      // Ana sends with what she had seen: held, the email listed, the text kept for both.
      const held = ana.page.waitForResponse((response) => response.url().endsWith(`/api/tickets/${ticketId}/draft/send`));
      await ana.page.getByTestId("reply-send").click();
      expect((await held).status()).toBe(409);
      await ana.page.getByTestId("reply-held").waitFor({ timeout: WAIT_MS });
      expect(await ana.page.getByTestId("reply-held-message").allTextContents()).toEqual([expect.stringContaining(followUp)]);
      expect(await draftOf(ana.page)).toBe(together);
      expect(await draftOf(ben.page)).toBe(together);
      expect(await message(ana.page, together).count()).toBe(0);

      // Back in front of it, Ana has seen it: the next send goes, for both of them.
      await setVisible(ana.page, true);
      const sent = ana.page.waitForResponse((response) => response.url().endsWith(`/api/tickets/${ticketId}/draft/send`));
      await ana.page.getByTestId("reply-send").click();
      expect((await sent).status()).toBe(201);
      for (const page of [ana.page, ben.page]) {
        await message(page, together).waitFor({ timeout: WAIT_MS });
        await waitForDraft(page, "");
      }
      expect(await ana.page.getByTestId("reply-held").count()).toBe(0);
      // Written together: Ana's message, with Ben as co-author, on both screens.
      for (const page of [ana.page, ben.page]) {
        expect(await message(page, together).getByTestId("co-authors").textContent()).toContain("with Ben");
        expect(await message(page, together).locator(".author").textContent()).toContain("Ana");
      }

      // One ticket socket for the ticket on screen, closed when Ana leaves it (in the app, no reload).
      const sockets = () => ana.page.evaluate(() => (window as unknown as { ticketSockets: WebSocket[] }).ticketSockets.map((socket) => socket.readyState));
      expect(await sockets()).toEqual([1]); // one, OPEN
      await ana.page.getByTestId("view-link").first().click();
      await ana.page.getByTestId("ticket-page").waitFor({ state: "detached", timeout: WAIT_MS });
      await ana.page.waitForFunction(() => (window as unknown as { ticketSockets: WebSocket[] }).ticketSockets.every((socket) => socket.readyState === WebSocket.CLOSED), undefined, {
        timeout: WAIT_MS,
      });
    } finally {
      await anaContext.close();
      await benContext.close();
    }
  }, 180_000);

  it("keeps text typed while the ticket socket is down and merges it when the ticket opens again", async () => {
    const stamp = crypto.randomUUID().slice(0, 8);
    const { ticketId } = await inboundEmail({
      from: `Otto Offline <otto.${stamp}@example.com>`,
      to: "support@demo.shop",
      subject: `Offline ${stamp}`,
      text: `Where is order ${stamp}?`,
      messageId: `<offline-${stamp}@mail.example.com>`,
    });
    const anaContext = await fixture.browser().newContext();
    const benContext = await fixture.browser().newContext();
    // Ben's ticket sockets reach nothing (the page sees a socket that never answers) until let through.
    let reachable = false;
    await benContext.routeWebSocket(/\/live\/tickets\//, (socket) => {
      if (reachable) socket.connectToServer();
    });
    try {
      const ana = await openTicket(anaContext, "ana@demo.shop", ticketId);
      const ben = await logIn(benContext, fixture.stack().baseUrl, "ben@demo.shop");
      await ben.page.goto(url(`/tickets/${ticketId}`));
      await ben.page.locator(`[data-testid="ticket-page"][data-ticket-id="${ticketId}"][data-live="down"]`).waitFor({ timeout: WAIT_MS });
      const offline = `Ben wrote this offline (${stamp}).`;
      await ben.page.getByTestId("reply-input").click();
      await ben.page.getByTestId("reply-input").pressSequentially(offline);
      // The inbox socket is fine; the ticket's says it is not connected, after the grace period.
      await ben.page.locator('[data-testid="offline-banner"][data-scope="ticket"]').waitFor({ timeout: WAIT_MS });
      const online = `Ana wrote this online (${stamp}). `;
      await ana.page.getByTestId("reply-input").click();
      await ana.page.getByTestId("reply-input").pressSequentially(online);
      expect(await draftOf(ana.page)).toBe(online);

      // Ben's tab goes away with its text unsent; he opens the ticket again, now reachable.
      await ben.page.close();
      reachable = true;
      const again = await openTicket(benContext, "ben@demo.shop", ticketId);
      for (const page of [ana.page, again.page]) {
        await page.waitForFunction(
          (parts) => {
            const value = (document.querySelector('[data-testid="reply-input"]') as HTMLTextAreaElement | null)?.value ?? "";
            return parts.every((part) => value.includes(part)) && value.length === parts.join("").length;
          },
          [offline, online],
          { timeout: WAIT_MS },
        );
      }
      expect(await draftOf(again.page)).toBe(await draftOf(ana.page));
      expect(await again.page.locator('[data-testid="offline-banner"]').count()).toBe(0);
    } finally {
      await anaContext.close();
      await benContext.close();
    }
  }, 180_000);
});
