// Idle detection for the agent's presence: `idle` becomes true after the agent's idle time
// without keyboard, pointer or focus activity in any tab of this browser, and false on the
// next activity. Tabs share their "last activity at" over a BroadcastChannel, so an agent
// working in one tab is not reported idle by the others. A tab going to the background is
// neither activity nor inactivity: visibility and blur are deliberately not listened to, and
// the decision compares timestamps (throttled background timers only delay it).

import type { LiveTimers } from "./connection.ts";
import { type Readable, Value } from "./readable.ts";
import type { LiveChannel } from "./shared-live.ts";

/** Calls `onActivity` when the user does something in this tab; returns the unsubscribe function. */
export type ActivitySource = (onActivity: () => void) => () => void;

/** How often pointermove/wheel count at most (they fire at frame rate). */
export const POINTER_ACTIVITY_THROTTLE_MS = 1_000;
/** While active, other tabs hear about it at most this often; the first activity after idle at once. */
export const DEFAULT_ACTIVITY_SHARE_MS = 5_000;

/**
 * keydown, pointerdown and focus on `target` (the window), pointermove and wheel throttled.
 * Listeners are passive and capturing, so the app stopping propagation cannot hide activity.
 */
export function browserActivity(
  target: EventTarget | undefined = typeof window === "undefined" ? undefined : window,
  options: { now?: () => number; throttleMs?: number } = {},
): ActivitySource {
  return (onActivity) => {
    if (target === undefined) return () => {};
    const now = options.now ?? Date.now;
    const throttleMs = options.throttleMs ?? POINTER_ACTIVITY_THROTTLE_MS;
    let lastMove = Number.NEGATIVE_INFINITY;
    const immediate = (): void => onActivity();
    const throttled = (): void => {
      const at = now();
      if (at - lastMove < throttleMs) return;
      lastMove = at;
      onActivity();
    };
    const listen = { capture: true, passive: true } as const;
    const immediateEvents = ["keydown", "pointerdown", "focus"] as const;
    const throttledEvents = ["pointermove", "wheel"] as const;
    for (const type of immediateEvents) target.addEventListener(type, immediate, listen);
    for (const type of throttledEvents) target.addEventListener(type, throttled, listen);
    return () => {
      for (const type of immediateEvents) target.removeEventListener(type, immediate, listen);
      for (const type of throttledEvents) target.removeEventListener(type, throttled, listen);
    };
  };
}

export interface IdleTrackerOptions {
  /** The agent's idle time (AgentLiveSettings.idleAwayMinutes); settable later. */
  idleMinutes: number;
  /** Names the channel shared by this browser's tabs (as for openSharedLive: one per login). */
  name?: string;
  /** Defaults to `new BroadcastChannel(name)` when `name` is given; null keeps activity to this tab. */
  channel?: ((name: string) => LiveChannel) | null;
  /** Defaults to browserActivity() on the window. */
  activity?: ActivitySource;
  timers?: LiveTimers;
  now?: () => number;
  shareEveryMs?: number;
}

export interface IdleTracker {
  /** True after the idle time without activity in any tab of this browser. */
  readonly idle: Readable<boolean>;
  /** When the last activity in this browser was, as far as this tab knows (epoch ms). */
  readonly lastActivityAt: number;
  setIdleMinutes(minutes: number): void;
  /** Records activity now (the activity source calls it; the app may too). */
  markActive(): void;
  destroy(): void;
}

const ACTIVITY_CHANNEL_VERSION = 1;
/** Longest time between two looks at the clock. */
export const IDLE_RECHECK_MS = 15_000;

const defaultTimers: LiveTimers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

function minutesToMs(minutes: number): number {
  if (!Number.isFinite(minutes) || minutes <= 0) throw new RangeError(`idle time must be positive minutes, got ${minutes}`);
  return minutes * 60_000;
}

