// The `typing` field of this tab's awareness: set on the first keystroke on a ticket, cleared
// TYPING_IDLE_MS after the last one, on blur, and when the tab leaves the ticket. Only
// transitions are published: a keystroke while already typing on that ticket costs a timer
// reset, never an awareness update (the hub rate-limits them, and every one is relayed to
// every tab of the account).

import { TYPING_IDLE_MS } from "../../protocol/index.ts";
import type { LiveTimers } from "./connection.ts";

export interface TypingIndicatorOptions {
  /** Publishes the field, e.g. `(typing) => live.patchLocalState({ typing })`. */
  publish: (ticketId: string | null) => void;
  timers?: LiveTimers;
  /** Defaults to the protocol's TYPING_IDLE_MS. */
  idleMs?: number;
}

export interface TypingIndicator {
  /** The ticket being typed on, or null. */
  readonly typing: string | null;
  /** Call on every keystroke in a ticket's reply box. */
  keystroke(ticketId: string): void;
  /** Stops at once: call on blur of the reply box and when the tab leaves the ticket. */
  clear(): void;
  destroy(): void;
}

const defaultTimers: LiveTimers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

export function createTypingIndicator(options: TypingIndicatorOptions): TypingIndicator {
  const timers = options.timers ?? defaultTimers;
  const idleMs = options.idleMs ?? TYPING_IDLE_MS;
  let typing: string | null = null;
  let timer: unknown = null;
  let destroyed = false;

  const stopTimer = (): void => {
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
  };
  const set = (next: string | null): void => {
    if (next === typing) return;
    typing = next;
    options.publish(next);
  };
  const clear = (): void => {
    stopTimer();
    set(null);
  };

  return {
    get typing() {
      return typing;
    },
    keystroke(ticketId) {
      if (destroyed) return;
      set(ticketId); // switching tickets moves the flag in one update
      stopTimer();
      timer = timers.setTimeout(() => {
        timer = null;
        set(null);
      }, idleMs);
    },
    clear,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      stopTimer();
    },
  };
}
