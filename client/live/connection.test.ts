import * as encoding from "lib0/encoding";
import { afterEach, describe, expect, it } from "vitest";
import * as awarenessProtocol from "y-protocols/awareness";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import {
  type AgentAwarenessState,
  AuthMessageType,
  CloseReason,
  type CloseReasonName,
  InboxDoc,
  MessageType,
  TERMINAL_CLOSE_REASONS,
} from "../../protocol/index.ts";
import {
  CONNECT_STALE_ON_WAKE_MS,
  CONNECT_TIMEOUT_MS,
  LiveConnection,
  type LiveConnectionOptions,
  type LiveStatus,
} from "./connection.ts";
import { type ServerFrame, decodeServerFrame } from "./frames.ts";
import { FakeTimers, fakeWebSocket, sequence } from "./test-support.ts";

const ana: AgentAwarenessState = { agentId: "agent-ana", name: "Ana" };
const ben: AgentAwarenessState = { agentId: "agent-ben", name: "Ben" };

const connections: LiveConnection[] = [];
afterEach(() => {
  for (const connection of connections.splice(0)) connection.destroy();
});

function setup(options: Partial<LiveConnectionOptions> = {}) {
  const ws = fakeWebSocket();
  const timers = new FakeTimers();
  let wake: (() => void) | null = null;
  const statuses: LiveStatus[] = [];
  const connection = new LiveConnection({
    url: "ws://hub.test/live/inbox?v=1&token=t",
    WebSocket: ws.WebSocket,
    timers,
    now: timers.now,
    random: sequence(0.5),
    wakeSignals: (fn) => {
      wake = fn;
      return () => {
        wake = null;
      };
    },
    localState: ana,
    onProtocolError: (error) => {
      throw error;
    },
    ...options,
  });
  connections.push(connection);
  connection.subscribe((status) => statuses.push(status));
  return {
    connection,
    ws,
    timers,
    statuses,
    wake: () => wake?.(),
    hasWakeSubscription: () => wake !== null,
    /** Runs timers until the connection opens its next socket; returns how long that took. */
    runRetry: () => {
      const count = ws.sockets.length;
      const start = timers.now();
      timers.runUntil(() => ws.sockets.length > count);
      return timers.now() - start;
    },
  };
}

/** Decodes every frame the client sent on a socket. */
function sentFrames(socket: { sent: Uint8Array[] }): ServerFrame[] {
  return socket.sent.map((frame) => decodeServerFrame(frame));
}

/** The awareness states carried by an awareness frame, keyed by client id. */
function awarenessStates(update: Uint8Array): Map<number, unknown> {
  const target = new awarenessProtocol.Awareness(new Y.Doc());
  target.setLocalState(null);
  awarenessProtocol.applyAwarenessUpdate(target, update, "test");
  const clientIds = new Set<number>();
  // Clients with a null state are removed from `states` but leave their clock in `meta`.
  for (const id of target.meta.keys()) if (id !== target.clientID) clientIds.add(id);
  const result = new Map<number, unknown>();
  for (const id of clientIds) result.set(id, target.getStates().get(id) ?? null);
  target.destroy();
  return result;
}

function serverFrame(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
}

function serverStep1(serverDoc: Y.Doc): Uint8Array {
  return serverFrame((e) => {
    encoding.writeVarUint(e, MessageType.sync);
    syncProtocol.writeSyncStep1(e, serverDoc);
  });
}

function serverStep2(serverDoc: Y.Doc, stateVector?: Uint8Array): Uint8Array {
  return serverFrame((e) => {
    encoding.writeVarUint(e, MessageType.sync);
    syncProtocol.writeSyncStep2(e, serverDoc, stateVector);
  });
}

function serverUpdate(update: Uint8Array): Uint8Array {
  return serverFrame((e) => {
    encoding.writeVarUint(e, MessageType.sync);
    syncProtocol.writeUpdate(e, update);
  });
}

function serverAwareness(awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array {
  return serverFrame((e) => {
    encoding.writeVarUint(e, MessageType.awareness);
    encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, clients));
  });
}

