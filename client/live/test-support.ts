// Fakes for unit tests of the live layer: a socket the test drives from the server's side, a
// small server speaking the live protocol, a virtual clock with timers, Web Locks and
// BroadcastChannel for several "tabs" in one process. Only tests import this file.

import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as awarenessProtocol from "y-protocols/awareness";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { type AgentAwarenessState, Keepalive, MessageType, SyncMessageType } from "../../protocol/index.ts";
import { decodeAwarenessEntries } from "./awareness-entries.ts";
import type { LiveSocket, LiveSocketConstructor, LiveTimers } from "./connection.ts";
import type { LiveChannel, LiveLocks } from "./shared-live.ts";

export class FakeSocket implements LiveSocket {
  binaryType: BinaryType = "blob";
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  readonly url: string;
  /** Binary frames the client sent, copied. */
  readonly sent: Uint8Array[] = [];
  /** Text frames the client sent (keepalive pings). */
  readonly sentText: string[] = [];
  /** Set when the client called close(). */
  closedByClient: { code: number | undefined; reason: string | undefined } | null = null;
  /** Sees every frame the client sends (a FakeLiveServer hooks in here). */
  onClientFrame: ((data: string | Uint8Array) => void) | null = null;

  constructor(url: string) {
    this.url = url;
  }

  send(data: string | Uint8Array<ArrayBuffer>): void {
    if (this.closedByClient) throw new Error("send after close");
    if (typeof data === "string") this.sentText.push(data);
    else this.sent.push(data.slice());
    this.onClientFrame?.(typeof data === "string" ? data : data.slice());
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
  }

  // --- the server's side ---

  serverOpen(): void {
    this.onopen?.({ type: "open" } as Event);
  }

  /** Delivers a binary frame the way a browser with binaryType "arraybuffer" does. */
  serverSend(frame: Uint8Array): void {
    const copy = frame.slice();
    this.onmessage?.({ type: "message", data: copy.buffer } as MessageEvent);
  }

  serverSendText(text: string): void {
    this.onmessage?.({ type: "message", data: text } as MessageEvent);
  }

  serverClose(code: number, reason = ""): void {
    this.onerror?.({ type: "error" } as Event);
    this.onclose?.({ type: "close", code, reason, wasClean: code !== 1006 } as CloseEvent);
  }
}

/** A FakeSocket class with its own registry of created sockets. */
export function fakeWebSocket(options: { onCreate?: (socket: FakeSocket) => void } = {}): {
  WebSocket: LiveSocketConstructor;
  sockets: FakeSocket[];
  last(): FakeSocket;
} {
  const sockets: FakeSocket[] = [];
  class RecordedSocket extends FakeSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
      options.onCreate?.(this);
    }
  }
  return {
    WebSocket: RecordedSocket,
    sockets,
    last() {
      const socket = sockets.at(-1);
      if (!socket) throw new Error("no socket created yet");
      return socket;
    },
  };
}

/**
 * Timers on a virtual clock. `advance(ms)` runs what falls due, in order, each at its due time.
 * `sleep(ms)` moves the wall clock (`now`) without running anything, as a suspended machine
 * does; `stall(ms)` lets time pass without running timers, which then run late (a throttled or
 * frozen tab) on the next advance.
 */
export class FakeTimers implements LiveTimers {
  readonly #pending = new Map<number, { callback: () => void; due: number }>();
  #nextId = 1;
  #monotonic = 0;
  #wallOffset: number;
  /** Every delay ever requested, in order. */
  readonly requested: number[] = [];

  constructor(startWall = 1_750_000_000_000) {
    this.#wallOffset = startWall;
  }

  readonly now = (): number => this.#monotonic + this.#wallOffset;

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#pending.set(id, { callback, due: this.#monotonic + Math.max(0, ms) });
    this.requested.push(ms);
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  advance(ms: number): void {
    const end = this.#monotonic + ms;
    for (;;) {
      const next = this.#soonest();
      if (next === undefined || next[1].due > end) break;
      this.#pending.delete(next[0]);
      this.#monotonic = Math.max(this.#monotonic, next[1].due);
      next[1].callback();
    }
    this.#monotonic = end;
  }

