// Launches headless Chromium for browser tests through playwright-core. Prefers Debian's
// /usr/bin/chromium; otherwise the binary bundled in @sparticuz/chromium. The machine has no
// network, so everything that would phone home is switched off. Sparticuz's own default args
// (notably --single-process) are deliberately not used.

import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

const SYSTEM_CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function chromiumExecutablePath(): Promise<string> {
  if (existsSync(SYSTEM_CHROMIUM)) return SYSTEM_CHROMIUM;
  const sparticuz = (await import("@sparticuz/chromium")).default;
  return sparticuz.executablePath();
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: await chromiumExecutablePath(),
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
}
