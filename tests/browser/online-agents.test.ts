// Two agents in two browser contexts see each other online, through the real stack (shard
// host, migrations, seed, wrangler dev). Ben with two tabs is listed once; when Ben's context
// closes, Ana's list drops him.

import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { DEMO_PASSWORD as PASSWORD, useBrowserStack } from "../support/stack-fixture.ts";

const WAIT_MS = 15_000;

const fixture = useBrowserStack();

function appUrl(): string {
  return new URL("/", fixture.stack().baseUrl).toString();
}

/** Logs in on a new tab of `context`; returns the page and the agent id it shows. */
async function logIn(context: BrowserContext, email: string): Promise<{ page: Page; agentId: string }> {
  const page = await context.newPage();
  await page.goto(appUrl());
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  const me = page.getByTestId("current-agent");
  await me.waitFor({ timeout: WAIT_MS });
  const agentId = await me.getAttribute("data-agent-id");
  if (!agentId) throw new Error(`no agent id shown for ${email}`);
  await waitForConnected(page);
  return { page, agentId };
}

async function waitForConnected(page: Page): Promise<void> {
  await page.waitForFunction(
    () => document.querySelector('[data-testid="connection-state"]')?.textContent === "connected",
    undefined,
    { timeout: WAIT_MS },
  );
}

function onlineEntry(page: Page, agentId: string) {
  return page.locator(`[data-testid="online-agents"] li[data-agent-id="${agentId}"]`);
}

async function onlineIds(page: Page): Promise<string[]> {
  return page
    .locator('[data-testid="online-agents"] li')
    .evaluateAll((items) => items.map((item) => item.getAttribute("data-agent-id") ?? ""));
}

describe("online agents", () => {
  it("two agents see each other, once per agent, and a closed context drops out", async () => {
    const browser = fixture.browser();
    const anaContext = await browser.newContext();
    const benContext = await browser.newContext();
    try {
      const ana = await logIn(anaContext, "ana@demo.shop");
      const ben = await logIn(benContext, "ben@demo.shop");
      expect(ana.agentId).not.toBe(ben.agentId);

      await onlineEntry(ana.page, ben.agentId).waitFor({ timeout: WAIT_MS });
      await onlineEntry(ben.page, ana.agentId).waitFor({ timeout: WAIT_MS });
      await onlineEntry(ana.page, ana.agentId).waitFor({ timeout: WAIT_MS });
      expect(await ana.page.getByTestId("connection-state").textContent()).toBe("connected");
      expect(await ben.page.getByTestId("connection-state").textContent()).toBe("connected");

      // A second tab of Ben's (sessionStorage is per tab, so it logs in too): still one entry.
      const benSecondTab = await logIn(benContext, "ben@demo.shop");
      expect(benSecondTab.agentId).toBe(ben.agentId);
      await ana.page.waitForFunction(
        (id) => document.querySelector(`[data-agent-id="${id}"] .tabs`)?.textContent === "2 tabs",
        ben.agentId,
        { timeout: WAIT_MS },
      );
      const ids = await onlineIds(ana.page);
      expect(ids.filter((id) => id === ben.agentId)).toHaveLength(1);
      expect(new Set(ids).size).toBe(ids.length);

      await benContext.close();
      await onlineEntry(ana.page, ben.agentId).waitFor({ state: "detached", timeout: WAIT_MS });
      expect(await onlineIds(ana.page)).toContain(ana.agentId);
      expect(await ana.page.getByTestId("connection-state").textContent()).toBe("connected");
      expect(await ana.page.getByTestId("offline-banner").count()).toBe(0);
    } finally {
      await benContext.close().catch(() => {});
      await anaContext.close();
    }
  }, 90_000);
});