/** Another tab of the account, as the server relays it. */
function remoteTab(state: AgentAwarenessState) {
  const awareness = new awarenessProtocol.Awareness(new Y.Doc());
  awareness.setLocalState(state);
  return {
    awareness,
    frame: () => serverAwareness(awareness, [awareness.clientID]),
    leaveFrame: () => {
      awarenessProtocol.removeAwarenessStates(awareness, [awareness.clientID], "test");
      return serverAwareness(awareness, [awareness.clientID]);
    },
    destroy: () => awareness.destroy(),
  };
}

function inboxDocWithAgents(): Y.Doc {
  const doc = new Y.Doc();
  doc.getMap(InboxDoc.agents).set("agent-ana", { name: "Ana", role: "agent" });
  doc.getMap(InboxDoc.agents).set("agent-ben", { name: "Ben", role: "agent" });
  return doc;
}

describe("LiveConnection handshake", () => {
  it("sends nothing before open, then sync step 1 and its own awareness state", () => {
    const { connection, ws, statuses } = setup();
    expect(connection.state).toBe("disconnected");
    connection.connect();
    expect(connection.state).toBe("connecting");
    const socket = ws.last();
    expect(socket.url).toBe("ws://hub.test/live/inbox?v=1&token=t&ka=1"); // ka: we send keepalives
    expect(socket.binaryType).toBe("arraybuffer");
    expect(socket.sent).toHaveLength(0);

    socket.serverOpen();
    expect(connection.state).toBe("connected");
    const frames = sentFrames(socket);
    expect(frames.map((f) => f.type)).toEqual(["sync-step1", "awareness"]);

    const [step1, awareness] = frames;
    if (step1?.type !== "sync-step1" || awareness?.type !== "awareness") throw new Error("unreachable");
    expect(step1.stateVector).toEqual(Y.encodeStateVector(connection.doc));
    expect(awarenessStates(awareness.update)).toEqual(new Map([[connection.doc.clientID, ana]]));
    expect(statuses.map((s) => s.state)).toEqual(["connecting", "connected"]);
  });

  it("publishes no awareness frame when it has no local state", () => {
    const { connection, ws } = setup({ localState: null });
    connection.connect();
    ws.last().serverOpen();
    expect(sentFrames(ws.last()).map((f) => f.type)).toEqual(["sync-step1"]);
  });

  it("builds the URL per attempt when given a function", () => {
    let n = 0;
    const { connection, ws, runRetry } = setup({ url: () => `ws://hub.test/live/inbox?attempt=${++n}` });
    connection.connect();
    ws.last().serverClose(1006);
    runRetry();
    expect(ws.sockets.map((s) => s.url)).toEqual([
      "ws://hub.test/live/inbox?attempt=1&ka=1",
      "ws://hub.test/live/inbox?attempt=2&ka=1",
    ]);
  });

  it("does not repeat a keepalive flag the URL already has", () => {
    const { connection, ws } = setup({ url: "ws://hub.test/live/inbox?ka=1&v=1" });
    connection.connect();
    expect(ws.last().url).toBe("ws://hub.test/live/inbox?ka=1&v=1");
  });

  it("answers the server's sync step 1 with an empty step 2", () => {
    const { connection, ws } = setup();
    connection.connect();
    const socket = ws.last();
    socket.serverOpen();
    socket.sent.length = 0;

    socket.serverSend(serverStep1(inboxDocWithAgents()));
    const frames = sentFrames(socket);
    expect(frames.map((f) => f.type)).toEqual(["sync-step2"]);
    const [step2] = frames;
    if (step2?.type !== "sync-step2") throw new Error("unreachable");
    const probe = new Y.Doc();
    Y.applyUpdate(probe, step2.update);
    expect(Y.encodeStateVector(probe)).toEqual(Y.encodeStateVector(new Y.Doc()));
  });

  it("applies the server's step 2 and later updates to the document", () => {
    const { connection, ws, statuses } = setup();
    connection.connect();
    const socket = ws.last();
    socket.serverOpen();

    const serverDoc = inboxDocWithAgents();
    socket.serverSend(serverStep2(serverDoc));
    expect(connection.doc.getMap(InboxDoc.agents).toJSON()).toEqual(serverDoc.getMap(InboxDoc.agents).toJSON());
    expect(connection.status.synced).toBe(true);
    expect(statuses.at(-1)).toEqual({ state: "connected", stopReason: null, synced: true, downSince: null });

    const updates: Uint8Array[] = [];
    serverDoc.on("update", (update: Uint8Array) => updates.push(update));
    serverDoc.getMap(InboxDoc.agents).set("agent-cy", { name: "Cy", role: "admin" });
    for (const update of updates) socket.serverSend(serverUpdate(update));
    expect(connection.doc.getMap(InboxDoc.agents).get("agent-cy")).toEqual({ name: "Cy", role: "admin" });
  });
});

