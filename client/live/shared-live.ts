// One inbox socket per browser, whatever the number of tabs. Every tab holds a replica of the
// inbox document and awareness; one tab, the leader, also holds the socket.
//
// - Election: an exclusive Web Lock held for the tab's lifetime. The browser hands it to the
//   next waiting tab when the leader closes or crashes.
// - A BroadcastChannel carries the rest: the leader broadcasts document updates, awareness
//   changes and its connection status; a tab that opens (or learns of a new leader) asks for a
//   snapshot, sending its state vector, and gets what it lacks plus every awareness state;
//   followers send their own awareness state to the leader, which publishes it through its
//   socket under the follower's client id (LiveConnection.publishForwarded).
// - Handover: the new leader keeps its replica (LiveConnection with `doc`/`awareness`), so its
//   sync step 1 fetches exactly what the server sent while nobody listened; other followers
//   re-announce their state (newer clock) and ask it for a snapshot, so none misses anything.
// - Vanished tabs: followers post "alive" every aliveIntervalMs; the leader drops followers
//   silent for followerTimeoutMs. A leader silent for leaderTimeoutMs (a frozen tab keeps its
//   lock) has its lock stolen by a follower, which takes over.
// - Versions: the lock and channel names carry PROTOCOL_VERSION and this file's
//   SHARED_LIVE_VERSION, so a stale tab (an old app version still open) never leads or
//   follows tabs speaking another version; it runs its own leader and, if the server no longer
//   speaks its version, stops with CLIENT_TOO_OLD like any single tab would.
// - Without Web Locks or BroadcastChannel each tab runs its own LiveConnection.
//
// Followers' document replicas are read-only copies: no tab ever sends document updates.

import { equalityDeep } from "lib0/function";
import { Awareness } from "y-protocols/awareness";
import * as Y from "yjs";
import { type AgentAwarenessState, PROTOCOL_VERSION } from "../../protocol/index.ts";
import {
  type AwarenessEntry,
  currentEntries,
  decodeAwarenessEntries,
  encodeAwarenessEntries,
  forgetAwarenessStates,
  mirrorAwarenessEntries,
} from "./awareness-entries.ts";
import {
  LiveConnection,
  type LiveConnectionOptions,
  type LiveStatus,
  type LiveTimers,
} from "./connection.ts";
import { type Readable, Value } from "./readable.ts";
import { DEFAULT_SLEEP_JUMP_MS } from "./sleep.ts";
import { browserWakeSignals } from "./wake.ts";
import { quietAwareness } from "./quiet-awareness.ts";

/** Version of the tab-to-tab messages below; bump on any incompatible change. */
export const SHARED_LIVE_VERSION = 1;

export const DEFAULT_ALIVE_INTERVAL_MS = 10_000;
export const DEFAULT_FOLLOWER_TIMEOUT_MS = 30_000;
/**
 * Longer than the one-minute timer alignment Chrome applies to hidden tabs, so a leader in a
 * background tab is not taken over merely for being throttled; a frozen one is.
 */
export const DEFAULT_LEADER_TIMEOUT_MS = 90_000;
/** How long a leader has to answer a probe. Message events are not throttled, so this is plenty. */
export const PROBE_ANSWER_MS = 5_000;

/** The part of BroadcastChannel used here. */
export interface LiveChannel {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
  close(): void;
}

/** The part of the Web Locks LockManager used here (navigator.locks fits). */
export interface LiveLocks {
  request(
    name: string,
    options: { mode: "exclusive"; signal?: AbortSignal; steal?: boolean },
    callback: (lock: unknown) => Promise<unknown>,
  ): Promise<unknown>;
}

/** Page lifecycle: `hide` on pagehide (closing, or entering the back/forward cache), `show` when restored from it. */
export type PageLifecycle = (handlers: { hide: () => void; show: () => void }) => () => void;

