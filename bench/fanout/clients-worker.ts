import { parentPort, workerData } from "node:worker_threads";
import { HocuspocusProvider, HocuspocusProviderWebsocket } from "@hocuspocus/provider";
import WebSocket from "ws";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from "y-protocols/awareness";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { LiveConnection, type LiveSocketConstructor } from "../../client/live/connection.ts";
import type { AgentAwarenessState } from "../../protocol/index.ts";
import { threadCpuMs } from "../ingest/measure.ts";

// The fanout benchmark's clients, in a worker thread of the benchmark's process (the shard
// host runs on the main thread, Hocuspocus in a child process, workerd in its own), each
// with a socket of its own from the `ws` package:
//
// - ours: LiveConnection (client/live/connection.ts, what the agent app runs) on
//   /live/inbox with a session token;
// - Hocuspocus, by default (`raw`): a client that does per frame what LiveConnection does,
//   in Hocuspocus's framing, on one document named like the account. All N clients share
//   this one thread, so per-message client cost adds up into every measured latency; the
//   same code path keeps that cost equal on both sides. With `provider`: the stock
//   @hocuspocus/provider instead (heavier per message: it rebuilds an array of all
//   awareness states on every update, which 199 receivers in one thread pay in series).
//
// Every client keeps a y-protocols Awareness (with its stock 15 s renewal), and the
// measurement reads it the same way: a receiver's delivery time is when its Awareness emits
// `change` with the sender's new value. Sender and receivers share this thread, hence one
// monotonic clock (performance.now()).

export type ServerKind = "ours" | "hocuspocus";
/** `raw`: the same y-protocols steps as LiveConnection in Hocuspocus framing; `provider`: @hocuspocus/provider. */
export type HocuspocusClientKind = "raw" | "provider";

export interface FanoutAgent {
  agentId: string;
  name: string;
  /** Session token (ours); Hocuspocus gets it too, and ignores it. */
  token: string;
}

export interface FanoutJob {
  server: ServerKind;
  /** ours: ws URL of /live/inbox with `?v=`, the token is appended; hocuspocus: the server's ws URL. */
  url: string;
  /** Hocuspocus document name (the account id). */
  documentName: string;
  agents: FanoutAgent[];
  rounds: number;
  gapMs: number;
  roundTimeoutMs: number;
  connectConcurrency: number;
  connectTimeoutMs: number;
  runId: string;
  /**
   * Offer permessage-deflate, as browsers do (ws's default too); the server decides whether
   * to use it (workerd does, a stock Hocuspocus does not).
   */
  deflate: boolean;
  hocuspocusClient: HocuspocusClientKind;
}

export interface FanoutResult {
  server: ServerKind;
  /** First socket opened → every client synced and seeing every agent's awareness state. */
  connectMs: number;
  /** First socket opened → every client synced (document handshake done). */
  syncedMs: number;
  /** Per client: its connect() to its synced. */
  clientSyncMs: number[];
  /** One per (round, receiver) delivered in time, ms. */
  latenciesMs: number[];
  /** Per round: ms from the send until the last receiver had it (NaN if some never did). */
  roundMs: number[];
  /** (round, receiver) pairs not delivered within the round timeout. */
  missed: number;
  roundsTimedOut: number;
  permissionDenied: Record<string, number>;
  protocolErrors: string[];
  /** Socket closes or reconnects seen after the clients were connected. */
  disconnects: number;
  /** Sockets opened in all (more than N: reconnects) and socket closes by code, before the clients are destroyed. */
  socketsOpened: number;
  closes: Record<string, number>;
  connectCpuMs: number;
  roundsCpuMs: number;
  roundsWallMs: number;
  /** WebSocket extensions the server accepted (from the first client's socket). */
  extensions: string;
}

export type WorkerMessage =
  | { type: "connected"; connectMs: number }
  | { type: "done"; result: FanoutResult }
  | { type: "failed"; error: string };

interface BenchClient {
  readonly awareness: Awareness;
  readonly clientId: number;
  /** Resolves once the document handshake is done. */
  readonly synced: Promise<void>;
  setState(state: AgentAwarenessState): void;
  destroy(): void;
}