describe("LiveConnection never writes the document", () => {
  it("sends no document update, even after a local write, and keeps step 2 empty", () => {
    const { connection, ws, runRetry } = setup();
    connection.connect();
    let socket = ws.last();
    socket.serverOpen();
    const serverDoc = inboxDocWithAgents();
    socket.serverSend(serverStep2(serverDoc));

    // Someone misuses the document: nothing of it may reach the wire.
    connection.doc.getMap(InboxDoc.agents).set("agent-evil", { name: "Evil", role: "admin" });
    connection.doc.getText("scratch").insert(0, "local");
    socket.serverSend(serverStep1(serverDoc));

    // Reconnect: the new handshake must not carry the local write either.
    socket.serverClose(1006);
    runRetry();
    socket = ws.last();
    socket.serverOpen();
    socket.serverSend(serverStep1(serverDoc));

    const frames = ws.sockets.flatMap((s) => sentFrames(s));
    expect(frames.some((f) => f.type === "sync-update")).toBe(false);
    for (const frame of frames) {
      if (frame.type !== "sync-step2") continue;
      const probe = new Y.Doc();
      Y.applyUpdate(probe, frame.update);
      expect(probe.getMap(InboxDoc.agents).size).toBe(0);
      expect(probe.getText("scratch").toString()).toBe("");
    }
    expect(frames.filter((f) => f.type === "sync-step2")).toHaveLength(2);
  });
});

