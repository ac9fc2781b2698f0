import { afterAll, beforeAll } from "vitest";
import type { Browser } from "playwright-core";
import { DEMO_PASSWORD } from "../../dev/seed.ts";
import { startStack, type Stack } from "../../dev/stack.ts";
import { launchChromium } from "../browser/chromium.ts";

// Shared set-up for tests against the real local stack (and, for browser tests, Chromium):
// started once per file, stopped after it.

export { DEMO_PASSWORD };

export interface Session {
  token: string;
  agent: { id: string; name: string; role: string; accountId: string };
}

/** Starts the stack before the file's tests; returns a getter for it. */
export function useStack(): () => Stack {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack();
  }, 180_000);
  afterAll(async () => {
    await stack?.close();
  }, 60_000);
  return () => {
    if (!stack) throw new Error("stack not started");
    return stack;
  };
}

/** The stack and a Chromium for browser tests. */
export function useBrowserStack(): { stack: () => Stack; browser: () => Browser } {
  const stack = useStack();
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
  }, 60_000);
  return {
    stack,
    browser: () => {
      if (!browser) throw new Error("browser not launched");
      return browser;
    },
  };
}

/** Logs a demo agent in over HTTP. */
export async function login(stack: Stack, email: string): Promise<Session> {
  const response = await fetch(`${stack.baseUrl}/api/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password: DEMO_PASSWORD }),
  });
  if (response.status !== 200) throw new Error(`login as ${email} failed: HTTP ${response.status}`);
  return (await response.json()) as Session;
}

/** POSTs JSON to the stack's ticket API as a signed-in agent. */
export function postTickets(stack: Stack, token: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${stack.baseUrl}/api/tickets${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}
