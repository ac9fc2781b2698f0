// LiveConnection: the project's thin provider on y-protocols for one server-owned document.
//
// - On open it sends sync step 1 and its own awareness state; it answers the server's step 1
//   with an empty step 2 and applies the server's step 2 and updates.
// - It never sends document updates: the document is read-only for clients.
// - It only ever sends its own awareness state (the server rejects foreign client ids), also
//   in answer to query-awareness.
// - It reconnects with exponential backoff and full jitter, at once on wake signals (online,
//   tab visible again), and stops for good after a terminal close reason.
//
// The WebSocket constructor, timers, randomness and wake signals are injected so the whole
// state machine runs in unit tests without a network.

import { Awareness, applyAwarenessUpdate, removeAwarenessStates } from "y-protocols/awareness";
import * as Y from "yjs";
import {
  type AgentAwarenessState,
  CloseReason,
  type CloseReasonName,
  TERMINAL_CLOSE_REASONS,
  closeReasonByCode,
} from "../../protocol/index.ts";
import { type BackoffOptions, DEFAULT_BACKOFF, backoffDelay } from "./backoff.ts";
import { decodeServerFrame, encodeAwareness, encodeEmptySyncStep2, encodeSyncStep1 } from "./frames.ts";
import { type WakeSignals, browserWakeSignals } from "./wake.ts";

export type LiveState = "connecting" | "connected" | "disconnected" | "stopped";

export interface LiveStatus {
  readonly state: LiveState;
  /** Set when state is "stopped" because of a terminal close; null when destroy() stopped it. */
  readonly stopReason: CloseReasonName | null;
  /** True once the server's sync step 2 arrived on the current socket. */
  readonly synced: boolean;
}

/** The part of the browser WebSocket the connection uses; the global WebSocket fits it. */
export interface LiveSocket {
  binaryType: BinaryType;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
}

export type LiveSocketConstructor = new (url: string) => LiveSocket;

export interface LiveTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface LiveConnectionOptions {
  /** Full ws(s) URL, or a function building it per attempt (so a fresh token can be used). */
  url: string | (() => string);
  /** Defaults to the global WebSocket. */
  WebSocket?: LiveSocketConstructor;
  /** Defaults to the global setTimeout/clearTimeout. */
  timers?: LiveTimers;
  /** Defaults to Math.random; drives the backoff jitter. */
  random?: () => number;
  /** Defaults to 500 ms doubling up to 30 s. */
  backoff?: BackoffOptions;
  /** Defaults to browserWakeSignals (online, visibilitychange to visible). */
  wakeSignals?: WakeSignals;
  /** This tab's awareness state; null publishes nothing until setLocalState(). */
  localState?: AgentAwarenessState | null;
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

export class LiveConnection {
  /** The server-owned document; read it, never write it. */
  readonly doc: Y.Doc;
  /** Presence of every tab of the account, this one included. */
  readonly awareness: Awareness;

  readonly #url: string | (() => string);
  readonly #WebSocket: LiveSocketConstructor;
  readonly #timers: LiveTimers;
  readonly #random: () => number;
  readonly #backoff: BackoffOptions;
  readonly #wakeSignals: WakeSignals;
  readonly #onPermissionDenied: (reason: string) => void;
  readonly #onProtocolError: (error: unknown) => void;
  readonly #listeners = new Set<(status: LiveStatus) => void>();

  #status: LiveStatus = { state: "disconnected", stopReason: null, synced: false };
  #socket: LiveSocket | null = null;
  #retryTimer: unknown = null;
  #attempt = 0;
  #unsubscribeWake: (() => void) | null = null;
  #destroyed = false;

