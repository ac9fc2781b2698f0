// "Now" as a signal, so relative times ("5 min ago") move on by themselves.

import { signal } from "@preact/signals";

const TICK_MS = 30_000;

export const now = signal(Date.now());

setInterval(() => {
  now.value = Date.now();
}, TICK_MS);