describe("LiveConnection awareness", () => {
  it("answers query-awareness with its own state only", () => {
    const { connection, ws } = setup();
    connection.connect();
    const socket = ws.last();
    socket.serverOpen();
    const benTab = remoteTab(ben);
    socket.serverSend(benTab.frame());
    socket.sent.length = 0;

    socket.serverSend(serverFrame((e) => encoding.writeVarUint(e, MessageType.queryAwareness)));
    const frames = sentFrames(socket);
    expect(frames.map((f) => f.type)).toEqual(["awareness"]);
    const [frame] = frames;
    if (frame?.type !== "awareness") throw new Error("unreachable");
    expect(awarenessStates(frame.update)).toEqual(new Map([[connection.doc.clientID, ana]]));
    benTab.destroy();
  });

  it("applies relayed states without echoing them, and sends its own changes", () => {
    const { connection, ws } = setup();
    connection.connect();
    const socket = ws.last();
    socket.serverOpen();
    socket.sent.length = 0;

    const benTab = remoteTab(ben);
    socket.serverSend(benTab.frame());
    expect(connection.awareness.getStates().get(benTab.awareness.clientID)).toEqual(ben);
    expect(socket.sent).toHaveLength(0);

    socket.serverSend(benTab.leaveFrame());
    expect(connection.awareness.getStates().has(benTab.awareness.clientID)).toBe(false);
    expect(socket.sent).toHaveLength(0);

    connection.setLocalState({ ...ana, viewing: "ticket-1" });
    const frames = sentFrames(socket);
    expect(frames.map((f) => f.type)).toEqual(["awareness"]);
    const [frame] = frames;
    if (frame?.type !== "awareness") throw new Error("unreachable");
    expect(awarenessStates(frame.update)).toEqual(new Map([[connection.doc.clientID, { ...ana, viewing: "ticket-1" }]]));
    benTab.destroy();
  });

  it("forgets other tabs while disconnected and accepts the server's snapshot again on reconnect", () => {
    const { connection, ws, runRetry } = setup();
    connection.connect();
    ws.last().serverOpen();
    const benTab = remoteTab(ben);
    ws.last().serverSend(benTab.frame());
    expect(connection.awareness.getStates().size).toBe(2);

    ws.last().serverClose(1006);
    expect([...connection.awareness.getStates().keys()]).toEqual([connection.doc.clientID]);

    runRetry();
    ws.last().serverOpen();
    // Same clock as before: must still be taken, since the state was forgotten locally.
    ws.last().serverSend(benTab.frame());
    expect(connection.awareness.getStates().get(benTab.awareness.clientID)).toEqual(ben);
    benTab.destroy();
  });

  it("re-publishes its state with a newer clock on every connect", () => {
    const { connection, ws, runRetry } = setup();
    connection.connect();
    ws.last().serverOpen();
    ws.last().serverClose(1006);
    runRetry();
    ws.last().serverOpen();

    // What a server that remembered the first socket's state would do with the second.
    const server = new awarenessProtocol.Awareness(new Y.Doc());
    const [first, second] = ws.sockets.map((socket) => {
      const frame = sentFrames(socket).find((f) => f.type === "awareness");
      if (frame?.type !== "awareness") throw new Error("no awareness frame");
      return frame.update;
    });
    if (!first || !second) throw new Error("unreachable");
    awarenessProtocol.applyAwarenessUpdate(server, first, "socket-1");
    awarenessProtocol.removeAwarenessStates(server, [connection.doc.clientID], "socket-1 closed");
    awarenessProtocol.applyAwarenessUpdate(server, second, "socket-2");
    expect(server.getStates().get(connection.doc.clientID)).toEqual(ana);
    server.destroy();
  });

  it("reports permission-denied messages", () => {
    const reasons: string[] = [];
    const { connection, ws } = setup({ onPermissionDenied: (reason) => reasons.push(reason) });
    connection.connect();
    ws.last().serverOpen();
    ws.last().serverSend(
      serverFrame((e) => {
        encoding.writeVarUint(e, MessageType.auth);
        encoding.writeVarUint(e, AuthMessageType.permissionDenied);
        encoding.writeVarString(e, "read-only-document");
      }),
    );
    expect(reasons).toEqual(["read-only-document"]);
    expect(connection.state).toBe("connected");
  });

  it("reports malformed and text frames without dropping the socket", () => {
    const errors: unknown[] = [];
    const { connection, ws } = setup({ onProtocolError: (error) => errors.push(error) });
    connection.connect();
    ws.last().serverOpen();
    ws.last().serverSend(new Uint8Array([MessageType.sync, 2, 200])); // truncated
    ws.last().serverSendText("hello");
    expect(errors).toHaveLength(2);
    expect(connection.state).toBe("connected");
  });
});

