import { parentPort, workerData } from "node:worker_threads";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";
import WebSocket from "ws";
import * as Y from "yjs";
import { MessageType } from "../../protocol/index.ts";
import { TicketDoc } from "../../protocol/ticket-doc.ts";
import { prng } from "../../dev/prng.ts";
import { threadCpuMs } from "../ingest/measure.ts";
import type { BenchAgent } from "../support.ts";

// The co-edit benchmark's typists, all in one worker thread of the benchmark's process (the
// shard host runs on its main thread; workerd, Hocuspocus and the relay in child processes),
// each with a `ws` socket and a Y.Doc of its own. All three servers get the same client code:
// per frame it decodes, applies a sync message to its document and answers sync step 1, in
// the server's framing:
//
// - ours: y-protocols frames on /live/tickets/<ticketId>?v=…&token=… (sync step 1 on open);
// - hocuspocus: the same messages with the document name first, a token message first, and
//   a pong for the server's connection-level ping;
// - relay: the bare Durable Object relay passes every frame to every other socket. It holds
//   no document, so the clients skip the handshake (they all start empty) and only send
//   sync updates.
//
// Each typist inserts single characters into the `draft` Y.Text at `cps` per second, at a
// cursor of its own (a relative position just after its last character, as an editor keeps
// it), moved to a random place every WORD_RUN keystrokes. Each insert is one Yjs item
// (client id, clock) sent at once as a sync update frame. A receiver learns which keystrokes
// arrived from its transaction's before/after state vectors: clocks [before, after) of a
// typist's client id. Sender and receivers share this thread, hence one monotonic clock.
// The benchmark asks for typing in slices (`type`, then `finish`); the clients stay
// connected between slices, and the checks run once, after the last.

export type ServerKind = "ours" | "hocuspocus" | "relay";

export interface TypistsJob {
  server: ServerKind;
  /** ours: ws URL of the ticket socket with `?v=`, the token is appended; others: the server's ws URL. */
  url: string;
  /** Hocuspocus document name. */
  documentName: string;
  agents: BenchAgent[];
  cps: number;
  /** Keystrokes per typist are sized for this many seconds in all (the sum of the slices). */
  seconds: number;
  /** Offer permessage-deflate, as browsers and `ws` do. */
  deflate: boolean;
  connectTimeoutMs: number;
  /** After the last keystroke, how long to wait for every delivery. */
  drainTimeoutMs: number;
  /** Check that a client joining afterwards gets the whole draft from the server (not for the relay). */
  lateJoiner: boolean;
  seed: number;
}

export interface TypistsResult {
  server: ServerKind;
  connectMs: number;
  /** Keystrokes typed (every agent's). */
  keystrokes: number;
  /** One per (keystroke, receiver) delivered, ms from the local insert. */
  latenciesMs: number[];
  /** (keystroke, receiver) pairs never delivered within the drain timeout. */
  missed: number;
  /** How late keystrokes were typed against their schedule (this thread's own lag), ms. */
  typingLagMs: { p50: number; p99: number; max: number };
  /** Summed over the slices: first keystroke → every delivery done (or the drain timeout), ms. */
  typingWallMs: number;
  typingCpuMs: number;
  /** Frames this thread received during typing (all clients). */
  framesReceived: number;
  /** Bytes of the sync update frames the typists sent (mean). */
  meanFrameBytes: number;
  convergence: { equal: boolean; length: number; expected: number; distinct: number };
  lateJoiner: { checked: boolean; ok: boolean; length: number; ms: number };
  permissionDenied: Record<string, number>;
  protocolErrors: string[];
  closes: Record<string, number>;
  extensions: string;
}

/** From the benchmark: type for `seconds` more (a slice), or finish (checks, results). */
export type TypistsCommand = { type: "type"; seconds: number } | { type: "finish" };

export type TypistsMessage =
  | { type: "connected"; connectMs: number }
  /** A slice is typed and delivered (or timed out); this thread's CPU during it. */
  | { type: "typed"; typingCpuMs: number }
  | { type: "done"; result: TypistsResult }
  | { type: "failed"; error: string };

/** Keystrokes at one cursor before the typist jumps elsewhere. */
const WORD_RUN = 20;
const TEXT = "thanks for your patience your parcel left our warehouse today ";
/** Origin of what a client applies from its socket (so its update handler does not echo it). */
const REMOTE = Symbol("remote");