export function createIdleTracker(options: IdleTrackerOptions): IdleTracker {
  const timers = options.timers ?? defaultTimers;
  const now = options.now ?? Date.now;
  const shareEveryMs = options.shareEveryMs ?? DEFAULT_ACTIVITY_SHARE_MS;
  let idleMs = minutesToMs(options.idleMinutes);
  const idle = new Value(false);
  // Opening a tab is something the user did.
  let last = now();
  let checkTimer: unknown = null;
  let shareTimer: unknown = null;
  let lastShared = Number.NEGATIVE_INFINITY;
  let destroyed = false;

  const factory =
    options.channel === undefined
      ? typeof BroadcastChannel === "undefined"
        ? null
        : (name: string): LiveChannel => new BroadcastChannel(name)
      : options.channel;
  let channel: LiveChannel | null = null;
  if (factory !== null && options.name !== undefined) {
    try {
      channel = factory(`${options.name}|activity-v${ACTIVITY_CHANNEL_VERSION}`);
    } catch {
      channel = null;
    }
  }

  // Looks at the clock at least every IDLE_RECHECK_MS: timers stop while the machine sleeps,
  // and one long timer would leave a woken-up, unattended tab "active" for its whole remainder.
  const check = (): void => {
    checkTimer = null;
    if (destroyed) return;
    const remaining = last + idleMs - now();
    if (remaining <= 0) idle.set(true);
    else checkTimer = timers.setTimeout(check, Math.min(remaining, IDLE_RECHECK_MS));
  };
  const scheduleCheck = (): void => {
    if (checkTimer !== null) timers.clearTimeout(checkTimer);
    checkTimer = timers.setTimeout(check, Math.max(0, Math.min(last + idleMs - now(), IDLE_RECHECK_MS)));
  };

  const share = (): void => {
    if (channel === null) return;
    lastShared = now();
    try {
      channel.postMessage({ t: "activity", at: last });
    } catch {
      // Closed: we are being destroyed.
    }
  };

  /** Activity became known (here or from another tab). */
  const active = (at: number): void => {
    if (at <= last) return;
    last = at;
    if (idle.get()) {
      idle.set(false);
      scheduleCheck();
    } else if (checkTimer === null) {
      scheduleCheck();
    }
    // A running check timer finds the new deadline when it fires: no timer churn per event.
  };

  const markActive = (): void => {
    if (destroyed) return;
    active(now());
    if (channel === null) return;
    // Idle times are minutes, so the first activity after idle always passes this at once.
    if (now() - lastShared >= shareEveryMs) {
      if (shareTimer !== null) timers.clearTimeout(shareTimer);
      shareTimer = null;
      share();
    } else if (shareTimer === null) {
      // Trailing share, so other tabs learn of the latest activity within shareEveryMs.
      shareTimer = timers.setTimeout(
        () => {
          shareTimer = null;
          if (!destroyed) share();
        },
        lastShared + shareEveryMs - now(),
      );
    }
  };

  if (channel !== null) {
    channel.onmessage = (event: MessageEvent) => {
      const data = event.data as { t?: unknown; at?: unknown } | null;
      if (typeof data !== "object" || data === null || data.t !== "activity" || typeof data.at !== "number") return;
      // Same machine, same clock; never trust a time in the future.
      active(Math.min(data.at, now()));
    };
    share();
  }
  const unsubscribeActivity = (options.activity ?? browserActivity())(markActive);
  scheduleCheck();

  return {
    idle: idle.readable,
    get lastActivityAt() {
      return last;
    },
    setIdleMinutes(minutes) {
      idleMs = minutesToMs(minutes);
      idle.set(now() - last >= idleMs);
      if (!idle.get()) scheduleCheck();
    },
    markActive,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      unsubscribeActivity();
      if (checkTimer !== null) timers.clearTimeout(checkTimer);
      if (shareTimer !== null) timers.clearTimeout(shareTimer);
      if (channel !== null) {
        channel.onmessage = null;
        channel.close();
      }
    },
  };
}

/**
 * Keeps the `idle` field of this tab's awareness state in step with the tracker, e.g.
 * `syncIdle(tracker, (patch) => live.patchLocalState(patch))`. Returns the stop function.
 */
export function syncIdle(tracker: IdleTracker, patch: (fields: { idle: boolean }) => void): () => void {
  patch({ idle: tracker.idle.get() });
  return tracker.idle.subscribe((idle) => patch({ idle }));
}