export const browserPageLifecycle: PageLifecycle = ({ hide, show }) => {
  if (typeof window === "undefined") return () => {};
  const onHide = (): void => hide();
  const onShow = (event: PageTransitionEvent): void => {
    if (event.persisted) show();
  };
  window.addEventListener("pagehide", onHide);
  window.addEventListener("pageshow", onShow);
  return () => {
    window.removeEventListener("pagehide", onHide);
    window.removeEventListener("pageshow", onShow);
  };
};

/**
 * What the leader's LiveConnection is built from (documented there). A follower passes its
 * wake signals on to the leader; the rest below is shared-tab specific.
 */
type ConnectionSettings = Pick<
  LiveConnectionOptions,
  "url" | "WebSocket" | "timers" | "now" | "random" | "backoff" | "wakeSignals" | "keepalive" | "sleep" | "onPermissionDenied" | "onProtocolError"
>;

export interface SharedLiveOptions extends ConnectionSettings {
  /**
   * Names the lock and channel. Must identify the login (account and agent): tabs of another
   * login must not share a socket (the server refuses awareness naming another agent).
   */
  name: string;
  /** This tab's awareness state. */
  localState: AgentAwarenessState | null;
  /** Defaults to navigator.locks; null forces one socket per tab. */
  locks?: LiveLocks | null;
  /** Defaults to `new BroadcastChannel(name)`; null forces one socket per tab. */
  channel?: ((name: string) => LiveChannel) | null;
  /** Defaults to browserPageLifecycle. */
  pageLifecycle?: PageLifecycle;
  aliveIntervalMs?: number;
  followerTimeoutMs?: number;
  leaderTimeoutMs?: number;
}

/** The same shape in every tab, leader or follower. */
export interface SharedLive {
  /** Replica of the server-owned document; read it, never write it. */
  readonly doc: Y.Doc;
  /** Every tab of the account, this one included. */
  readonly awareness: Awareness;
  readonly status: Readable<LiveStatus>;
  /** Whether this tab holds the socket (always true without Web Locks or BroadcastChannel). */
  readonly isLeader: Readable<boolean>;
  setLocalState(state: AgentAwarenessState | null): void;
  /** Changes some fields of this tab's state; publishes nothing if none changed. */
  patchLocalState(patch: Partial<AgentAwarenessState>): void;
  /** Skips a backoff wait (the leader's, from any tab). */
  reconnectNow(): void;
  destroy(): void;
}

type TabMessage =
  | { t: "leader"; from: number; to?: number }
  | { t: "snapshot-request"; from: number; stateVector: Uint8Array }
  | { t: "snapshot"; from: number; to: number; update: Uint8Array; awareness: Uint8Array; status: LiveStatus }
  | { t: "doc"; from: number; update: Uint8Array }
  | { t: "awareness"; from: number; update: Uint8Array }
  | { t: "status"; from: number; status: LiveStatus }
  | { t: "alive"; from: number; leader: boolean }
  | { t: "announce"; from: number; update: Uint8Array }
  | { t: "bye"; from: number }
  | { t: "wake"; from: number }
  | { t: "probe"; from: number }
  | { t: "reconnect"; from: number };

type FieldCheck = (value: unknown) => boolean;
const bytes: FieldCheck = (value) => value instanceof Uint8Array;
const id: FieldCheck = (value) => typeof value === "number";
const optionalId: FieldCheck = (value) => value === undefined || typeof value === "number";
const flag: FieldCheck = (value) => typeof value === "boolean";
const status: FieldCheck = (value) => isStatus(value);

/** Required fields per message type, besides `t` and `from`. */
const MESSAGE_FIELDS: Record<TabMessage["t"], Record<string, FieldCheck>> = {
  leader: { to: optionalId },
  "snapshot-request": { stateVector: bytes },
  snapshot: { to: id, update: bytes, awareness: bytes, status },
  doc: { update: bytes },
  awareness: { update: bytes },
  status: { status },
  alive: { leader: flag },
  announce: { update: bytes },
  bye: {},
  wake: {},
  probe: {},
  reconnect: {},
};

