// LiveConnection: the project's thin provider on y-protocols for one live document.
//
// - On open it sends sync step 1 and its awareness; it answers the server's step 1 with an
//   empty step 2 and applies the server's step 2 and updates.
// - It never sends document updates (server-owned documents are read-only for clients),
//   unless made `writable` (a ticket's draft): then its step 2 carries what the server lacks
//   and every local change goes up as a sync update; `flush()` waits until the server has
//   applied everything sent before it.
// - It sends its own awareness state and, for a leader tab, the states of the other tabs of
//   this browser it was handed (publishForwarded), also in answer to query-awareness, and
//   sends them all again a second after the hub refused one as rate-limited.
// - It pings while connected and treats a socket that stops answering as dead; a coarse timer
//   notices when the machine slept or the page was frozen and checks the socket at once.
// - It reconnects with exponential backoff and full jitter, at once on wake signals (online,
//   tab visible again) and after a sleep, and stops for good after a terminal close reason.
// - It gives up on a socket that does not open within CONNECT_TIMEOUT_MS, and a wake signal
//   replaces one that has been connecting for a while (keepalive only covers open sockets).
//
// The WebSocket constructor, timers, clock, randomness and wake signals are injected so the
// whole state machine runs in unit tests without a network.

import { equalityDeep } from "lib0/function";
import { Awareness, applyAwarenessUpdate, removeAwarenessStates } from "y-protocols/awareness";
import * as Y from "yjs";
import {
  type AgentAwarenessState,
  CloseReason,
  type CloseReasonName,
  KEEPALIVE_INTERVAL_MS,
  KEEPALIVE_QUERY_PARAM,
  KEEPALIVE_TIMEOUT_MS,
  Keepalive as KeepaliveFrame,
  PermissionDeniedReason,
  TERMINAL_CLOSE_REASONS,
  closeReasonByCode,
} from "../../protocol/index.ts";
import { type AwarenessEntry, decodeAwarenessEntries, encodeAwarenessEntries } from "./awareness-entries.ts";
import { type BackoffOptions, DEFAULT_BACKOFF, backoffDelay } from "./backoff.ts";
import {
  decodeServerFrame,
  encodeAwareness,
  encodeAwarenessUpdateFrame,
  encodeEmptySyncStep2,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
} from "./frames.ts";
import { Keepalive } from "./keepalive.ts";
import { DEFAULT_SLEEP_JUMP_MS, DEFAULT_SLEEP_PERIOD_MS, watchForSleep } from "./sleep.ts";
import { type WakeSignals, browserWakeSignals } from "./wake.ts";
import { quietAwareness } from "./quiet-awareness.ts";

export type LiveState = "connecting" | "connected" | "disconnected" | "stopped";

export interface LiveStatus {
  readonly state: LiveState;
  /** Set when state is "stopped" because of a terminal close; null when destroy() stopped it. */
  readonly stopReason: CloseReasonName | null;
  /** True once the server's sync step 2 arrived on the current socket. */
  readonly synced: boolean;
  /**
   * Epoch ms (the `now` clock) since when the connection has not been up, "up" meaning
   * connected and synced; null while up. Reconnect attempts do not move it, so a UI can say
   * "Not connected to live updates" once it is older than a grace period. Starts at creation.
   */
  readonly downSince: number | null;
}