/** Hocuspocus message types (its framing prefixes each message with the document name). */
const Hp = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3, syncReply: 4, ping: 9, pong: 10 } as const;
const HpAuth = { token: 0, permissionDenied: 1 } as const;

interface Counters {
  permissionDenied: Record<string, number>;
  protocolErrors: string[];
  closes: Record<string, number>;
  frames: number;
}

function keyCount(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

class Client {
  readonly doc = new Y.Doc();
  readonly text = this.doc.getText(TicketDoc.draft);
  readonly socket: WebSocket;
  readonly synced: Promise<void>;
  private resolveSynced!: () => void;
  private wasSynced = false;
  sentFrames = 0;
  sentBytes = 0;
  private readonly job: TypistsJob;
  private readonly counters: Counters;

  constructor(job: TypistsJob, token: string, counters: Counters) {
    this.job = job;
    this.counters = counters;
    this.synced = new Promise((resolve) => {
      this.resolveSynced = resolve;
    });
    const url = job.server === "ours" ? `${job.url}&token=${encodeURIComponent(token)}` : job.url;
    this.socket = new WebSocket(url, { perMessageDeflate: job.deflate });
    this.socket.binaryType = "nodebuffer";
    this.socket.on("open", () => {
      if (job.server === "relay") {
        this.markSynced();
        return;
      }
      if (job.server === "hocuspocus") {
        const auth = this.message(Hp.auth);
        encoding.writeVarUint(auth, HpAuth.token);
        encoding.writeVarString(auth, token);
        this.send(encoding.toUint8Array(auth));
      }
      const step1 = this.message(MessageType.sync);
      syncProtocol.writeSyncStep1(step1, this.doc);
      this.send(encoding.toUint8Array(step1));
    });
    this.socket.on("message", (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary));
    this.socket.on("close", (code: number, reason: Buffer) => keyCount(counters.closes, `${code}${reason.length ? ` ${reason.toString()}` : ""}`));
    this.socket.on("error", (error) => {
      if (counters.protocolErrors.length < 20) counters.protocolErrors.push(`socket: ${error.message}`);
    });
    this.doc.on("update", (update: Uint8Array, origin: unknown) => {
      if (origin === REMOTE) return;
      const encoder = this.message(MessageType.sync);
      syncProtocol.writeUpdate(encoder, update);
      const frame = encoding.toUint8Array(encoder);
      this.sentFrames++;
      this.sentBytes += frame.byteLength;
      this.send(frame);
    });
  }

  /** An encoder with the message type, after the document name in Hocuspocus's framing. */
  private message(type: number): encoding.Encoder {
    const encoder = encoding.createEncoder();
    if (this.job.server === "hocuspocus") encoding.writeVarString(encoder, this.job.documentName);
    encoding.writeVarUint(encoder, type);
    return encoder;
  }

  private send(frame: Uint8Array): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(frame);
  }

  private markSynced(): void {
    if (this.wasSynced) return;
    this.wasSynced = true;
    this.resolveSynced();
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    this.counters.frames++;
    if (!isBinary) return; // keepalive answers (none are asked for here)
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (this.job.server === "hocuspocus" && bytes.length === 1 && bytes[0] === Hp.ping) {
      this.send(Uint8Array.of(Hp.pong));
      return;
    }
    try {
      const decoder = decoding.createDecoder(bytes);
      if (this.job.server === "hocuspocus") decoding.readVarString(decoder);
      const type = decoding.readVarUint(decoder);
      // Hocuspocus sends its own sync step 1 as SyncReply after answering ours.
      if (type === MessageType.sync || (this.job.server === "hocuspocus" && type === Hp.syncReply)) {
        const reply = this.message(MessageType.sync);
        const before = encoding.length(reply);
        const syncType = syncProtocol.readSyncMessage(decoder, reply, this.doc, REMOTE);
        if (encoding.length(reply) > before && this.job.server !== "relay") this.send(encoding.toUint8Array(reply));
        if (syncType === syncProtocol.messageYjsSyncStep2) this.markSynced();
      } else if (type === MessageType.auth) {
        // ours: permission denied (0) + reason; Hocuspocus: 1 + reason, or 2 (authenticated).
        const sub = decoding.readVarUint(decoder);
        const denied = this.job.server === "hocuspocus" ? sub === HpAuth.permissionDenied : sub === 0;
        if (denied) keyCount(this.counters.permissionDenied, decoding.readVarString(decoder));
      }
      // Awareness, query awareness, Hocuspocus's sync status: nothing to do for these typists.
    } catch (error) {
      if (this.counters.protocolErrors.length < 20) this.counters.protocolErrors.push(String(error));
    }
  }

  close(): void {
    try {
      this.socket.close(1000, "done");
    } catch {
      // already closed
    }
    this.doc.destroy();
  }
}