/** Another tab may run other code (or be broken): anything that does not fit is dropped. */
function parseMessage(data: unknown): TabMessage | null {
  if (typeof data !== "object" || data === null) return null;
  const message = data as Record<string, unknown>;
  if (typeof message.t !== "string" || !Object.hasOwn(MESSAGE_FIELDS, message.t) || typeof message.from !== "number") {
    return null;
  }
  const fields = MESSAGE_FIELDS[message.t as TabMessage["t"]];
  for (const [field, check] of Object.entries(fields)) if (!check(message[field])) return null;
  return message as TabMessage;
}

function isStatus(value: unknown): value is LiveStatus {
  if (typeof value !== "object" || value === null) return false;
  const status = value as Record<string, unknown>;
  return (
    typeof status.state === "string" &&
    typeof status.synced === "boolean" &&
    (status.downSince === null || typeof status.downSince === "number") &&
    (status.stopReason === null || typeof status.stopReason === "string")
  );
}

function sameStatus(a: LiveStatus, b: LiveStatus): boolean {
  return a.state === b.state && a.stopReason === b.stopReason && a.synced === b.synced && a.downSince === b.downSince;
}

const defaultTimers: LiveTimers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

function defaultLocks(): LiveLocks | null {
  return typeof navigator !== "undefined" && navigator.locks !== undefined ? navigator.locks : null;
}

function defaultChannel(): ((name: string) => LiveChannel) | null {
  return typeof BroadcastChannel === "undefined" ? null : (name) => new BroadcastChannel(name);
}

/** Opens the inbox for this tab; see the module comment. */
export function openSharedLive(options: SharedLiveOptions): SharedLive {
  return new SharedLiveTab(options);
}

interface LockAttempt {
  controller: AbortController | null;
  held: boolean;
  /** We gave it up ourselves (destroy, pagehide, steal): its rejection means nothing. */
  abandoned: boolean;
  release: (() => void) | null;
}

class SharedLiveTab implements SharedLive {
  readonly doc = new Y.Doc();
  readonly awareness: Awareness;
  readonly #status: Value<LiveStatus>;
  readonly #isLeader = new Value(false);
  readonly status: Readable<LiveStatus>;
  readonly isLeader: Readable<boolean>;

  readonly #options: SharedLiveOptions;
  readonly #timers: LiveTimers;
  readonly #now: () => number;
  readonly #name: string;
  readonly #aliveIntervalMs: number;
  readonly #followerTimeoutMs: number;
  readonly #leaderTimeoutMs: number;
  readonly #locks: LiveLocks | null;
  #channel: LiveChannel | null;
  /** Origin of changes that came over the channel, so they are not sent back. */
  readonly #channelOrigin = Symbol("tab channel");
  readonly #id: number;

  #connection: LiveConnection | null = null;
  #unsubscribeConnection: (() => void) | null = null;
  #lock: LockAttempt | null = null;
  #leaderId: number | null = null;
  #lastLeaderHeard: number;
  /** Leader only: follower client id → when we last heard from it. */
  readonly #followers = new Map<number, number>();
  #tickTimer: unknown = null;
  #tickExpected = 0;
  /** Leader: when we last asked followers for a sign of life after a gap of our own. */
  #followerProbeAt: number | null = null;
  /** Follower: pending check of the leader's answer to a probe. */
  #probeTimer: unknown = null;
  #unsubscribeWake: (() => void) | null = null;
  #unsubscribeLifecycle: (() => void) | null = null;
  #suspended = false;
  #destroyed = false;