  constructor(options: LiveConnectionOptions) {
    this.#url = options.url;
    const ctor: LiveSocketConstructor | undefined =
      options.WebSocket ?? (typeof WebSocket === "undefined" ? undefined : WebSocket);
    if (ctor === undefined) throw new Error("LiveConnection: no WebSocket implementation available");
    this.#WebSocket = ctor;
    this.#timers = options.timers ?? defaultTimers;
    this.#random = options.random ?? Math.random;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#wakeSignals = options.wakeSignals ?? browserWakeSignals;
    this.#onPermissionDenied =
      options.onPermissionDenied ?? ((reason) => console.warn(`live: permission denied (${reason})`));
    this.#onProtocolError = options.onProtocolError ?? ((error) => console.warn("live: protocol error", error));

    this.doc = new Y.Doc();
    this.awareness = new Awareness(this.doc);
    // Awareness starts with `{}`, which the server would refuse: publish our state or nothing.
    this.awareness.setLocalState(options.localState ?? null);
    this.awareness.on("update", this.#onAwarenessUpdate);
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
  setLocalState(state: AgentAwarenessState | null): void {
    this.awareness.setLocalState(state);
  }

  /** Starts connecting. No-op while a socket is open or opening, or once stopped. */
  connect(): void {
    if (this.#status.state === "stopped" || this.#socket !== null) return;
    this.#cancelRetry();
    this.#unsubscribeWake ??= this.#wakeSignals(() => this.reconnectNow());
    this.#open();
  }

  /** Skips the backoff wait if one is running (e.g. the network came back). */
  reconnectNow(): void {
    if (this.#status.state !== "disconnected" || this.#retryTimer === null) return;
    this.#cancelRetry();
    this.#open();
  }

  /** Says goodbye (null awareness state), closes the socket and stops for good. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const socket = this.#socket;
    if (socket !== null && this.#status.state === "connected" && this.awareness.getLocalState() !== null) {
      // Emits an awareness update for our client id, which #onAwarenessUpdate sends.
      removeAwarenessStates(this.awareness, [this.awareness.clientID], "destroy");
    }
    this.awareness.off("update", this.#onAwarenessUpdate);
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
    this.awareness.destroy();
    this.doc.destroy();
  }

  // --- socket lifecycle -------------------------------------------------------------------

  #open(): void {
    this.#setStatus({ state: "connecting", stopReason: null, synced: false });
    let socket: LiveSocket;
    try {
      socket = new this.#WebSocket(typeof this.#url === "function" ? this.#url() : this.#url);
    } catch (error) {
      this.#onProtocolError(error);
      this.#scheduleRetry();
      return;
    }
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#socket === socket) this.#handleOpen();
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

  #handleOpen(): void {
    this.#setStatus({ state: "connected", stopReason: null, synced: false });
    this.#send(encodeSyncStep1(this.doc));
    const local = this.awareness.getLocalState();
    if (local !== null) {
      // Re-publish with a bumped clock: the server dropped our state when the previous socket
      // closed and would ignore a state carrying a clock it has already seen. The resulting
      // awareness update is sent by #onAwarenessUpdate.
      this.awareness.setLocalState(local);
    }
  }

  #handleMessage(data: unknown): void {
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else {
      this.#onProtocolError(new Error("live: unexpected text frame"));
      return;
    }
    try {
      const frame = decodeServerFrame(bytes);
      switch (frame.type) {
        case "sync-step1":
          this.#send(encodeEmptySyncStep2());
          break;
        case "sync-step2":
          Y.applyUpdate(this.doc, frame.update, this);
          if (!this.#status.synced) {
            // A full handshake: the server is healthy, so the next failure starts backoff afresh.
            this.#attempt = 0;
            this.#setStatus({ ...this.#status, synced: true });
          }
          break;
        case "sync-update":
          Y.applyUpdate(this.doc, frame.update, this);
          break;
        case "awareness":
          applyAwarenessUpdate(this.awareness, frame.update, this);
          break;
        case "query-awareness":
          this.#send(encodeAwareness(this.awareness, [this.awareness.clientID]));
          break;
        case "permission-denied":
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
    this.#forgetRemoteAwareness();
    const name = closeReasonByCode(code) ?? (Object.hasOwn(CloseReason, reason) ? (reason as CloseReasonName) : undefined);
    if (name !== undefined && TERMINAL_CLOSE_REASONS.includes(name)) {
      this.#stop(name);
      return;
    }
    this.#scheduleRetry();
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
    this.#unsubscribeWake?.();
    this.#unsubscribeWake = null;
    this.#setStatus({ state: "stopped", stopReason: reason, synced: false });
  }

  #detach(socket: LiveSocket): void {
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
  }

  #send(frame: Uint8Array<ArrayBuffer>): void {
    if (this.#socket === null || this.#status.state !== "connected") return;
    try {
      this.#socket.send(frame);
    } catch (error) {
      this.#onProtocolError(error);
    }
  }

  // --- awareness --------------------------------------------------------------------------

  readonly #onAwarenessUpdate = (
    changes: { added: number[]; updated: number[]; removed: number[] },
    _origin: unknown,
  ): void => {
    const own = this.awareness.clientID;
    if (changes.added.includes(own) || changes.updated.includes(own) || changes.removed.includes(own)) {
      this.#send(encodeAwareness(this.awareness, [own]));
    }
  };

  /**
   * Without a socket we cannot know who is online: drop every other state, and their clocks
   * too, so that the snapshot the server sends on reconnect is accepted as new.
   */
  #forgetRemoteAwareness(): void {
    const own = this.awareness.clientID;
    const others = [...this.awareness.getStates().keys()].filter((id) => id !== own);
    removeAwarenessStates(this.awareness, others, this);
    for (const id of [...this.awareness.meta.keys()]) {
      if (id !== own) this.awareness.meta.delete(id);
    }
  }

  #setStatus(next: LiveStatus): void {
    const prev = this.#status;
    if (prev.state === next.state && prev.stopReason === next.stopReason && prev.synced === next.synced) return;
    this.#status = next;
    for (const listener of [...this.#listeners]) listener(next);
  }
}