/** The `ws` WebSocket with the job's compression offer; remembers the sockets it made. */
function socketClass(job: FanoutJob, made: WebSocket[], closes: Record<string, number>) {
  return class BenchWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { perMessageDeflate: job.deflate });
      made.push(this);
      this.on("close", (code: number, reason: Buffer) => keyCount(closes, `${code}${reason.length ? ` ${reason.toString()}` : ""}`));
    }
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function keyCount(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

interface Counters {
  permissionDenied: Record<string, number>;
  protocolErrors: string[];
  disconnects: number;
  /** Set once every client is connected; disconnects before that are connection failures. */
  steady: boolean;
}

type SocketClass = ReturnType<typeof socketClass>;
type ClientFactory = (job: FanoutJob, agent: FanoutAgent, initial: AgentAwarenessState, counters: Counters, Socket: SocketClass) => BenchClient;

const ourClient: ClientFactory = (job, agent, initial, counters, Socket) => {
  const connection = new LiveConnection({
    url: `${job.url}&token=${encodeURIComponent(agent.token)}`,
    WebSocket: Socket as unknown as LiveSocketConstructor,
    wakeSignals: () => () => {},
    localState: initial,
    onPermissionDenied: (reason) => keyCount(counters.permissionDenied, reason),
    onProtocolError: (error) => {
      if (counters.protocolErrors.length < 20) counters.protocolErrors.push(String(error));
    },
  });
  const synced = new Promise<void>((resolve) => {
    let wasSynced = false;
    connection.subscribe((status) => {
      if (status.synced) {
        wasSynced = true;
        resolve();
      } else if (wasSynced && (status.state === "disconnected" || status.state === "stopped")) {
        if (counters.steady) counters.disconnects++;
        wasSynced = false;
      }
    });
  });
  connection.connect();
  return {
    awareness: connection.awareness,
    clientId: connection.awareness.clientID,
    synced,
    setState: (state) => connection.setLocalState(state),
    destroy: () => connection.destroy(),
  };
};

const hocuspocusClient: ClientFactory = (job, agent, initial, counters, Socket) => {
  let resolveSynced!: () => void;
  const synced = new Promise<void>((resolve) => {
    resolveSynced = resolve;
  });
  let wasSynced = false;
  // One socket per provider, as each browser tab has; in Node the socket class is passed in.
  const socket = new HocuspocusProviderWebsocket({ url: job.url, WebSocketPolyfill: Socket });
  const provider = new HocuspocusProvider({
    websocketProvider: socket,
    name: job.documentName,
    token: agent.token,
    onSynced: () => {
      wasSynced = true;
      resolveSynced();
    },
    onDisconnect: () => {
      if (wasSynced && counters.steady) counters.disconnects++;
    },
    onAuthenticationFailed: ({ reason }) => keyCount(counters.permissionDenied, reason),
  });
  const awareness = provider.awareness!;
  awareness.setLocalState(initial);
  provider.attach();
  return {
    awareness,
    clientId: awareness.clientID,
    synced,
    setState: (state) => awareness.setLocalState(state),
    destroy: () => {
      provider.destroy();
      socket.destroy();
    },
  };
};

/** Hocuspocus message types (its framing prefixes each message with the document name). */
const Hp = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3, ping: 9, pong: 10 } as const;
const HpAuth = { token: 0, permissionDenied: 1, authenticated: 2 } as const;

/**
 * A Hocuspocus client doing per frame exactly what LiveConnection does (decode, y-protocols
 * sync or applyAwarenessUpdate on a local Awareness, send our own state when it changes), in
 * Hocuspocus's framing: each message starts with the document name, the client sends its
 * token first, and answers the server's connection-level ping.
 */