  constructor(options: SharedLiveOptions) {
    this.#options = options;
    this.#timers = options.timers ?? defaultTimers;
    this.#now = options.now ?? Date.now;
    this.#name = `${options.name}|live-v${PROTOCOL_VERSION}|tabs-v${SHARED_LIVE_VERSION}`;
    this.#aliveIntervalMs = options.aliveIntervalMs ?? DEFAULT_ALIVE_INTERVAL_MS;
    this.#followerTimeoutMs = options.followerTimeoutMs ?? DEFAULT_FOLLOWER_TIMEOUT_MS;
    this.#leaderTimeoutMs = options.leaderTimeoutMs ?? DEFAULT_LEADER_TIMEOUT_MS;
    this.awareness = quietAwareness(this.doc);
    this.awareness.setLocalState(options.localState);
    this.#id = this.awareness.clientID;
    this.#status = new Value<LiveStatus>(
      { state: "connecting", stopReason: null, synced: false, downSince: this.#now() },
      sameStatus,
    );
    this.status = this.#status.readable;
    this.isLeader = this.#isLeader.readable;
    this.#lastLeaderHeard = this.#now();

    const locks = options.locks === undefined ? defaultLocks() : options.locks;
    const channelFactory = options.channel === undefined ? defaultChannel() : options.channel;
    let channel: LiveChannel | null = null;
    if (locks !== null && channelFactory !== null) {
      try {
        channel = channelFactory(this.#name);
      } catch {
        channel = null; // e.g. an opaque origin: fall back to a socket of our own
      }
    }
    this.#locks = channel === null ? null : locks;
    this.#channel = channel;

    if (this.#channel === null) {
      this.#becomeStandalone();
      return;
    }
    this.#channel.onmessage = (event) => this.#onMessage(event.data);
    this.awareness.on("update", this.#onAwarenessUpdate);
    this.doc.on("update", this.#onDocUpdate);
    this.#unsubscribeWake = (options.wakeSignals ?? browserWakeSignals)(() => {
      // The leader checks its socket; we check the leader.
      if (this.#connection === null && this.#channel !== null) this.#probeLeader("wake");
    });
    this.#unsubscribeLifecycle = (options.pageLifecycle ?? browserPageLifecycle)({
      hide: () => this.#suspend(),
      show: () => this.#resume(),
    });
    this.#join();
  }

  setLocalState(state: AgentAwarenessState | null): void {
    this.awareness.setLocalState(state);
  }

  patchLocalState(patch: Partial<AgentAwarenessState>): void {
    const current = this.awareness.getLocalState();
    if (current === null) return;
    const next = { ...current, ...patch };
    if (!equalityDeep(current, next)) this.awareness.setLocalState(next);
  }

  reconnectNow(): void {
    if (this.#connection !== null) this.#reconnect();
    else this.#post({ t: "reconnect", from: this.#id });
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#leave(true);
    this.#unsubscribeWake?.();
    this.#unsubscribeLifecycle?.();
    this.awareness.off("update", this.#onAwarenessUpdate);
    this.doc.off("update", this.#onDocUpdate);
    if (this.#channel !== null) {
      this.#channel.onmessage = null;
      this.#channel.close();
    }
    this.#status.set({ ...this.#status.get(), state: "stopped", synced: false });
    this.awareness.destroy();
    this.doc.destroy();
  }

  // --- roles ------------------------------------------------------------------------------

  /** No way to share: this tab is its own leader for good. */
  #becomeStandalone(): void {
    this.#startConnection();
  }

  /** Joins the tabs: wait for the lock, and meanwhile follow whoever leads. */
  #join(): void {
    this.#lastLeaderHeard = this.#now();
    this.#startTicking();
    this.#announce();
    this.#requestSnapshot();
    this.#requestLock(false);
  }

  /** Leaves the tabs (destroy, pagehide): say goodbye, give up leadership and the lock. */
  #leave(goodbye: boolean): void {
    this.#stopTicking();
    if (this.#connection !== null) this.#stopLeading(goodbye);
    if (this.#channel !== null) this.#post({ t: "bye", from: this.#id });
    this.#releaseLock();
  }

  #suspend(): void {
    if (this.#suspended || this.#destroyed) return;
    this.#suspended = true;
    // Closing, or entering the back/forward cache, where this page would hold the lock while
    // frozen: let another tab lead now.
    this.#leave(true);
  }

  #resume(): void {
    if (!this.#suspended || this.#destroyed) return;
    this.#suspended = false;
    this.#join();
  }

  #becomeLeader(): void {
    this.#leaderId = this.#id;
    this.#followers.clear();
    // Before connecting, so followers re-announce while the handshake is under way.
    this.#post({ t: "leader", from: this.#id });
    this.#startConnection();
  }

  #startConnection(): void {
    const options = this.#options;
    const connection = new LiveConnection({
      url: options.url,
      doc: this.doc,
      awareness: this.awareness,
      ...(options.WebSocket !== undefined && { WebSocket: options.WebSocket }),
      timers: this.#timers,
      now: this.#now,
      ...(options.random !== undefined && { random: options.random }),
      ...(options.backoff !== undefined && { backoff: options.backoff }),
      ...(options.wakeSignals !== undefined && { wakeSignals: options.wakeSignals }),
      ...(options.keepalive !== undefined && { keepalive: options.keepalive }),
      ...(options.sleep !== undefined && { sleep: options.sleep }),
      ...(options.onPermissionDenied !== undefined && { onPermissionDenied: options.onPermissionDenied }),
      ...(options.onProtocolError !== undefined && { onProtocolError: options.onProtocolError }),
    });
    this.#connection = connection;
    this.#unsubscribeConnection = connection.subscribe((status) => this.#leaderStatus(status));
    this.#isLeader.set(true);
    this.#leaderStatus(connection.status);
    connection.connect();
  }

