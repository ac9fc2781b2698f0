// Two agents in two browser contexts see each other online, through the real stack (shard
// host, migrations, seed, wrangler dev). Ben with two tabs is listed once; when Ben's context
// closes, Ana's list drops him. (Many tabs sharing one socket: live-inbox.test.ts.)

import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { logIn as logInTab, WAIT_MS } from "../support/agent-app.ts";
import { useBrowserStack } from "../support/stack-fixture.ts";

const fixture = useBrowserStack();

function logIn(context: BrowserContext, email: string) {
  return logInTab(context, fixture.stack().baseUrl, email);
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
      await new Promise((resolve) => setTimeout(resolve, 500));
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
