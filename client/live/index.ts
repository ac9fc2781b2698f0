// Framework-free live layer: a read-only y-protocols provider for server-owned documents.
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
export { type OnlineAgent, onlineAgents } from "./online-agents.ts";
export { liveSocketUrl } from "./url.ts";
export { type WakeSignals, browserWakeSignals } from "./wake.ts";