describe("LiveConnection reconnects", () => {
  it("reconnects after a non-terminal close", () => {
    const nonTerminal = (Object.keys(CloseReason) as CloseReasonName[]).filter(
      (name) => !TERMINAL_CLOSE_REASONS.includes(name),
    );
    const codes = [1006, 1001, ...nonTerminal.map((name) => CloseReason[name].code)];
    const { connection, ws, runRetry } = setup();
    connection.connect();
    for (const code of codes) {
      ws.last().serverOpen();
      ws.last().serverClose(code);
      expect(connection.state).toBe("disconnected");
      runRetry();
      expect(connection.state).toBe("connecting");
    }
    expect(ws.sockets).toHaveLength(codes.length + 1);
  });

  it("grows the delay exponentially with full jitter up to the cap", () => {
    const randoms = [0.5, 0.1, 0.9, 0.99, 0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.999, 0.25];
    const { connection, ws, runRetry } = setup({ random: sequence(...randoms) });
    connection.connect();
    const delays: number[] = [];
    for (let i = 0; i < randoms.length; i++) {
      ws.last().serverClose(1006); // the socket never opens: the server is down
      delays.push(runRetry());
    }
    const ceilings = randoms.map((_, i) => Math.min(30_000, 500 * 2 ** i));
    expect(delays).toEqual(randoms.map((r, i) => Math.floor(r * (ceilings[i] ?? 0))));
    expect(delays.slice(0, 4)).toEqual([250, 100, 1800, 3960]);
    expect(Math.max(...delays)).toBeLessThan(30_000);
    expect(ws.sockets).toHaveLength(randoms.length + 1);
  });

  it("uses Math.random-like jitter: same attempt, different delays", () => {
    const a = setup({ random: sequence(0.2) });
    const b = setup({ random: sequence(0.7) });
    for (const { connection, ws } of [a, b]) {
      connection.connect();
      ws.last().serverClose(1006);
    }
    expect(a.runRetry()).toBe(100);
    expect(b.runRetry()).toBe(350);
  });

  it("starts the backoff afresh after a completed handshake", () => {
    const { connection, ws, runRetry } = setup({ random: sequence(1 - 1e-9) });
    connection.connect();
    const delays: number[] = [];
    ws.last().serverClose(1006);
    delays.push(runRetry());
    ws.last().serverClose(1006);
    delays.push(runRetry());
    ws.last().serverOpen();
    ws.last().serverSend(serverStep2(new Y.Doc()));
    ws.last().serverClose(1006);
    delays.push(runRetry());
    expect(delays).toEqual([499, 999, 499]);
  });

  it("reconnects at once on a wake signal while waiting, and only pings when connected", () => {
    const { connection, ws, timers, wake } = setup();
    connection.connect();
    wake(); // connecting: nothing to skip
    expect(ws.sockets).toHaveLength(1);
    ws.last().serverOpen();
    wake(); // connected: checks the socket instead of replacing it
    expect(ws.sockets).toHaveLength(1);
    expect(ws.last().sentText).toEqual(["ping"]);

    ws.last().serverClose(1006);
    expect(connection.state).toBe("disconnected");
    wake();
    expect(ws.sockets).toHaveLength(2);
    expect(connection.state).toBe("connecting");
    // The retry that was waiting (due within a second) is gone: nothing else opens before
    // the new socket's own connect timeout.
    timers.advance(CONNECT_TIMEOUT_MS - 1);
    expect(ws.sockets).toHaveLength(2);
  });

  it("ignores events from a socket it has replaced", () => {
    const { connection, ws, runRetry } = setup();
    connection.connect();
    const first = ws.last();
    first.serverClose(1006);
    runRetry();
    first.serverOpen();
    first.serverClose(4401);
    expect(connection.state).toBe("connecting");
    expect(first.sent).toHaveLength(0);
  });
});

describe("LiveConnection connect timeout", () => {
  function expectAbandoned(socket: { closedByClient: unknown; onopen: unknown; onmessage: unknown; onclose: unknown; onerror: unknown }) {
    expect(socket.closedByClient).not.toBeNull();
    expect([socket.onopen, socket.onmessage, socket.onclose, socket.onerror]).toEqual([null, null, null, null]);
  }

  it("abandons a socket that has not opened within CONNECT_TIMEOUT_MS and retries with the usual backoff", () => {
    const { connection, ws, timers, runRetry } = setup();
    connection.connect();
    const stuck = ws.last();
    timers.advance(CONNECT_TIMEOUT_MS - 1);
    expect(connection.state).toBe("connecting");
    expect(stuck.closedByClient).toBeNull();
    timers.advance(1);
    expectAbandoned(stuck);
    expect(connection.state).toBe("disconnected");
    // First attempt, random 0.5: half of the 500 ms base, as after any failed connect.
    expect(runRetry()).toBe(250);
    expect(ws.sockets).toHaveLength(2);
    expect(connection.state).toBe("connecting");
  });

  it("grows the backoff across repeated connect timeouts", () => {
    const { connection, ws, timers } = setup({ random: sequence(1 - 1e-9) });
    connection.connect();
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const count = ws.sockets.length;
      const start = timers.now();
      timers.runUntil(() => ws.sockets.length > count);
      waits.push(timers.now() - start);
    }
    expect(waits).toEqual([CONNECT_TIMEOUT_MS + 499, CONNECT_TIMEOUT_MS + 999, CONNECT_TIMEOUT_MS + 1999]);
    for (const socket of ws.sockets.slice(0, 3)) expectAbandoned(socket);
  });

  it("leaves a socket that opened alone, however long the wait", () => {
    const { connection, ws, timers } = setup();
    connection.connect();
    timers.advance(CONNECT_TIMEOUT_MS - 1);
    ws.last().serverOpen();
    ws.last().serverSend(serverStep2(new Y.Doc()));
    timers.advance(CONNECT_TIMEOUT_MS);
    expect(connection.status).toMatchObject({ state: "connected", synced: true });
    expect(ws.sockets).toHaveLength(1);
    expect(ws.last().closedByClient).toBeNull();
  });

  it("ignores a late open from the socket it abandoned", () => {
    const { connection, ws, timers } = setup();
    connection.connect();
    const stuck = ws.last();
    const { onopen } = stuck;
    timers.advance(CONNECT_TIMEOUT_MS);
    onopen?.({ type: "open" } as Event);
    expect(connection.state).toBe("disconnected");
    expect(stuck.sent).toHaveLength(0);
  });

  it("on a wake signal, replaces a socket connecting for longer than CONNECT_STALE_ON_WAKE_MS at once", () => {
    const { connection, ws, timers, wake } = setup();
    connection.connect();
    const stuck = ws.last();
    timers.advance(CONNECT_STALE_ON_WAKE_MS);
    wake(); // not yet stale: a fresh handshake is given its chance
    expect(ws.sockets).toHaveLength(1);
    timers.advance(1);
    wake();
    expect(ws.sockets).toHaveLength(2);
    expectAbandoned(stuck);
    expect(connection.state).toBe("connecting");
    // The replacement gets a full CONNECT_TIMEOUT_MS of its own; the old timer is gone.
    timers.advance(CONNECT_TIMEOUT_MS - 1);
    expect(ws.sockets).toHaveLength(2);
    expect(ws.last().closedByClient).toBeNull();
    timers.advance(1);
    expectAbandoned(ws.last());
    expect(connection.state).toBe("disconnected");
  });

  it("leaves no timer behind once stopped while connecting", () => {
    const { connection, timers } = setup();
    connection.connect();
    connection.destroy();
    expect(timers.pendingCount).toBe(0);
  });
});

