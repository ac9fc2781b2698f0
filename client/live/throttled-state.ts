// An awareness state published at most once per interval. Fields are patched as often as the
// UI likes (a cursor moves with every keystroke); the first change after a quiet interval goes
// out at once, later ones wait for the interval's end and go out together, as the latest
// state. A patch that changes nothing publishes nothing. The server rate-limits awareness
// (a ticket socket: 15 a second) and relays every update to every agent on the ticket.

import { equalityDeep } from "lib0/function";
import type { LiveTimers } from "./connection.ts";

/** A cursor at ~5 updates a second feels live, and leaves room under the server's rate. */
export const AWARENESS_PUBLISH_INTERVAL_MS = 200;

export interface ThrottledStateOptions<S extends object> {
  initial: S;
  /** Sends the state, e.g. `(state) => connection.setLocalState(state)`. */
  publish: (state: S) => void;
  /** Defaults to AWARENESS_PUBLISH_INTERVAL_MS. */
  intervalMs?: number;
  timers?: LiveTimers;
}

export interface ThrottledState<S extends object> {
  /** The state as patched, published or not yet. */
  readonly current: S;
  patch(fields: Partial<S>): void;
  destroy(): void;
}

const defaultTimers: LiveTimers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

export function createThrottledState<S extends object>(options: ThrottledStateOptions<S>): ThrottledState<S> {
  const timers = options.timers ?? defaultTimers;
  const intervalMs = options.intervalMs ?? AWARENESS_PUBLISH_INTERVAL_MS;
  let current = options.initial;
  let published = options.initial;
  /** Set while an interval runs after a publish: changes then wait for its end. */
  let cooldown: unknown = null;
  let destroyed = false;

  const publishIfChanged = (): boolean => {
    if (equalityDeep(current, published)) return false;
    published = current;
    options.publish(current);
    return true;
  };
  const startCooldown = (): void => {
    cooldown = timers.setTimeout(() => {
      cooldown = null;
      // What changed during the interval goes out now, and opens another interval.
      if (!destroyed && publishIfChanged()) startCooldown();
    }, intervalMs);
  };

  return {
    get current() {
      return current;
    },
    patch(fields) {
      if (destroyed) return;
      current = { ...current, ...fields };
      if (cooldown !== null) return;
      if (publishIfChanged()) startCooldown();
    },
    destroy() {
      destroyed = true;
      if (cooldown !== null) timers.clearTimeout(cooldown);
      cooldown = null;
    },
  };
}