/** The part of the browser WebSocket the connection uses; the global WebSocket fits it. */
export interface LiveSocket {
  binaryType: BinaryType;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  /** Binary y-protocols frames, and the keepalive text frame. */
  send(data: string | Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
}

export type LiveSocketConstructor = new (url: string) => LiveSocket;

export interface LiveTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What a tab publishes in awareness: the inbox's AgentAwarenessState by default. */
export interface LiveConnectionOptions<S extends object = AgentAwarenessState> {
  /** Full ws(s) URL, or a function building it per attempt (so a fresh token can be used). */
  url: string | (() => string);
  /** Defaults to the global WebSocket. */
  WebSocket?: LiveSocketConstructor;
  /** Defaults to the global setTimeout/clearTimeout. */
  timers?: LiveTimers;
  /** Wall clock in epoch ms; defaults to Date.now. Drives sleep detection and downSince. */
  now?: () => number;
  /** Defaults to Math.random; drives the backoff jitter. */
  random?: () => number;
  /** Defaults to 500 ms doubling up to 30 s. */
  backoff?: BackoffOptions;
  /** Defaults to browserWakeSignals (online, visibilitychange to visible). */
  wakeSignals?: WakeSignals;
  /** Defaults to the protocol's KEEPALIVE_INTERVAL_MS and KEEPALIVE_TIMEOUT_MS. */
  keepalive?: { intervalMs: number; timeoutMs: number };
  /** Defaults to a look every 5 s, a jump of more than 15 s counting as a sleep. */
  sleep?: { periodMs: number; jumpMs: number };
  /**
   * A replica to keep (a tab that becomes the leader keeps what it already has, so its sync
   * step 1 carries its state vector and the server sends only what it lacks). Defaults to
   * `awareness.doc`, or a new document. Borrowed documents are not destroyed by destroy().
   */
  doc?: Y.Doc;
  /** An awareness to keep (must belong to `doc`); its local state is kept unless `localState` is given. */
  awareness?: Awareness;
  /** This tab's awareness state; null publishes nothing until setLocalState(). */
  localState?: S | null;
  /**
   * The client may write the document (the server still guards which parts): local changes
   * (any origin but the connection's own) are sent, and the answer to the server's sync
   * step 1 carries what it lacks. Defaults to false: a read-only replica.
   */
  writable?: boolean;
  /** The server refused something we sent (the socket stays open). */
  onPermissionDenied?: (reason: string) => void;
  /** A frame could not be decoded or applied. Defaults to console.warn. */
  onProtocolError?: (error: unknown) => void;
}

const defaultTimers: LiveTimers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

const NORMAL_CLOSURE = 1000;
/** After a rate-limited refusal; the hub refills AWARENESS_PER_SECOND tokens a second. */
export const RATE_LIMITED_RETRY_MS = 1_000;
/**
 * A socket not open this long after it was created is abandoned and retried with backoff.
 * Keepalive only starts once a socket opens, and a handshake stuck after a network switch
 * or a sleep would otherwise wait for the browser to give up, which takes minutes.
 */
export const CONNECT_TIMEOUT_MS = 10_000;
/**
 * A wake signal (online, tab visible, the machine woke) replaces a socket that has been
 * connecting longer than this: it was likely started on the network that just went away.
 */
export const CONNECT_STALE_ON_WAKE_MS = 2_000;

/**
 * This connection always sends keepalives, so it says so (`ka=1`): the hub then closes the
 * socket if they stop (a machine that slept with the socket open), and leaves alone clients
 * that never send any.
 */
function withKeepaliveFlag(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.searchParams.set(KEEPALIVE_QUERY_PARAM, "1");
    return parsed.toString();
  } catch {
    return url; // not absolute: leave it to the WebSocket constructor to refuse
  }
}

export class LiveConnection<S extends object = AgentAwarenessState> {
  /** The server-owned document; read it, never write it. */
  readonly doc: Y.Doc;
  /** Presence of every tab of the account, this one included. */
  readonly awareness: Awareness;

  readonly #url: string | (() => string);
  readonly #WebSocket: LiveSocketConstructor;
  readonly #timers: LiveTimers;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #backoff: BackoffOptions;
  readonly #wakeSignals: WakeSignals;
  readonly #keepaliveTiming: { intervalMs: number; timeoutMs: number };
  readonly #sleepTiming: { periodMs: number; jumpMs: number };
  readonly #ownsDoc: boolean;
  readonly #writable: boolean;
  /** flush() calls waiting for the server's answer to their sync step 1, oldest first. */
  #flushWaiters: ((applied: boolean) => void)[] = [];
  readonly #onPermissionDenied: (reason: string) => void;
  readonly #onProtocolError: (error: unknown) => void;
  readonly #listeners = new Set<(status: LiveStatus) => void>();
  /** Origin of awareness changes we make for forwarded states, so we do not react to our own. */
  readonly #forwardOrigin = Symbol("forwarded awareness");
  /** States of other tabs of this browser that this socket publishes (the leader's job). */
  readonly #forwarded = new Map<number, Record<string, unknown>>();