  /** Runs timers in order until `done()` holds; throws if that takes longer than `limitMs`. */
  runUntil(done: () => boolean, limitMs = 10 * 60_000): void {
    const end = this.#monotonic + limitMs;
    while (!done()) {
      const next = this.#soonest();
      if (next === undefined || next[1].due > end) throw new Error("runUntil: condition never met");
      this.#pending.delete(next[0]);
      this.#monotonic = Math.max(this.#monotonic, next[1].due);
      next[1].callback();
    }
  }

  /**
   * Timers of one tab on this clock. kill(): the tab died (its timers dropped, new ones
   * ignored); freeze()/thaw(): the tab was frozen (what fell due meanwhile runs late on thaw).
   */
  scope(): LiveTimers & { kill(): void; freeze(): void; thaw(): void } {
    const handles = new Set<unknown>();
    const deferred: Array<() => void> = [];
    let dead = false;
    let frozen = false;
    return {
      setTimeout: (callback, ms) => {
        if (dead) return -1;
        const handle: unknown = this.setTimeout(() => {
          handles.delete(handle);
          if (frozen) deferred.push(callback);
          else callback();
        }, ms);
        handles.add(handle);
        return handle;
      },
      clearTimeout: (handle) => {
        handles.delete(handle);
        this.clearTimeout(handle);
      },
      kill: () => {
        dead = true;
        for (const handle of handles) this.clearTimeout(handle);
        handles.clear();
        deferred.length = 0;
      },
      freeze: () => {
        frozen = true;
      },
      thaw: () => {
        frozen = false;
        for (const callback of deferred.splice(0)) callback();
      },
    };
  }

  sleep(ms: number): void {
    this.#wallOffset += ms;
  }

  stall(ms: number): void {
    this.#monotonic += ms;
  }

  #soonest(): [number, { callback: () => void; due: number }] | undefined {
    let best: [number, { callback: () => void; due: number }] | undefined;
    for (const entry of this.#pending) {
      if (best === undefined || entry[1].due < best[1].due) best = entry;
    }
    return best;
  }
}

/** Returns the given numbers in turn, then repeats the last one. */
export function sequence(...values: number[]): () => number {
  let index = 0;
  return () => {
    const value = values[Math.min(index, values.length - 1)];
    index += 1;
    if (value === undefined) throw new Error("sequence() needs at least one value");
    return value;
  };
}

function frame(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
}

interface Peer {
  ids: Set<number>;
  /** The path to this socket died: nothing gets through in either direction. */
  dead: boolean;
  outbox: Array<string | Uint8Array>;
}

/**
 * A server for one read-only document, behaving like durable-objects/live/live-room.ts as far
 * as clients can tell: welcome (step 1 + awareness), step 2 answers, relayed awareness with
 * ids owned per socket (claims of ids another socket owns allowed, as for one agent), removal
 * of a socket's states when it closes, keepalive pongs, query-awareness after hibernation.
 * Frames to clients are queued until flush(), so nothing re-enters a client mid-call.
 */
export class FakeLiveServer {
  readonly doc = new Y.Doc();
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  readonly #peers = new Map<FakeSocket, Peer>();
  /**
   * A claimed id stops belonging to the socket that had it, as in the hub. False models the
   * race where the old socket's close is processed (and its removal relayed) first.
   */
  handover = true;
  /** Clients may write the document (as a ticket room's draft): their updates are applied and relayed. */
  writable = false;
  /** Every frame delivered to a client, in order. */
  readonly delivered: Array<{ socket: FakeSocket; frame: string | Uint8Array }> = [];
  /** Every awareness update the server accepted, with the socket it came from. */
  readonly awarenessLog: Array<{ socket: FakeSocket; update: Uint8Array }> = [];

  constructor() {
    clearInterval((this.awareness as unknown as { _checkInterval: ReturnType<typeof setInterval> })._checkInterval);
    this.awareness.setLocalState(null);
  }