  /**
   * Skips the backoff. After a terminal stop (say UNAUTHORIZED) the connection never retries by
   * itself; a user asking for it (after logging in again, the URL builder reading the new
   * token) is the exception, and it may ask from any tab: so a stopped connection is replaced.
   */
  #reconnect(): void {
    const connection = this.#connection;
    if (connection === null) return;
    if (connection.state !== "stopped") {
      connection.reconnectNow();
      return;
    }
    this.#unsubscribeConnection?.();
    connection.destroy({ goodbye: false });
    this.#startConnection();
  }

  /** Stops holding the socket; the tab stays (as a follower) unless it is leaving. */
  #stopLeading(goodbye: boolean): void {
    const connection = this.#connection;
    if (connection === null) return;
    this.#connection = null;
    this.#unsubscribeConnection?.();
    this.#unsubscribeConnection = null;
    connection.destroy({ goodbye });
    this.#followers.clear();
    if (this.#leaderId === this.#id) this.#leaderId = null;
    this.#isLeader.set(false);
  }

  // --- the lock ---------------------------------------------------------------------------

  #requestLock(steal: boolean): void {
    const locks = this.#locks;
    if (locks === null) return;
    const attempt: LockAttempt = {
      controller: steal ? null : new AbortController(),
      held: false,
      abandoned: false,
      release: null,
    };
    this.#lock = attempt;
    const options = attempt.controller === null
      ? { mode: "exclusive" as const, steal: true }
      : { mode: "exclusive" as const, signal: attempt.controller.signal };
    let request: Promise<unknown>;
    try {
      request = locks.request(this.#name, options, () => {
        if (attempt.abandoned || this.#destroyed) return Promise.resolve();
        attempt.held = true;
        return new Promise<void>((resolve) => {
          attempt.release = resolve;
          this.#becomeLeader();
        });
      });
    } catch (error) {
      this.#lockFailed(error);
      return;
    }
    request.then(
      () => {},
      (error: unknown) => {
        if (attempt.abandoned || this.#destroyed) return;
        if (attempt.held) {
          // Another tab stole the lock: it judged us frozen. Hand over without a goodbye (this
          // tab is still open; the new leader will publish our state) and queue up again.
          attempt.held = false;
          this.#stopLeading(false);
          if (this.#lock === attempt) {
            this.#lastLeaderHeard = this.#now();
            this.#announce();
            this.#requestSnapshot();
            this.#requestLock(false);
          }
        } else {
          this.#lockFailed(error);
        }
      },
    );
  }

  /**
   * The lock manager refused us outright (not an abort): rather than no live updates, a socket
   * of our own, and off the channel, so the other tabs keep following their one leader.
   */
  #lockFailed(error: unknown): void {
    (this.#options.onProtocolError ?? ((e) => console.warn("live: lock request failed", e)))(error);
    if (this.#destroyed || this.#suspended) return;
    this.#lock = null;
    this.#stopTicking();
    this.#post({ t: "bye", from: this.#id });
    this.awareness.off("update", this.#onAwarenessUpdate);
    this.doc.off("update", this.#onDocUpdate);
    this.#unsubscribeLifecycle?.();
    this.#unsubscribeLifecycle = null;
    if (this.#channel !== null) {
      this.#channel.onmessage = null;
      this.#channel.close();
      this.#channel = null;
    }
    if (this.#connection === null) this.#becomeStandalone();
  }

  #releaseLock(): void {
    const attempt = this.#lock;
    this.#lock = null;
    if (attempt === null) return;
    attempt.abandoned = true;
    attempt.controller?.abort();
    attempt.release?.();
  }

  #stealLock(): void {
    this.#releaseLock();
    this.#lastLeaderHeard = this.#now();
    this.#requestLock(true);
  }

  // --- periodic work ----------------------------------------------------------------------

  #startTicking(): void {
    if (this.#tickTimer !== null) this.#timers.clearTimeout(this.#tickTimer);
    this.#tickExpected = this.#now() + this.#aliveIntervalMs;
    this.#tickTimer = this.#timers.setTimeout(() => this.#tick(), this.#aliveIntervalMs);
  }

  #stopTicking(): void {
    if (this.#tickTimer !== null) this.#timers.clearTimeout(this.#tickTimer);
    this.#tickTimer = null;
    if (this.#probeTimer !== null) this.#timers.clearTimeout(this.#probeTimer);
    this.#probeTimer = null;
    this.#followerProbeAt = null;
  }

  /**
   * Every aliveIntervalMs: say we are alive, and judge the others' silence. A tick much later
   * than due means our own timers did not run (the machine slept, the page was frozen, or a
   * hidden tab's timers are throttled to once a minute, possibly for hours): silence measured
   * across such a gap says nothing about the others, so instead of judging we probe them, and
   * judge by the answer at the next tick (or, for a follower, PROBE_ANSWER_MS later).
   */
  #tick(): void {
    const now = this.#now();
    const late = now - this.#tickExpected > (this.#options.sleep?.jumpMs ?? DEFAULT_SLEEP_JUMP_MS);
    this.#startTicking();
    const leading = this.#connection !== null;
    this.#post({ t: "alive", from: this.#id, leader: leading });
    if (leading) {
      const probedAt = this.#followerProbeAt;
      this.#followerProbeAt = null;
      for (const [follower, seen] of this.#followers) {
        if (now - seen <= this.#followerTimeoutMs) continue;
        if (probedAt === null ? late : seen >= probedAt) continue; // not judged / answered the probe
        this.#dropFollower(follower);
      }
      if (late) {
        this.#followerProbeAt = now;
        this.#post({ t: "probe", from: this.#id });
      }
    } else if (this.#lock !== null) {
      if (late) this.#probeLeader("probe");
      else if (now - this.#lastLeaderHeard > this.#leaderTimeoutMs) this.#stealLock();
    }
  }

  /**
   * Asks the leader for a sign of life (any leader message counts) and takes over if none comes
   * within PROBE_ANSWER_MS: after our own sleep, or when the user comes back to this tab and
   * must not look at a frozen leader's stale replica for a minute and a half.
   */
  #probeLeader(kind: "probe" | "wake"): void {
    const probedAt = this.#now();
    this.#post({ t: kind, from: this.#id });
    if (this.#probeTimer !== null) this.#timers.clearTimeout(this.#probeTimer);
    this.#probeTimer = this.#timers.setTimeout(() => {
      this.#probeTimer = null;
      if (this.#connection !== null || this.#lock === null || this.#destroyed || this.#suspended) return;
      if (this.#lastLeaderHeard < probedAt) this.#stealLock();
    }, PROBE_ANSWER_MS);
  }

  // --- channel ----------------------------------------------------------------------------

  #post(message: TabMessage): void {
    if (this.#channel === null) return;
    try {
      this.#channel.postMessage(message);
    } catch {
      // Closed (we are being destroyed): nobody to tell.
    }
  }

  #onMessage(data: unknown): void {
    const message = parseMessage(data);
    if (message === null || message.from === this.#id || this.#destroyed || this.#suspended) return;
    if (this.#connection !== null) this.#onMessageAsLeader(message);
    else this.#onMessageAsFollower(message);
  }

  #onMessageAsLeader(message: TabMessage): void {
    const connection = this.#connection;
    if (connection === null) return;
    switch (message.t) {
      case "snapshot-request":
        this.#followers.set(message.from, this.#now());
        this.#post({
          t: "snapshot",
          from: this.#id,
          to: message.from,
          update: Y.encodeStateAsUpdate(this.doc, message.stateVector),
          awareness: encodeAwarenessEntries(currentEntries(this.awareness, this.awareness.getStates().keys())),
          status: this.#status.get(),
        });
        break;
      case "announce": {
        this.#followers.set(message.from, this.#now());
        // A tab speaks for itself only.
        let entries: AwarenessEntry[];
        try {
          entries = decodeAwarenessEntries(message.update).filter((entry) => entry.clientId === message.from);
        } catch {
          return;
        }
        if (entries.length > 0) connection.publishForwarded(encodeAwarenessEntries(entries));
        break;
      }
      case "alive":
        if (!this.#followers.has(message.from)) {
          // A tab we do not know (it missed our hello, or we dropped it after a freeze).
          this.#post({ t: "leader", from: this.#id, to: message.from });
        }
        this.#followers.set(message.from, this.#now());
        break;
      case "bye":
        this.#dropFollower(message.from);
        break;
      case "wake":
        connection.wake();
        this.#post({ t: "alive", from: this.#id, leader: true });
        break;
      case "probe":
        this.#post({ t: "alive", from: this.#id, leader: true });
        break;
      case "reconnect":
        this.#reconnect();
        break;
      default:
        // leader/doc/awareness/status/snapshot from another tab: a leader we displaced that has
        // not noticed yet; its lock request will tell it.
        break;
    }
  }

  #dropFollower(clientId: number): void {
    this.#followers.delete(clientId);
    if (this.#connection?.forwardedClientIds.includes(clientId)) this.#connection.forgetForwarded(clientId);
    else if (this.awareness.getStates().has(clientId)) forgetAwarenessStates(this.awareness, [clientId], this);
  }

  #onMessageAsFollower(message: TabMessage): void {
    switch (message.t) {
      case "leader":
        if (message.to !== undefined && message.to !== this.#id) return;
        this.#followLeader(message.from);
        break;
      case "probe":
        // Our leader woke from a gap of its own and asks who is still here.
        if (message.from === this.#leaderId) {
          this.#lastLeaderHeard = this.#now();
          this.#post({ t: "alive", from: this.#id, leader: false });
        }
        break;
      case "alive":
        if (!message.leader) return;
        if (message.from === this.#leaderId) this.#lastLeaderHeard = this.#now();
        else this.#followLeader(message.from);
        break;
      case "snapshot": {
        if (message.to !== this.#id) return;
        this.#leaderId = message.from;
        this.#lastLeaderHeard = this.#now();
        if (!this.#applyDoc(message.update)) return;
        let entries: AwarenessEntry[];
        try {
          entries = decodeAwarenessEntries(message.awareness);
        } catch {
          entries = [];
        }
        // A snapshot is the whole truth: states it does not list are gone.
        const listed = new Set(entries.map((entry) => entry.clientId));
        for (const clientId of this.awareness.getStates().keys()) {
          if (!listed.has(clientId)) entries.push({ clientId, clock: 0, state: null });
        }
        this.#mirror(entries);
        this.#setStatus(message.status);
        break;
      }
      case "doc":
        if (message.from !== this.#leaderId) return;
        this.#lastLeaderHeard = this.#now();
        this.#applyDoc(message.update);
        break;
      case "awareness":
        if (message.from !== this.#leaderId) return;
        this.#lastLeaderHeard = this.#now();
        try {
          this.#mirror(decodeAwarenessEntries(message.update));
        } catch {
          // A malformed update from another tab: skip it; the next snapshot repairs.
        }
        break;
      case "status":
        if (message.from !== this.#leaderId) return;
        this.#lastLeaderHeard = this.#now();
        this.#setStatus(message.status);
        break;
      case "bye":
        if (message.from !== this.#leaderId) return;
        // The leader left; the next one will say hello. Until then we are down.
        this.#leaderId = null;
        forgetAwarenessStates(this.awareness, [message.from], this.#channelOrigin);
        this.#setStatus({ state: "connecting", stopReason: null, synced: false, downSince: this.#now() });
        break;
      default:
        // snapshot-request/announce/wake/reconnect, and other followers' probes, are for the leader.
        break;
    }
  }

  /** Applies a document update from the leader; a broken one is reported, not thrown. */
  #applyDoc(update: Uint8Array): boolean {
    try {
      Y.applyUpdate(this.doc, update, this.#channelOrigin);
      return true;
    } catch (error) {
      (this.#options.onProtocolError ?? ((e) => console.warn("live: bad update from the leader tab", e)))(error);
      return false;
    }
  }

  #followLeader(leaderId: number): void {
    this.#leaderId = leaderId;
    this.#lastLeaderHeard = this.#now();
    // A new leader knows nothing of us, and its replica may lack what the previous one sent us.
    this.#announce();
    this.#requestSnapshot();
  }

  #requestSnapshot(): void {
    this.#post({ t: "snapshot-request", from: this.#id, stateVector: Y.encodeStateVector(this.doc) });
  }

  /** Sends our state to the leader with a newer clock (so a new leader's peers take it). */
  #announce(): void {
    const local = this.awareness.getLocalState();
    // setLocalState emits an update, which #onAwarenessUpdate turns into an announce.
    if (local !== null) this.awareness.setLocalState(local);
  }

  #mirror(entries: AwarenessEntry[]): void {
    mirrorAwarenessEntries(this.awareness, entries, this.#channelOrigin, () => this.#announce());
  }

  // --- local changes ----------------------------------------------------------------------

  readonly #onAwarenessUpdate = (
    changes: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    const touched = [...changes.added, ...changes.updated, ...changes.removed];
    if (this.#connection !== null) {
      // Leader: followers see what this tab sees.
      if (touched.length > 0) {
        this.#post({
          t: "awareness",
          from: this.#id,
          update: encodeAwarenessEntries(currentEntries(this.awareness, touched)),
        });
      }
      return;
    }
    if (origin === this.#channelOrigin || !touched.includes(this.#id)) return;
    this.#post({
      t: "announce",
      from: this.#id,
      update: encodeAwarenessEntries(currentEntries(this.awareness, [this.#id])),
    });
  };

  readonly #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    // Only what the leader's socket brought goes out; a follower's replica never sends.
    if (this.#connection !== null && origin === this.#connection) {
      this.#post({ t: "doc", from: this.#id, update });
    }
  };

  #leaderStatus(status: LiveStatus): void {
    this.#setStatus(status);
    this.#post({ t: "status", from: this.#id, status: this.#status.get() });
  }

  /**
   * Keeps the earliest "down since" across a handover: the next leader's connection starts
   * its own clock, but for the user the outage began when the previous socket went.
   */
  #setStatus(next: LiveStatus): void {
    const current = this.#status.get().downSince;
    const downSince = next.downSince === null ? null : Math.min(current ?? next.downSince, next.downSince);
    this.#status.set({ ...next, downSince });
  }
}