  #status: LiveStatus;
  #socket: LiveSocket | null = null;
  #keepalive: Keepalive | null = null;
  #retryTimer: unknown = null;
  #connectTimer: unknown = null;
  /** When the current socket was created (the `now` clock), for wake() to judge it stale. */
  #connectingSince = 0;
  #republishTimer: unknown = null;
  #attempt = 0;
  /** A dead socket may be replaced at once, unless the replacement has not yet proven itself. */
  #quickReconnect = true;
  #unsubscribeWake: (() => void) | null = null;
  #stopSleepWatch: (() => void) | null = null;
  /** Remote states inherited with a borrowed awareness that the server has not confirmed yet. */
  #unconfirmed: Set<number> | null = null;
  /** Set while we bump our own clock as part of a combined frame. */
  #quiet = false;
  #destroyed = false;

  constructor(options: LiveConnectionOptions<S>) {
    this.#url = options.url;
    const ctor: LiveSocketConstructor | undefined =
      options.WebSocket ?? (typeof WebSocket === "undefined" ? undefined : WebSocket);
    if (ctor === undefined) throw new Error("LiveConnection: no WebSocket implementation available");
    this.#WebSocket = ctor;
    this.#timers = options.timers ?? defaultTimers;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#wakeSignals = options.wakeSignals ?? browserWakeSignals;
    this.#keepaliveTiming = options.keepalive ?? { intervalMs: KEEPALIVE_INTERVAL_MS, timeoutMs: KEEPALIVE_TIMEOUT_MS };
    this.#sleepTiming = options.sleep ?? { periodMs: DEFAULT_SLEEP_PERIOD_MS, jumpMs: DEFAULT_SLEEP_JUMP_MS };
    this.#onPermissionDenied =
      options.onPermissionDenied ?? ((reason) => console.warn(`live: permission denied (${reason})`));
    this.#onProtocolError = options.onProtocolError ?? ((error) => console.warn("live: protocol error", error));
    this.#status = { state: "disconnected", stopReason: null, synced: false, downSince: this.#now() };

    if (options.awareness !== undefined && options.doc !== undefined && options.awareness.doc !== options.doc) {
      throw new Error("LiveConnection: the awareness must belong to the document");
    }
    this.#ownsDoc = options.doc === undefined && options.awareness === undefined;
    this.doc = options.doc ?? options.awareness?.doc ?? new Y.Doc();
    this.awareness = options.awareness ?? quietAwareness(this.doc);
    if (options.awareness === undefined || options.localState !== undefined) {
      // A new Awareness starts with `{}`, which the server would refuse: publish our state or nothing.
      this.awareness.setLocalState(options.localState ?? null);
    }
    if (options.awareness !== undefined) {
      // Whoever these states belong to may have left while nobody listened (say, during a
      // leader handover); the server's snapshot on the first socket tells (see #sweepUnconfirmed).
      const own = this.awareness.clientID;
      this.#unconfirmed = new Set([...this.awareness.getStates().keys()].filter((id) => id !== own));
    }
    this.awareness.on("update", this.#onAwarenessUpdate);
    this.#writable = options.writable === true;
    if (this.#writable) this.doc.on("update", this.#onDocUpdate);
  }

  get status(): LiveStatus {
    return this.#status;
  }

  get state(): LiveState {
    return this.#status.state;
  }

  get stopReason(): CloseReasonName | null {
    return this.#status.stopReason;
  }

  /** Calls `listener` on every status change; returns the unsubscribe function. */
  subscribe(listener: (status: LiveStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sets (and publishes, when connected) this tab's awareness state. */
  setLocalState(state: S | null): void {
    this.awareness.setLocalState(state);
  }

  /**
   * Resolves true once the server has applied every change this connection sent before the
   * call (it answers a sync step 1 after the frames before it), false if the socket is not
   * up or goes before the answer. Lets an HTTP intent that reads the document (sending the
   * draft) follow the last keystrokes, which travel over the socket.
   */
  flush(): Promise<boolean> {
    if (this.#socket === null || this.#status.state !== "connected" || !this.#status.synced) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.#flushWaiters.push(resolve);
      this.#send(encodeSyncStep1(this.doc));
    });
  }

  /** Starts connecting. No-op while a socket is open or opening, or once stopped. */
  connect(): void {
    if (this.#status.state === "stopped" || this.#destroyed || this.#socket !== null) return;
    this.#cancelRetry();
    this.#unsubscribeWake ??= this.#wakeSignals(() => this.wake());
    this.#stopSleepWatch ??= watchForSleep({
      timers: this.#timers,
      now: this.#now,
      ...this.#sleepTiming,
      onJump: () => this.wake(),
    });
    this.#open();
  }

  /** Skips the backoff wait if one is running (e.g. the network came back). */
  reconnectNow(): void {
    if (this.#status.state !== "disconnected" || this.#retryTimer === null) return;
    this.#cancelRetry();
    this.#open();
  }

  /**
   * Something suggests the world changed under us (network back, user back, the machine
   * woke up): reconnect now if waiting to retry; replace a socket connecting for more than
   * CONNECT_STALE_ON_WAKE_MS (its handshake may be stuck on the old network); if connected,
   * ping and expect an answer within the keepalive timeout. A healthy socket is never torn down on a mere suspicion.
   */
  wake(): void {
    if (this.#status.state === "connected") this.#keepalive?.pingNow();
    else if (this.#status.state === "connecting") this.#replaceStaleConnect();
    else this.reconnectNow();
  }

  /**
   * Publishes awareness states of other tabs of this browser through this socket, under their
   * own client ids. `update` is a y-protocols awareness update from such a tab; a `null` state
   * forgets that tab. Forwarded states are kept across reconnects (re-published with a newer
   * clock) and answered in query-awareness, like our own. Our own client id is ignored.
   */
  publishForwarded(update: Uint8Array): void {
    let entries: AwarenessEntry[];
    try {
      entries = decodeAwarenessEntries(update);
    } catch (error) {
      this.#onProtocolError(error);
      return;
    }
    const publish: number[] = [];
    for (const { clientId, clock, state } of entries) {
      if (clientId === this.awareness.clientID) continue;
      if (state === null) {
        this.forgetForwarded(clientId);
      } else if (typeof state === "object" && !Array.isArray(state)) {
        this.#forwarded.set(clientId, state as Record<string, unknown>);
        this.#unconfirmed?.delete(clientId);
        publish.push(clientId);
        // The tab's own clock may be behind what a previous leader published for it.
        this.#raiseClock(clientId, clock);
      }
    }
    this.#republishForwarded(publish);
  }

  /** Stops publishing a forwarded tab's state and tells the server it is gone. */
  forgetForwarded(clientId: number): void {
    if (!this.#forwarded.delete(clientId)) return;
    this.#applyOwned([{ clientId, clock: this.#nextClock(clientId), state: null }]);
  }

  /** Client ids whose states this connection publishes for other tabs. */
  get forwardedClientIds(): number[] {
    return [...this.#forwarded.keys()];
  }

  /**
   * Closes the socket and stops for good. With `goodbye` (the default) it first tells the server
   * this tab's state is gone; a tab that hands its socket over to another one but stays open
   * passes `goodbye: false`. Forwarded states are never removed: their tabs live on.
   */
  destroy(options: { goodbye?: boolean } = {}): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const socket = this.#socket;
    if (options.goodbye !== false && this.#status.state === "connected" && this.awareness.getLocalState() !== null) {
      this.#sayGoodbye();
    }
    this.awareness.off("update", this.#onAwarenessUpdate);
    if (this.#writable) this.doc.off("update", this.#onDocUpdate);
    this.#stopKeepalive();
    if (socket !== null) {
      this.#detach(socket);
      this.#socket = null;
      try {
        socket.close(NORMAL_CLOSURE, "client closed");
      } catch {
        // Closing a socket that never opened may throw in some implementations.
      }
    }
    // A terminal close that came first keeps its reason.
    this.#stop(this.#status.state === "stopped" ? this.#status.stopReason : null);
    if (this.#ownsDoc) {
      this.awareness.destroy();
      this.doc.destroy();
    }
  }

  // --- socket lifecycle -------------------------------------------------------------------

  #open(): void {
    this.#setStatus({ state: "connecting", stopReason: null, synced: false });
    let socket: LiveSocket;
    try {
      socket = new this.#WebSocket(withKeepaliveFlag(typeof this.#url === "function" ? this.#url() : this.#url));
    } catch (error) {
      this.#onProtocolError(error);
      this.#scheduleRetry();
      return;
    }
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    this.#connectingSince = this.#now();
    this.#connectTimer = this.#timers.setTimeout(() => {
      this.#connectTimer = null;
      if (this.#socket !== socket) return;
      this.#abandonConnecting(socket, "connect timeout");
      this.#scheduleRetry();
    }, CONNECT_TIMEOUT_MS);
    socket.onopen = () => {
      if (this.#socket === socket) this.#handleOpen(socket);
    };
    socket.onmessage = (event) => {
      if (this.#socket === socket) this.#handleMessage(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#handleClose(socket, event.code, event.reason);
    };
    // An error is always followed by a close event, which does the work.
    socket.onerror = () => {};
  }

  #handleOpen(socket: LiveSocket): void {
    this.#clearConnectTimer();
    this.#setStatus({ state: "connected", stopReason: null, synced: false });
    this.#keepalive = new Keepalive({
      timers: this.#timers,
      ...this.#keepaliveTiming,
      ping: () => this.#send(KeepaliveFrame.request),
      onDead: () => this.#handleDead(socket),
    });
    this.#keepalive.start();
    this.#send(encodeSyncStep1(this.doc));
    // Re-publish with newer clocks, in one frame (the server rate-limits awareness updates):
    // the server dropped these states when the previous socket closed, and peers that saw
    // them leave ignore a state whose clock they have already seen.
    this.#republishAll();
  }

  /** Sends our own state and every forwarded one, each with a newer clock, in one frame. */
  #republishAll(): void {
    const clients: number[] = [];
    const local = this.awareness.getLocalState();
    if (local !== null) {
      this.#quiet = true;
      try {
        this.awareness.setLocalState(local);
      } finally {
        this.#quiet = false;
      }
      clients.push(this.awareness.clientID);
    }
    const forwarded = [...this.#forwarded.keys()];
    if (forwarded.length > 0) this.#applyLocally(this.#forwardedEntries(forwarded));
    clients.push(...forwarded);
    if (clients.length > 0) this.#send(encodeAwareness(this.awareness, clients));
  }

  /**
   * The hub refused an awareness update for exceeding its rate (it relays nothing of it), so
   * peers may show a stale state, say "typing" long after it stopped. Once, a moment later,
   * everything we publish is sent again as it is now; the refusals in between add nothing.
   */
  #republishSoon(): void {
    if (this.#republishTimer !== null) return;
    this.#republishTimer = this.#timers.setTimeout(() => {
      this.#republishTimer = null;
      if (this.#status.state === "connected") this.#republishAll();
    }, RATE_LIMITED_RETRY_MS);
  }

  #handleMessage(data: unknown): void {
    // Any frame is a sign of life, the keepalive answer being only the one we can count on.
    this.#keepalive?.received();
    if (this.#keepalive?.answered) this.#quickReconnect = true;
    if (typeof data === "string") {
      if (data !== KeepaliveFrame.response) this.#onProtocolError(new Error("live: unexpected text frame"));
      return;
    }
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else {
      this.#onProtocolError(new Error("live: unexpected frame"));
      return;
    }
    try {
      const frame = decodeServerFrame(bytes);
      switch (frame.type) {
        case "sync-step1":
          this.#send(this.#writable ? encodeSyncStep2(this.doc, frame.stateVector) : encodeEmptySyncStep2());
          break;
        case "sync-step2":
          Y.applyUpdate(this.doc, frame.update, this);
          // After the handshake, a step 2 answers the step 1 of the oldest flush().
          if (this.#status.synced) this.#flushWaiters.shift()?.(true);
          if (!this.#status.synced) {
            // A full handshake: the server is healthy, so the next failure starts backoff afresh.
            this.#attempt = 0;
            this.#sweepUnconfirmed();
            this.#setStatus({ ...this.#status, synced: true });
          }
          break;
        case "sync-update":
          Y.applyUpdate(this.doc, frame.update, this);
          break;
        case "awareness":
          if (this.#unconfirmed !== null) {
            for (const entry of decodeAwarenessEntries(frame.update)) this.#unconfirmed.delete(entry.clientId);
          }
          applyAwarenessUpdate(this.awareness, frame.update, this);
          break;
        case "query-awareness": {
          // The server lost its in-memory states (it woke from hibernation): it has no clocks
          // left, so the current ones do; peers that still know them have nothing to update.
          const clients = [this.awareness.clientID, ...this.#forwarded.keys()];
          this.#send(encodeAwareness(this.awareness, clients));
          break;
        }
        case "permission-denied":
          if (frame.reason === PermissionDeniedReason.rateLimited) this.#republishSoon();
          this.#onPermissionDenied(frame.reason);
          break;
        case "unknown":
          this.#onProtocolError(new Error(`live: unknown message type ${frame.messageType}`));
          break;
      }
    } catch (error) {
      this.#onProtocolError(error);
    }
  }

  #handleClose(socket: LiveSocket, code: number, reason: string): void {
    this.#detach(socket);
    this.#socket = null;
    this.#stopKeepalive();
    this.#forgetRemoteAwareness();
    const name = closeReasonByCode(code) ?? (Object.hasOwn(CloseReason, reason) ? (reason as CloseReasonName) : undefined);
    if (name !== undefined && TERMINAL_CLOSE_REASONS.includes(name)) {
      this.#stop(name);
      return;
    }
    this.#scheduleRetry();
  }

  /**
   * The socket stopped answering. That is the path to the server failing, not the server, so
   * a fresh socket is opened at once instead of waiting out a backoff; but only if the
   * previous fresh socket answered a ping, else a link that dies right after connecting would
   * loop without pause, and normal backoff applies.
   */
  #handleDead(socket: LiveSocket): void {
    if (this.#socket !== socket) return;
    this.#detach(socket);
    this.#socket = null;
    this.#stopKeepalive();
    try {
      // The close handshake may never complete on a dead path; we do not wait for it.
      socket.close(NORMAL_CLOSURE, "keepalive timeout");
    } catch {
      // Nothing to do: the socket is gone either way.
    }
    this.#forgetRemoteAwareness();
    if (this.#quickReconnect) {
      this.#quickReconnect = false;
      this.#open();
    } else {
      this.#scheduleRetry();
    }
  }

  #replaceStaleConnect(): void {
    const socket = this.#socket;
    if (socket === null || this.#now() - this.#connectingSince <= CONNECT_STALE_ON_WAKE_MS) return;
    this.#abandonConnecting(socket, "replaced on wake");
    this.#open();
  }

  /** Drops a socket that never opened; the caller decides when to try again. */
  #abandonConnecting(socket: LiveSocket, reason: string): void {
    this.#detach(socket);
    this.#socket = null;
    try {
      socket.close(NORMAL_CLOSURE, reason);
    } catch {
      // Closing a socket that never opened may throw in some implementations.
    }
    // As after any failed connect: without a socket we cannot know who is online.
    this.#forgetRemoteAwareness();
  }

  #clearConnectTimer(): void {
    if (this.#connectTimer === null) return;
    this.#timers.clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
  }

  #scheduleRetry(): void {
    const delay = backoffDelay(this.#attempt, this.#random, this.#backoff);
    this.#attempt += 1;
    this.#setStatus({ state: "disconnected", stopReason: null, synced: false });
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = null;
      this.#open();
    }, delay);
  }

  #cancelRetry(): void {
    if (this.#retryTimer === null) return;
    this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  #stop(reason: CloseReasonName | null): void {
    this.#cancelRetry();
    this.#stopKeepalive();
    this.#unsubscribeWake?.();
    this.#unsubscribeWake = null;
    this.#stopSleepWatch?.();
    this.#stopSleepWatch = null;
    this.#setStatus({ state: "stopped", stopReason: reason, synced: false });
  }

  #stopKeepalive(): void {
    this.#keepalive?.stop();
    this.#keepalive = null;
    if (this.#republishTimer !== null) this.#timers.clearTimeout(this.#republishTimer);
    this.#republishTimer = null;
  }

  #detach(socket: LiveSocket): void {
    // Every path that lets a socket go detaches it; its connect timer must not outlive it,
    // and flushes waiting on it will get no answer.
    this.#clearConnectTimer();
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    for (const resolve of waiters) resolve(false);
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
  }

  #send(frame: string | Uint8Array<ArrayBuffer>): void {
    if (this.#socket === null || this.#status.state !== "connected") return;
    try {
      this.#socket.send(frame);
    } catch (error) {
      this.#onProtocolError(error);
    }
  }

  /** A local change of a writable document: sent now, or in the next handshake's step 2. */
  readonly #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin !== this) this.#send(encodeSyncUpdate(update));
  };

