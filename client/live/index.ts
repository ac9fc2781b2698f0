// Framework-free live layer: a y-protocols provider (read-only for server-owned documents,
// writable for a ticket's draft), one socket per browser shared by its tabs, and the
// awareness signals tabs publish (throttled).
export {
  type AwarenessEntry,
  decodeAwarenessEntries,
  encodeAwarenessEntries,
} from "./awareness-entries.ts";
export { type BackoffOptions, DEFAULT_BACKOFF, backoffCeiling, backoffDelay } from "./backoff.ts";
export {
  LiveConnection,
  type LiveConnectionOptions,
  type LiveSocket,
  type LiveSocketConstructor,
  type LiveState,
  type LiveStatus,
  type LiveTimers,
} from "./connection.ts";
export {
  type ActivitySource,
  DEFAULT_ACTIVITY_SHARE_MS,
  IDLE_RECHECK_MS,
  type IdleTracker,
  type IdleTrackerOptions,
  POINTER_ACTIVITY_THROTTLE_MS,
  browserActivity,
  createIdleTracker,
  syncIdle,
} from "./idle.ts";
export { Keepalive, type KeepaliveOptions } from "./keepalive.ts";
export { offlineAfterGrace } from "./offline-after-grace.ts";
export { type Readable } from "./readable.ts";
export {
  DEFAULT_ALIVE_INTERVAL_MS,
  DEFAULT_FOLLOWER_TIMEOUT_MS,
  DEFAULT_LEADER_TIMEOUT_MS,
  type LiveChannel,
  PROBE_ANSWER_MS,
  type LiveLocks,
  type PageLifecycle,
  SHARED_LIVE_VERSION,
  type SharedLive,
  type SharedLiveOptions,
  browserPageLifecycle,
  openSharedLive,
} from "./shared-live.ts";
export { DEFAULT_SLEEP_JUMP_MS, DEFAULT_SLEEP_PERIOD_MS, type SleepDetectorOptions, watchForSleep } from "./sleep.ts";
export {
  AWARENESS_PUBLISH_INTERVAL_MS,
  type ThrottledState,
  type ThrottledStateOptions,
  createThrottledState,
} from "./throttled-state.ts";
export { type TypingIndicator, type TypingIndicatorOptions, createTypingIndicator } from "./typing.ts";
export { liveSocketUrl } from "./url.ts";
export { type WakeSignals, browserWakeSignals } from "./wake.ts";
