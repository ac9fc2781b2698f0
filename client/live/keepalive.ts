// Keepalive for one socket: a ping (text frame) every interval, and a deadline after each ping
// by which some frame must have arrived. A socket can stay "open" for minutes after the path
// to the server died (Wi-Fi change, sleep, a NAT dropping the mapping): TCP only notices when
// it sends, and a read-only client rarely does. The server's runtime answers pings without
// waking the Durable Object, and its own sweep closes sockets whose pings stopped.

import type { LiveTimers } from "./connection.ts";

export interface KeepaliveOptions {
  timers: LiveTimers;
  intervalMs: number;
  timeoutMs: number;
  /** Sends the ping frame. */
  ping: () => void;
  /** Nothing arrived within timeoutMs of a ping. */
  onDead: () => void;
}

export class Keepalive {
  readonly #options: KeepaliveOptions;
  #pingTimer: unknown = null;
  #deadlineTimer: unknown = null;
  /** A ping is out and nothing has arrived since it was sent. */
  #awaiting = false;
  /** Some ping on this socket was answered: the whole round trip worked at least once. */
  #answered = false;

  constructor(options: KeepaliveOptions) {
    this.#options = options;
  }

  get answered(): boolean {
    return this.#answered;
  }

  /** The socket opened: pings start one interval from now. */
  start(): void {
    this.#schedulePing();
  }

  stop(): void {
    this.#clear(this.#pingTimer);
    this.#clear(this.#deadlineTimer);
    this.#pingTimer = null;
    this.#deadlineTimer = null;
    this.#awaiting = false;
  }

  /** Any frame arrived: the socket is alive. */
  received(): void {
    if (!this.#awaiting) return;
    this.#awaiting = false;
    this.#answered = true;
    this.#clear(this.#deadlineTimer);
    this.#deadlineTimer = null;
  }

  /**
   * Pings at once and expects an answer within the timeout (after a sleep, a network change,
   * or when the user comes back). The deadline restarts even if a ping was already out: its
   * timer may have been throttled, and a socket must not be declared dead on a stale clock.
   */
  pingNow(): void {
    this.#clear(this.#pingTimer);
    this.#pingTimer = null;
    this.#ping();
  }

  #ping(): void {
    this.#awaiting = true;
    this.#clear(this.#deadlineTimer);
    this.#deadlineTimer = this.#options.timers.setTimeout(() => {
      this.#deadlineTimer = null;
      if (!this.#awaiting) return;
      this.stop();
      this.#options.onDead();
    }, this.#options.timeoutMs);
    this.#schedulePing();
    this.#options.ping();
  }

  #schedulePing(): void {
    this.#clear(this.#pingTimer);
    this.#pingTimer = this.#options.timers.setTimeout(() => {
      this.#pingTimer = null;
      this.#ping();
    }, this.#options.intervalMs);
  }

  #clear(handle: unknown): void {
    if (handle !== null) this.#options.timers.clearTimeout(handle);
  }
}