  // --- awareness --------------------------------------------------------------------------

  readonly #onAwarenessUpdate = (
    changes: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (this.#quiet) return;
    const own = this.awareness.clientID;
    const touched = [...changes.added, ...changes.updated, ...changes.removed];
    if (touched.includes(own)) this.#send(encodeAwareness(this.awareness, [own]));
    if (origin === this.#forwardOrigin) return;
    // Someone else changed a state we publish: the server relayed the removal made when a
    // previous leader's socket closed, or the stock 30 s expiry ran. The tab still exists
    // (until forgetForwarded), so say so again with a newer clock, as y-protocols does for
    // its own state.
    const overridden = touched.filter((id) => {
      const state = this.#forwarded.get(id);
      return state !== undefined && !equalityDeep(this.awareness.getStates().get(id) ?? null, state);
    });
    this.#republishForwarded(overridden);
  };

  #republishForwarded(clients: number[]): void {
    if (clients.length > 0) this.#applyOwned(this.#forwardedEntries(clients));
  }

  #forwardedEntries(clients: number[]): AwarenessEntry[] {
    return clients.map((clientId) => ({
      clientId,
      clock: this.#nextClock(clientId),
      state: this.#forwarded.get(clientId) ?? null,
    }));
  }

  /** Applies entries we publish to our awareness (so this tab shows them) and sends them. */
  #applyOwned(entries: AwarenessEntry[]): void {
    const update = this.#applyLocally(entries);
    this.#send(encodeAwarenessUpdateFrame(update));
  }

  #applyLocally(entries: AwarenessEntry[]): Uint8Array {
    const update = encodeAwarenessEntries(entries);
    applyAwarenessUpdate(this.awareness, update, this.#forwardOrigin);
    return update;
  }

  #nextClock(clientId: number): number {
    return (this.awareness.meta.get(clientId)?.clock ?? 0) + 1;
  }

  /** Makes sure the next clock we publish for `clientId` is above `clock`. */
  #raiseClock(clientId: number, clock: number): void {
    const meta = this.awareness.meta.get(clientId);
    if (clock - 1 > (meta?.clock ?? 0)) {
      this.awareness.meta.set(clientId, { clock: clock - 1, lastUpdated: meta?.lastUpdated ?? Date.now() });
    }
  }

  /**
   * Tells the server our state is gone, at a newer clock, without removing it here: a
   * borrowed awareness stays in use by its tab. Our clock moves on, so that a later state
   * from this tab (through another socket) is newer than the removal everyone saw.
   */
  #sayGoodbye(): void {
    const own = this.awareness.clientID;
    const clock = this.#nextClock(own);
    this.#send(encodeAwarenessUpdateFrame(encodeAwarenessEntries([{ clientId: own, clock, state: null }])));
    const meta = this.awareness.meta.get(own);
    this.awareness.meta.set(own, { clock, lastUpdated: meta?.lastUpdated ?? Date.now() });
  }

  /**
   * Without a socket we cannot know who is online: drop every other state, and their clocks
   * too, so that the snapshot the server sends on reconnect is accepted as new. Forwarded
   * states stay, like our own: their tabs are still open and we will publish them again.
   */
  #forgetRemoteAwareness(): void {
    this.#unconfirmed = null;
    const kept = (id: number): boolean => id === this.awareness.clientID || this.#forwarded.has(id);
    const others = [...this.awareness.getStates().keys()].filter((id) => !kept(id));
    removeAwarenessStates(this.awareness, others, this);
    for (const id of [...this.awareness.meta.keys()]) {
      if (!kept(id)) this.awareness.meta.delete(id);
    }
  }

  /**
   * The server's welcome carried every state it knows before it answered our step 1, so an
   * inherited state it did not mention belongs to a tab that is gone.
   */
  #sweepUnconfirmed(): void {
    const unconfirmed = this.#unconfirmed;
    this.#unconfirmed = null;
    if (unconfirmed === null) return;
    const stale = [...unconfirmed].filter((id) => !this.#forwarded.has(id) && this.awareness.getStates().has(id));
    if (stale.length === 0) return;
    removeAwarenessStates(this.awareness, stale, this);
    for (const id of stale) this.awareness.meta.delete(id);
  }

  #setStatus(next: Omit<LiveStatus, "downSince">): void {
    const prev = this.#status;
    const up = next.state === "connected" && next.synced;
    const downSince = up ? null : (prev.downSince ?? this.#now());
    if (
      prev.state === next.state &&
      prev.stopReason === next.stopReason &&
      prev.synced === next.synced &&
      prev.downSince === downSince
    ) {
      return;
    }
    this.#status = { state: next.state, stopReason: next.stopReason, synced: next.synced, downSince };
    for (const listener of [...this.#listeners]) listener(this.#status);
  }
}