const hocuspocusRawClient: ClientFactory = (job, agent, initial, counters, Socket) => {
  const doc = new Y.Doc();
  const awareness = new Awareness(doc);
  awareness.setLocalState(initial);
  const own = awareness.clientID;
  const name = job.documentName;
  const socket = new Socket(job.url);
  socket.binaryType = "arraybuffer";
  let resolveSynced!: () => void;
  const synced = new Promise<void>((resolve) => {
    resolveSynced = resolve;
  });
  let wasSynced = false;
  let destroyed = false;
  const message = (type: number) => {
    const encoder = encoding.createEncoder();
    encoding.writeVarString(encoder, name);
    encoding.writeVarUint(encoder, type);
    return encoder;
  };
  const send = (bytes: Uint8Array) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(bytes);
  };
  const sendOwnAwareness = () => {
    const encoder = message(Hp.awareness);
    encoding.writeVarUint8Array(encoder, encodeAwarenessUpdate(awareness, [own]));
    send(encoding.toUint8Array(encoder));
  };
  const onAwarenessUpdate = (changes: { added: number[]; updated: number[]; removed: number[] }) => {
    if (changes.added.includes(own) || changes.updated.includes(own) || changes.removed.includes(own)) sendOwnAwareness();
  };
  awareness.on("update", onAwarenessUpdate);
  socket.onopen = () => {
    const auth = message(Hp.auth);
    encoding.writeVarUint(auth, HpAuth.token);
    encoding.writeVarString(auth, agent.token);
    send(encoding.toUint8Array(auth));
    const step1 = message(Hp.sync);
    syncProtocol.writeSyncStep1(step1, doc);
    send(encoding.toUint8Array(step1));
    sendOwnAwareness();
  };
  socket.onmessage = (event) => {
    const bytes = new Uint8Array(event.data as ArrayBuffer);
    if (bytes.length === 1 && bytes[0] === Hp.ping) {
      send(Uint8Array.of(Hp.pong));
      return;
    }
    try {
      const decoder = decoding.createDecoder(bytes);
      decoding.readVarString(decoder);
      const type = decoding.readVarUint(decoder);
      switch (type) {
        case Hp.sync: {
          const reply = message(Hp.sync);
          const before = encoding.length(reply);
          const syncType = syncProtocol.readSyncMessage(decoder, reply, doc, socket);
          if (encoding.length(reply) > before) send(encoding.toUint8Array(reply));
          if (syncType === syncProtocol.messageYjsSyncStep2 && !wasSynced) {
            wasSynced = true;
            resolveSynced();
          }
          break;
        }
        case Hp.awareness:
          applyAwarenessUpdate(awareness, decoding.readVarUint8Array(decoder), socket);
          break;
        case Hp.queryAwareness:
          sendOwnAwareness();
          break;
        case Hp.auth:
          if (decoding.readVarUint(decoder) === HpAuth.permissionDenied) keyCount(counters.permissionDenied, decoding.readVarString(decoder));
          break;
        default:
          // SyncStatus, Stateless: nothing to do for a client that never writes.
          break;
      }
    } catch (error) {
      if (counters.protocolErrors.length < 20) counters.protocolErrors.push(String(error));
    }
  };
  socket.onclose = () => {
    if (!destroyed && wasSynced && counters.steady) counters.disconnects++;
  };
  socket.onerror = () => {};
  return {
    awareness,
    clientId: own,
    synced,
    setState: (state) => awareness.setLocalState(state),
    destroy: () => {
      destroyed = true;
      removeAwarenessStates(awareness, [own], "destroy");
      awareness.off("update", onAwarenessUpdate);
      socket.close(1000, "client closed");
      awareness.destroy();
      doc.destroy();
    },
  };
};

interface Round {
  index: number;
  senderClientId: number;
  field: "viewing" | "typing";
  value: string;
  startedAt: number;
  remaining: number;
  lastAt: number;
  done: () => void;
}

