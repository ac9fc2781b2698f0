import type { BrowserContext, Page } from "playwright-core";
import { DEMO_PASSWORD } from "../../dev/seed.ts";

// Driving the agent app in Chromium: log in on a new tab, wait for the live connection.

export const WAIT_MS = 15_000;

/** Logs in on a new tab of `context`; returns the page and the agent id it shows. */
export async function logIn(context: BrowserContext, baseUrl: string, email: string): Promise<{ page: Page; agentId: string }> {
  const page = await context.newPage();
  await page.goto(new URL("/", baseUrl).toString());
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  const me = page.getByTestId("current-agent");
  await me.waitFor({ timeout: WAIT_MS });
  const agentId = await me.getAttribute("data-agent-id");
  if (!agentId) throw new Error(`no agent id shown for ${email}`);
  await waitForConnected(page);
  return { page, agentId };
}

export async function waitForConnected(page: Page, timeout = WAIT_MS): Promise<void> {
  await page.waitForFunction(() => document.querySelector('[data-testid="connection-state"]')?.textContent === "connected", undefined, {
    timeout,
  });
}

/** The live count the sidebar shows for a view (null while it shows none). */
export async function viewCount(page: Page, viewId: string): Promise<number | null> {
  const text = await page.locator(`[data-testid="view-link"][data-view-id="${viewId}"] [data-testid="view-count"]`).textContent({ timeout: WAIT_MS });
  return text === null ? null : Number(text);
}

export async function waitForViewCount(page: Page, viewId: string, expected: number, timeout = WAIT_MS): Promise<void> {
  await page.waitForFunction(
    ({ viewId, expected }) =>
      document.querySelector(`[data-testid="view-link"][data-view-id="${viewId}"] [data-testid="view-count"]`)?.textContent === String(expected),
    { viewId, expected },
    { timeout },
  );
}