function summarize(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! : Number.NaN);
  return { p50: at(50), p99: at(99), max: sorted.at(-1) ?? Number.NaN };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function run(job: TypistsJob): Promise<TypistsResult> {
  const n = job.agents.length;
  const counters: Counters = { permissionDenied: {}, protocolErrors: [], closes: {}, frames: 0 };
  const started = performance.now();
  const clients = job.agents.map((agent) => new Client(job, agent.token, counters));
  await within(Promise.all(clients.map((client) => client.synced)), job.connectTimeoutMs, () => {
    return `${job.server}: clients not synced within ${job.connectTimeoutMs} ms; closes ${JSON.stringify(counters.closes)}, ` +
      `permission denied ${JSON.stringify(counters.permissionDenied)}, errors ${counters.protocolErrors.slice(0, 3).join(" | ")}`;
  });
  const connectMs = performance.now() - started;
  const extensions = clients[0]!.socket.extensions || "none";
  // Let the handshake traffic drain before typing starts.
  await sleep(1_000);
  const initialLength = clients[0]!.text.length;
  parentPort!.postMessage({ type: "connected", connectMs } satisfies TypistsMessage);
  const commands: TypistsCommand[] = [];
  let nextCommand: ((command: TypistsCommand) => void) | null = null;
  parentPort!.on("message", (command: TypistsCommand) => {
    if (nextCommand) {
      const take = nextCommand;
      nextCommand = null;
      take(command);
    } else commands.push(command);
  });
  const command = () => (commands.length > 0 ? Promise.resolve(commands.shift()!) : new Promise<TypistsCommand>((resolve) => (nextCommand = resolve)));

  // Per typist: its client id, its first clock, and when each of its keystrokes was typed.
  const perAgent = Math.ceil(job.cps * job.seconds);
  const typedAt = clients.map(() => new Float64Array(perAgent));
  const typed = new Int32Array(n);
  const baseClock = clients.map((client) => Y.getState(client.doc.store, client.doc.clientID));
  const indexOf = new Map(clients.map((client, i) => [client.doc.clientID, i]));
  const latenciesMs: number[] = [];
  let delivered = 0;
  let allDelivered: (() => void) | null = null;
  const expectedTotal = () => typed.reduce((a, b) => a + b, 0) * (n - 1);
  clients.forEach((client) => {
    client.doc.on("afterTransaction", (transaction: Y.Transaction) => {
      if (transaction.origin !== REMOTE) return;
      const now = performance.now();
      for (const [clientId, after] of transaction.afterState) {
        const sender = indexOf.get(clientId);
        if (sender === undefined) continue; // the room's own items (thread, meta)
        const before = transaction.beforeState.get(clientId) ?? 0;
        for (let clock = before; clock < after; clock++) {
          const k = clock - baseClock[sender]!;
          if (k < 0 || k >= typed[sender]!) continue;
          latenciesMs.push(now - typedAt[sender]![k]!);
          delivered++;
        }
      }
      if (allDelivered !== null && delivered >= expectedTotal()) allDelivered();
    });
  });

  // Seeded, so runs type the same pattern.
  const rand = prng(job.seed);
  const cursors: (Y.RelativePosition | null)[] = clients.map(() => null);
  const lags: number[] = [];
  const type = (i: number) => {
    const client = clients[i]!;
    const k = typed[i]!;
    let index: number;
    const cursor = cursors[i];
    const absolute = cursor && k % WORD_RUN !== 0 ? Y.createAbsolutePositionFromRelativePosition(cursor, client.doc) : null;
    if (absolute) index = absolute.index;
    else index = Math.floor(rand() * (client.text.length + 1));
    const char = TEXT[(k + i * 7) % TEXT.length]!;
    typedAt[i]![k] = performance.now();
    typed[i] = k + 1;
    client.text.insert(index, char); // one item: sent as a sync update by the doc's update handler
    // Just after the new character, sticking to it (assoc -1), as an editor's caret does.
    cursors[i] = Y.createRelativePositionFromTypeIndex(client.text, index + 1, -1);
  };

  // Typing slices, as the benchmark asks for them: each typist types `seconds × cps` more
  // keystrokes, then every delivery is awaited (or the drain timeout) before the slice ends.
  let typingWallMs = 0;
  let typingCpuMs = 0;
  let framesReceived = 0;
  for (let next = await command(); next.type === "type"; next = await command()) {
    const cpuStart = threadCpuMs();
    const framesBefore = counters.frames;
    const until = typed.map((k) => Math.min(perAgent, k + Math.round(next.seconds * job.cps)));
    const first = typed.slice();
    const t0 = performance.now() + 20;
    const intervalMs = 1000 / job.cps;
    const dueAt = (i: number, k: number) => t0 + (k - first[i]! + i / n) * intervalMs;
    await new Promise<void>((resolve) => {
      let running = n;
      const tick = (i: number) => {
        const now = performance.now();
        while (typed[i]! < until[i]! && dueAt(i, typed[i]!) <= now) {
          lags.push(now - dueAt(i, typed[i]!));
          type(i);
        }
        if (typed[i]! >= until[i]!) {
          if (--running === 0) resolve();
          return;
        }
        setTimeout(() => tick(i), Math.max(0, dueAt(i, typed[i]!) - performance.now()));
      };
      for (let i = 0; i < n; i++) setTimeout(() => tick(i), Math.max(0, dueAt(i, typed[i]!) - performance.now()));
    });
    // Wait until every receiver has every keystroke, or the drain timeout.
    if (delivered < expectedTotal()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, job.drainTimeoutMs);
        allDelivered = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    allDelivered = null;
    typingWallMs += performance.now() - t0;
    typingCpuMs += threadCpuMs() - cpuStart;
    framesReceived += counters.frames - framesBefore;
    parentPort!.postMessage({ type: "typed", typingCpuMs: threadCpuMs() - cpuStart } satisfies TypistsMessage);
  }

  const keystrokes = typed.reduce((a, b) => a + b, 0);
  const texts = clients.map((client) => client.text.toString());
  const convergence = {
    equal: texts.every((text) => text === texts[0]),
    length: texts[0]!.length,
    expected: initialLength + keystrokes,
    distinct: new Set(texts).size,
  };

  // A client joining now must get the whole draft from the server alone.
  const lateJoiner = { checked: false, ok: false, length: 0, ms: Number.NaN };
  if (job.lateJoiner) {
    lateJoiner.checked = true;
    const t = performance.now();
    const late = new Client(job, job.agents[0]!.token, counters);
    try {
      await within(late.synced, job.connectTimeoutMs, () => "the late joiner did not sync");
      lateJoiner.ms = performance.now() - t;
      lateJoiner.length = late.text.length;
      lateJoiner.ok = late.text.toString() === texts[0];
    } catch (error) {
      if (counters.protocolErrors.length < 20) counters.protocolErrors.push(String(error));
    }
    late.close();
  }

  const closesBefore = { ...counters.closes };
  const sentFrames = clients.reduce((a, c) => a + c.sentFrames, 0);
  const sentBytes = clients.reduce((a, c) => a + c.sentBytes, 0);
  for (const client of clients) client.close();
  await sleep(500);
  return {
    server: job.server,
    connectMs,
    keystrokes,
    latenciesMs,
    missed: keystrokes * (n - 1) - delivered,
    typingLagMs: summarize(lags),
    typingWallMs,
    typingCpuMs,
    framesReceived,
    meanFrameBytes: sentFrames ? sentBytes / sentFrames : Number.NaN,
    convergence,
    lateJoiner,
    permissionDenied: counters.permissionDenied,
    protocolErrors: counters.protocolErrors,
    closes: closesBefore,
    extensions,
  };
}

run(workerData as TypistsJob).then(
  (result) => parentPort!.postMessage({ type: "done", result } satisfies TypistsMessage),
  (error: unknown) => parentPort!.postMessage({ type: "failed", error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies TypistsMessage),
);