async function run(job: FanoutJob): Promise<FanoutResult> {
  const counters: Counters = { permissionDenied: {}, protocolErrors: [], disconnects: 0, steady: false };
  const n = job.agents.length;
  const clients: BenchClient[] = new Array(n);
  const states: AgentAwarenessState[] = job.agents.map((agent) => ({ agentId: agent.agentId, name: agent.name, viewing: null, typing: null }));
  const clientSyncMs: number[] = [];
  const latenciesMs: number[] = [];

  // The round being measured, and which receivers have it (by client index).
  let round: Round | null = null;
  const hasRound = new Int32Array(n).fill(-1);
  // Once connected: every client must see every agent's state (N states) before we start.
  let fullView = 0;
  let resolveFullView!: () => void;
  const allSeeAll = new Promise<void>((resolve) => {
    resolveFullView = resolve;
  });
  const seesAll = new Uint8Array(n);

  const watch = (index: number, client: BenchClient) => {
    client.awareness.on("change", ({ added, updated }: { added: number[]; updated: number[]; removed: number[] }) => {
      const now = performance.now();
      if (seesAll[index] === 0 && client.awareness.getStates().size >= n) {
        seesAll[index] = 1;
        if (++fullView === n) resolveFullView();
      }
      const current = round;
      if (current === null || hasRound[index] === current.index) return;
      if (!updated.includes(current.senderClientId) && !added.includes(current.senderClientId)) return;
      const state = client.awareness.getStates().get(current.senderClientId) as AgentAwarenessState | undefined;
      if (state?.[current.field] !== current.value) return;
      hasRound[index] = current.index;
      latenciesMs.push(now - current.startedAt);
      current.lastAt = now;
      if (--current.remaining === 0) current.done();
    });
  };

  // Connect: connectConcurrency handshakes in flight, each client publishing its state on open.
  const cpuAtStart = threadCpuMs();
  const sockets: WebSocket[] = [];
  const closes: Record<string, number> = {};
  const Socket = socketClass(job, sockets, closes);
  const make = job.server === "ours" ? ourClient : job.hocuspocusClient === "raw" ? hocuspocusRawClient : hocuspocusClient;
  const startedAt = performance.now();
  let next = 0;
  const connectOne = async (): Promise<void> => {
    while (next < n) {
      const index = next++;
      const t0 = performance.now();
      const client = make(job, job.agents[index]!, states[index]!, counters, Socket);
      clients[index] = client;
      watch(index, client);
      await client.synced;
      clientSyncMs.push(performance.now() - t0);
    }
  };
  const within = async <T>(promise: Promise<T>, what: string): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${what} not within ${job.connectTimeoutMs} ms: ${clientSyncMs.length}/${n} synced, ${fullView}/${n} seeing all ${n} states; ` +
                `sockets opened ${sockets.length}, closes ${JSON.stringify(closes)}; permission denied ${JSON.stringify(counters.permissionDenied)}; ` +
                `errors ${counters.protocolErrors.slice(0, 3).join(" | ")}`,
            ),
          ),
        job.connectTimeoutMs,
      );
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  await within(Promise.all(Array.from({ length: Math.min(job.connectConcurrency, n) }, connectOne)), "all clients synced");
  const syncedMs = performance.now() - startedAt;
  // A client that synced before the last ones published misses nothing: awareness updates of
  // later clients reach it as they come. Check now in case the last change came before sync.
  for (let i = 0; i < n; i++) {
    if (seesAll[i] === 0 && clients[i]!.awareness.getStates().size >= n) {
      seesAll[i] = 1;
      if (++fullView === n) resolveFullView();
    }
  }
  await within(allSeeAll, "every client seeing every agent");
  const connectMs = performance.now() - startedAt;
  const connectCpuMs = threadCpuMs() - cpuAtStart;
  counters.steady = true;
  const extensions = sockets.find((socket) => socket.readyState === WebSocket.OPEN)?.extensions ?? "?";

  // Let the join traffic drain before the measured rounds start.
  await sleep(1_000);
  parentPort!.postMessage({ type: "connected", connectMs } satisfies WorkerMessage);
  await new Promise<void>((resolve) => parentPort!.once("message", () => resolve()));

  const roundMs: number[] = [];
  let missed = 0;
  let roundsTimedOut = 0;
  const roundsCpuStart = threadCpuMs();
  const roundsStart = performance.now();
  for (let k = 0; k < job.rounds; k++) {
    const senderIndex = k % n;
    const sender = clients[senderIndex]!;
    const field = k % 2 === 0 ? "viewing" : "typing";
    const value = `tkt_${job.runId}_${k}`;
    const state: AgentAwarenessState = { ...states[senderIndex]!, [field]: value };
    states[senderIndex] = state;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finished = new Promise<boolean>((resolve) => {
      const startedAt = performance.now();
      round = {
        index: k,
        senderClientId: sender.clientId,
        field,
        value,
        startedAt,
        remaining: n - 1,
        lastAt: startedAt,
        done: () => resolve(true),
      };
      timer = setTimeout(() => resolve(false), job.roundTimeoutMs);
      // The sender's own Awareness also emits `change`: it does not count as a delivery.
      hasRound[senderIndex] = k;
      sender.setState(state);
    });
    const complete = await finished;
    clearTimeout(timer);
    const current = round!;
    round = null;
    if (complete) roundMs.push(current.lastAt - current.startedAt);
    else {
      roundsTimedOut++;
      missed += current.remaining;
      roundMs.push(Number.NaN);
    }
    await sleep(job.gapMs);
  }
  const roundsWallMs = performance.now() - roundsStart;
  const roundsCpuMs = threadCpuMs() - roundsCpuStart;

  counters.steady = false;
  const socketsOpened = sockets.length;
  const closesBefore = { ...closes };
  for (const client of clients) client.destroy();
  await sleep(500);
  return {
    server: job.server,
    connectMs,
    syncedMs,
    clientSyncMs,
    latenciesMs,
    roundMs,
    missed,
    roundsTimedOut,
    permissionDenied: counters.permissionDenied,
    protocolErrors: counters.protocolErrors,
    disconnects: counters.disconnects,
    socketsOpened,
    closes: closesBefore,
    connectCpuMs,
    roundsCpuMs,
    roundsWallMs,
    extensions: extensions || "none",
  };
}

run(workerData as FanoutJob).then(
  (result) => parentPort!.postMessage({ type: "done", result } satisfies WorkerMessage),
  (error: unknown) =>
    parentPort!.postMessage({ type: "failed", error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies WorkerMessage),
);