  get openSockets(): FakeSocket[] {
    return [...this.#peers.keys()];
  }

  accept(socket: FakeSocket): void {
    const peer: Peer = { ids: new Set(), dead: false, outbox: [] };
    this.#peers.set(socket, peer);
    socket.onClientFrame = (data) => {
      if (!peer.dead && this.#peers.has(socket)) this.#receive(socket, peer, data);
    };
    socket.serverOpen();
    this.#queue(
      peer,
      frame((e) => {
        encoding.writeVarUint(e, MessageType.sync);
        syncProtocol.writeSyncStep1(e, this.doc);
      }),
    );
    const known = [...this.awareness.getStates().keys()];
    if (known.length > 0) this.#queue(peer, this.#awarenessFrame(known));
  }

  /** Changes the document and sends the update to every socket. */
  change(fn: (doc: Y.Doc) => void): void {
    const updates: Uint8Array[] = [];
    const onUpdate = (update: Uint8Array): void => {
      updates.push(update);
    };
    this.doc.on("update", onUpdate);
    this.doc.transact(() => fn(this.doc));
    this.doc.off("update", onUpdate);
    for (const update of updates) {
      const message = frame((e) => {
        encoding.writeVarUint(e, MessageType.sync);
        syncProtocol.writeUpdate(e, update);
      });
      for (const peer of this.#peers.values()) this.#queue(peer, message);
    }
  }

  /**
   * The socket closes (server side or network): its states are removed and the removal relayed.
   * `notify: false` when the client is gone anyway (its tab crashed).
   */
  close(socket: FakeSocket, code = 1006, reason = "", notify = true): void {
    const peer = this.#peers.get(socket);
    if (peer === undefined) return;
    this.#peers.delete(socket);
    const gone = [...peer.ids].filter((id) => this.awareness.getStates().has(id));
    if (gone.length > 0) {
      awarenessProtocol.removeAwarenessStates(this.awareness, gone, socket);
      const message = this.#awarenessFrame(gone);
      for (const other of this.#peers.values()) this.#queue(other, message);
      for (const id of gone) this.awareness.meta.delete(id);
    }
    if (notify && !peer.dead) socket.serverClose(code, reason);
  }

  /** The path to the socket dies silently: the client gets nothing more, the server hears nothing. */
  cut(socket: FakeSocket): void {
    const peer = this.#peers.get(socket);
    if (peer !== undefined) peer.dead = true;
  }

  /** The Durable Object woke from hibernation: in-memory awareness is lost; ask every socket. */
  hibernateAndWake(): void {
    for (const id of [...this.awareness.getStates().keys()]) this.awareness.states.delete(id);
    this.awareness.meta.clear();
    const message = frame((e) => encoding.writeVarUint(e, MessageType.queryAwareness));
    for (const peer of this.#peers.values()) this.#queue(peer, message);
  }

  /** Delivers queued frames; returns how many. */
  flush(): number {
    let delivered = 0;
    for (;;) {
      let moved = false;
      for (const [socket, peer] of this.#peers) {
        const next = peer.outbox.shift();
        if (next === undefined) continue;
        moved = true;
        delivered += 1;
        if (peer.dead) continue;
        this.delivered.push({ socket, frame: next });
        if (typeof next === "string") socket.serverSendText(next);
        else socket.serverSend(next);
      }
      if (!moved) return delivered;
    }
  }

  get pendingFrames(): number {
    let count = 0;
    for (const peer of this.#peers.values()) count += peer.outbox.length;
    return count;
  }

  #receive(socket: FakeSocket, peer: Peer, data: string | Uint8Array): void {
    if (typeof data === "string") {
      if (data === Keepalive.request) this.#queue(peer, Keepalive.response);
      return;
    }
    const decoder = decoding.createDecoder(data);
    const type = decoding.readVarUint(decoder);
    if (type === MessageType.sync) {
      const subtype = decoding.readVarUint(decoder);
      const payload = decoding.readVarUint8Array(decoder);
      if (subtype === SyncMessageType.step1) {
        this.#queue(
          peer,
          frame((e) => {
            encoding.writeVarUint(e, MessageType.sync);
            syncProtocol.writeSyncStep2(e, this.doc, payload);
          }),
        );
      }
      if (this.writable && subtype !== SyncMessageType.step1 && payload.byteLength > 2) {
        Y.applyUpdate(this.doc, payload, socket);
        const relay = frame((e) => {
          encoding.writeVarUint(e, MessageType.sync);
          syncProtocol.writeUpdate(e, payload);
        });
        for (const [other, otherPeer] of this.#peers) if (other !== socket) this.#queue(otherPeer, relay);
      }
      // Otherwise clients never write this document; their (empty) step 2 is ignored.
      return;
    }
    if (type === MessageType.awareness) {
      const update = decoding.readVarUint8Array(decoder);
      for (const entry of decodeAwarenessEntries(update)) {
        if (!peer.ids.has(entry.clientId) && this.handover) {
          // Like the hub: the other socket no longer answers for this id; its close keeps it.
          for (const other of this.#peers.values()) if (other !== peer) other.ids.delete(entry.clientId);
        }
        peer.ids.add(entry.clientId);
      }
      this.awarenessLog.push({ socket, update });
      awarenessProtocol.applyAwarenessUpdate(this.awareness, update, socket);
      const relay = frame((e) => {
        encoding.writeVarUint(e, MessageType.awareness);
        encoding.writeVarUint8Array(e, update);
      });
      for (const [other, otherPeer] of this.#peers) if (other !== socket) this.#queue(otherPeer, relay);
    }
  }

  #queue(peer: Peer, message: string | Uint8Array): void {
    peer.outbox.push(message);
  }

  #awarenessFrame(clients: number[]): Uint8Array {
    return frame((e) => {
      encoding.writeVarUint(e, MessageType.awareness);
      encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients));
    });
  }
}

function abortError(): DOMException {
  return new DOMException("The request was aborted.", "AbortError");
}

interface LockRequest {
  tab: string;
  callback: (lock: unknown) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Web Locks (exclusive mode) for several tabs: a queue per name, `steal`, `signal`, and
 * crashTab() for a tab that dies (its locks released, its callbacks never finishing).
 */
export class FakeLocks {
  readonly #held = new Map<string, LockRequest>();
  readonly #queues = new Map<string, LockRequest[]>();
  readonly #crashed = new Set<string>();

  forTab(tab: string): LiveLocks {
    return {
      request: (name, options, callback) =>
        new Promise((resolve, reject) => {
          if (this.#crashed.has(tab)) return;
          if (options.signal?.aborted) {
            reject(abortError());
            return;
          }
          const request: LockRequest = { tab, callback, resolve, reject };
          if (options.steal === true) {
            const holder = this.#held.get(name);
            if (holder !== undefined) {
              this.#held.delete(name);
              holder.reject(abortError());
            }
            this.#grant(name, request);
            return;
          }
          const queue = this.#queues.get(name) ?? [];
          this.#queues.set(name, queue);
          queue.push(request);
          options.signal?.addEventListener("abort", () => {
            const index = queue.indexOf(request);
            if (index < 0) return;
            queue.splice(index, 1);
            reject(abortError());
          });
          this.#next(name);
        }),
    };
  }

  holder(name: string): string | null {
    return this.#held.get(name)?.tab ?? null;
  }

  waiting(name: string): string[] {
    return (this.#queues.get(name) ?? []).map((request) => request.tab);
  }

  crashTab(tab: string): void {
    this.#crashed.add(tab);
    for (const [name, queue] of this.#queues) {
      this.#queues.set(
        name,
        queue.filter((request) => request.tab !== tab),
      );
    }
    for (const [name, holder] of [...this.#held]) {
      if (holder.tab !== tab) continue;
      this.#held.delete(name);
      this.#next(name);
    }
  }

  #next(name: string): void {
    if (this.#held.has(name)) return;
    const request = this.#queues.get(name)?.shift();
    if (request !== undefined) this.#grant(name, request);
  }

  #grant(name: string, request: LockRequest): void {
    this.#held.set(name, request);
    // Browsers run the callback in a later task, never inside request().
    void Promise.resolve().then(async () => {
      if (this.#held.get(name) !== request) return;
      let result: unknown;
      let failed = false;
      try {
        result = await request.callback({ name, mode: "exclusive" });
      } catch (error) {
        result = error;
        failed = true;
      }
      if (this.#held.get(name) !== request) return; // stolen or crashed meanwhile
      this.#held.delete(name);
      if (failed) request.reject(result);
      else request.resolve(result);
      this.#next(name);
    });
  }
}

class FakeChannel implements LiveChannel {
  onmessage: ((event: MessageEvent) => void) | null = null;
  closed = false;
  /** Its tab died: nothing it posts goes anywhere. */
  crashed = false;
  readonly name: string;
  readonly tab: string;
  readonly #hub: FakeBroadcastHub;

  constructor(hub: FakeBroadcastHub, name: string, tab: string) {
    this.#hub = hub;
    this.name = name;
    this.tab = tab;
  }

  postMessage(message: unknown): void {
    if (this.crashed) return;
    if (this.closed) throw new DOMException("BroadcastChannel is closed", "InvalidStateError");
    this.#hub.post(this, structuredClone(message));
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * BroadcastChannel across tabs: messages are structured-cloned, delivered to every other open
 * channel of the same name (never back to the sender), in order, on flush().
 */
export class FakeBroadcastHub {
  readonly #channels: FakeChannel[] = [];
  readonly #queue: Array<{ from: FakeChannel; data: unknown }> = [];
  readonly #frozen = new Set<string>();
  #held: Array<{ channel: FakeChannel; data: unknown }> = [];
  /** Every message posted, for assertions. */
  readonly log: Array<{ tab: string; data: unknown }> = [];

  factory(tab: string): (name: string) => LiveChannel {
    return (name) => {
      const channel = new FakeChannel(this, name, tab);
      this.#channels.push(channel);
      return channel;
    };
  }

  post(from: FakeChannel, data: unknown): void {
    this.#queue.push({ from, data });
    this.log.push({ tab: from.tab, data });
  }

  get pending(): number {
    return this.#queue.length;
  }

  flush(): number {
    let delivered = 0;
    for (let message = this.#queue.shift(); message !== undefined; message = this.#queue.shift()) {
      delivered += 1;
      for (const channel of this.#channels) {
        if (channel === message.from || channel.closed || channel.name !== message.from.name) continue;
        const data = structuredClone(message.data);
        if (this.#frozen.has(channel.tab)) this.#held.push({ channel, data });
        else channel.onmessage?.({ data } as MessageEvent);
      }
    }
    return delivered;
  }

  /** Messages to a frozen tab wait until it thaws. */
  freezeTab(tab: string): void {
    this.#frozen.add(tab);
  }

  thawTab(tab: string): void {
    this.#frozen.delete(tab);
    const held = this.#held.filter((entry) => entry.channel.tab === tab);
    this.#held = this.#held.filter((entry) => entry.channel.tab !== tab);
    for (const { channel, data } of held) if (!channel.closed) channel.onmessage?.({ data } as MessageEvent);
  }

  crashTab(tab: string): void {
    for (const channel of this.#channels) {
      if (channel.tab !== tab) continue;
      channel.closed = true;
      channel.crashed = true;
    }
  }
}

// --- reading awareness in assertions ---------------------------------------------------------

export interface OnlineAgent {
  agentId: string;
  name: string;
  /** How many tabs (awareness clients) the agent has open. */
  tabs: number;
}

function isAgentState(state: unknown): state is AgentAwarenessState {
  if (typeof state !== "object" || state === null) return false;
  const { agentId, name } = state as Record<string, unknown>;
  return typeof agentId === "string" && agentId !== "" && typeof name === "string";
}

/** Distinct agents among awareness states (one per agent, however many tabs), sorted by name. */
export function onlineAgents(states: ReadonlyMap<number, unknown>): OnlineAgent[] {
  const byId = new Map<string, OnlineAgent>();
  for (const state of states.values()) {
    if (!isAgentState(state)) continue;
    const known = byId.get(state.agentId);
    if (known) known.tabs += 1;
    else byId.set(state.agentId, { agentId: state.agentId, name: state.name, tabs: 1 });
  }
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name) || a.agentId.localeCompare(b.agentId));
}
