// Fakes for unit tests of the live layer: a socket the test drives from the server's side,
// and timers the test runs by hand. Only tests import this file.

import type { LiveSocket, LiveSocketConstructor, LiveTimers } from "./connection.ts";

export class FakeSocket implements LiveSocket {
  binaryType: BinaryType = "blob";
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  readonly url: string;
  /** Frames the client sent, copied. */
  readonly sent: Uint8Array[] = [];
  /** Set when the client called close(). */
  closedByClient: { code: number | undefined; reason: string | undefined } | null = null;

  constructor(url: string) {
    this.url = url;
  }

  send(data: Uint8Array<ArrayBuffer>): void {
    if (this.closedByClient) throw new Error("send after close");
    this.sent.push(data.slice());
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
export function fakeWebSocket(): { WebSocket: LiveSocketConstructor; sockets: FakeSocket[]; last(): FakeSocket } {
  const sockets: FakeSocket[] = [];
  class RecordedSocket extends FakeSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
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

export class FakeTimers implements LiveTimers {
  readonly #pending = new Map<number, { callback: () => void; ms: number }>();
  #nextId = 1;
  /** Every delay ever requested, in order. */
  readonly requested: number[] = [];

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#pending.set(id, { callback, ms });
    this.requested.push(ms);
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Runs every timer pending right now (not the ones they schedule). */
  runPending(): void {
    const due = [...this.#pending.entries()];
    this.#pending.clear();
    for (const [, timer] of due) timer.callback();
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