describe("LiveConnection stops", () => {
  it.each(TERMINAL_CLOSE_REASONS.map((name) => [name] as const))("stops for good after %s", (name) => {
    const { connection, ws, timers, wake, hasWakeSubscription, statuses } = setup();
    connection.connect();
    ws.last().serverOpen();
    ws.last().serverClose(CloseReason[name].code, CloseReason[name].reason);

    expect(connection.state).toBe("stopped");
    expect(connection.stopReason).toBe(name);
    expect(statuses.at(-1)).toMatchObject({ state: "stopped", stopReason: name, synced: false });
    // No retry, no keepalive, no sleep watch: nothing left running.
    expect(timers.pendingCount).toBe(0);
    expect(hasWakeSubscription()).toBe(false);

    wake();
    connection.connect();
    timers.advance(10 * 60_000);
    expect(ws.sockets).toHaveLength(1);
  });

  it("recognises a terminal reason by its name when the code was lost", () => {
    const { connection, ws } = setup();
    connection.connect();
    ws.last().serverClose(1008, CloseReason.CLIENT_TOO_OLD.reason);
    expect(connection.stopReason).toBe("CLIENT_TOO_OLD");
  });

  it("destroy() says goodbye in awareness, closes normally and never reconnects", () => {
    const { connection, ws, timers } = setup();
    connection.connect();
    const socket = ws.last();
    socket.serverOpen();
    socket.sent.length = 0;

    connection.destroy();
    const frames = sentFrames(socket);
    expect(frames.map((f) => f.type)).toEqual(["awareness"]);
    const [frame] = frames;
    if (frame?.type !== "awareness") throw new Error("unreachable");
    expect(awarenessStates(frame.update)).toEqual(new Map([[connection.doc.clientID, null]]));
    expect(socket.closedByClient).toEqual({ code: 1000, reason: "client closed" });
    expect(connection.state).toBe("stopped");
    expect(connection.stopReason).toBe(null);

    socket.serverClose(1000);
    connection.connect();
    expect(timers.pendingCount).toBe(0);
    timers.advance(10 * 60_000);
    expect(ws.sockets).toHaveLength(1);
  });

  it("destroy() while waiting to retry cancels the retry", () => {
    const { connection, ws, timers } = setup();
    connection.connect();
    ws.last().serverClose(1006);
    expect(connection.state).toBe("disconnected");
    connection.destroy();
    expect(timers.pendingCount).toBe(0);
    timers.advance(10 * 60_000);
    expect(ws.sockets).toHaveLength(1);
    expect(connection.state).toBe("stopped");
  });
});
