// Sleep and freeze detection. A laptop lid, an OS suspend or a browser freezing a page stops
// every timer and leaves sockets that look open but are dead; nothing tells the page when it
// resumes (the `online` event does not fire when the network never went down from the OS's
// point of view). A coarse timer that compares the wall clock with when it expected to run
// notices: a jump much larger than its period means the page was not running in between.
//
// Chrome throttles timers of hidden tabs to about once a minute, which also looks like a jump.
// That is harmless for our callers: they react by checking (a ping), not by tearing down.

import type { LiveTimers } from "./connection.ts";

export interface SleepDetectorOptions {
  timers: LiveTimers;
  /** Wall clock, epoch ms. */
  now: () => number;
  /** How often to look at the clock. */
  periodMs: number;
  /** A run this much later than expected counts as a sleep (or freeze). */
  jumpMs: number;
  /** Called with how long the page seems to have been asleep. */
  onJump: (sleptMs: number) => void;
}

export const DEFAULT_SLEEP_PERIOD_MS = 5_000;
export const DEFAULT_SLEEP_JUMP_MS = 15_000;

/** Starts watching; returns the stop function. */
export function watchForSleep(options: SleepDetectorOptions): () => void {
  const { timers, now, periodMs, jumpMs, onJump } = options;
  let handle: unknown = null;
  let expected = 0;
  const schedule = (): void => {
    expected = now() + periodMs;
    handle = timers.setTimeout(tick, periodMs);
  };
  const tick = (): void => {
    const late = now() - expected;
    schedule();
    if (late > jumpMs) onJump(late);
  };
  schedule();
  return () => {
    if (handle !== null) timers.clearTimeout(handle);
    handle = null;
  };
}
