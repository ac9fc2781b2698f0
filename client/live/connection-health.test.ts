// Keepalive, dead sockets, sleep/freeze detection and the status a UI shows while down.

import * as encoding from "lib0/encoding";
import { afterEach, describe, expect, it } from "vitest";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import {
  type AgentAwarenessState,
  CloseReason,
  KEEPALIVE_INTERVAL_MS,
  KEEPALIVE_TIMEOUT_MS,
  Keepalive,
  MessageType,
} from "../../protocol/index.ts";
import { LiveConnection, type LiveConnectionOptions, type LiveStatus } from "./connection.ts";
import { DEFAULT_SLEEP_PERIOD_MS } from "./sleep.ts";
import { FakeTimers, fakeWebSocket, sequence } from "./test-support.ts";

const ana: AgentAwarenessState = { agentId: "agent-ana", name: "Ana" };

const connections: LiveConnection[] = [];
afterEach(() => {
  for (const connection of connections.splice(0)) connection.destroy();
});

function setup(options: Partial<LiveConnectionOptions> = {}) {
  const ws = fakeWebSocket();
  const timers = new FakeTimers();
  const statuses: LiveStatus[] = [];
  const connection = new LiveConnection({
    url: "ws://hub.test/live/inbox?v=1&token=t",
    WebSocket: ws.WebSocket,
    timers,
    now: timers.now,
    random: sequence(0.5),
    wakeSignals: () => () => {},
    localState: ana,
    onProtocolError: (error) => {
      throw error;
    },
    ...options,
  });
  connections.push(connection);
  connection.subscribe((status) => statuses.push(status));
  return { connection, ws, timers, statuses };
}

function serverStep2(): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  syncProtocol.writeSyncStep2(encoder, new Y.Doc());
  return encoding.toUint8Array(encoder);
}

/** Connects and completes the handshake. */
function connected(options: Partial<LiveConnectionOptions> = {}) {
  const context = setup(options);
  context.connection.connect();
  context.ws.last().serverOpen();
  context.ws.last().serverSend(serverStep2());
  expect(context.connection.status.synced).toBe(true);
  return context;
}

describe("keepalive", () => {
  it("pings every KEEPALIVE_INTERVAL_MS while connected and takes the pong silently", () => {
    const { connection, ws, timers } = connected();
    const socket = ws.last();
    timers.advance(KEEPALIVE_INTERVAL_MS - 1);
    expect(socket.sentText).toEqual([]);
    timers.advance(1);
    expect(socket.sentText).toEqual([Keepalive.request]);
    // onProtocolError throws in these tests: a pong must not count as a bad frame.
    socket.serverSendText(Keepalive.response);
    timers.advance(KEEPALIVE_INTERVAL_MS);
    expect(socket.sentText).toEqual([Keepalive.request, Keepalive.request]);
    socket.serverSendText(Keepalive.response);
    timers.advance(KEEPALIVE_TIMEOUT_MS);
    expect(connection.state).toBe("connected");
    expect(ws.sockets).toHaveLength(1);
  });

  it("sends no ping before the socket opens or after it closed", () => {
    const { connection, ws, timers } = setup({ backoff: { baseMs: 600_000, maxMs: 600_000 } });
    connection.connect();
    timers.advance(KEEPALIVE_INTERVAL_MS * 2);
    expect(ws.last().sentText).toEqual([]);
    ws.last().serverOpen();
    ws.last().serverClose(1006);
    timers.advance(KEEPALIVE_INTERVAL_MS * 2);
    expect(ws.sockets[0]?.sentText).toEqual([]);
  });

  it("declares a socket dead when nothing arrives within KEEPALIVE_TIMEOUT_MS of a ping, and replaces it at once", () => {
    const { connection, ws, timers, statuses } = connected();
    const socket = ws.last();
    timers.advance(KEEPALIVE_INTERVAL_MS);
    expect(socket.sentText).toEqual([Keepalive.request]);
    timers.advance(KEEPALIVE_TIMEOUT_MS - 1);
    expect(socket.closedByClient).toBeNull();

    const detectedAt = timers.now() + 1;
    timers.advance(1);
    expect(socket.closedByClient).not.toBeNull();
    expect(ws.sockets).toHaveLength(2); // no backoff wait: the server did not fail
    expect(connection.state).toBe("connecting");
    expect(connection.status.downSince).toBe(detectedAt);
    expect(statuses.map((s) => s.state).slice(-1)).toEqual(["connecting"]);

    // The dead socket's late events change nothing.
    socket.serverClose(CloseReason.UNAUTHORIZED.code);
    expect(connection.state).toBe("connecting");
  });

  it("counts any frame as a sign of life, not only the pong", () => {
    const { connection, ws, timers } = connected();
    timers.advance(KEEPALIVE_INTERVAL_MS);
    ws.last().serverSend(serverStep2());
    timers.advance(KEEPALIVE_TIMEOUT_MS * 2);
    expect(connection.state).toBe("connected");
    expect(ws.sockets).toHaveLength(1);
  });

  it("backs off normally when the fresh socket dies too, and replaces at once again once a socket answered", () => {
    const { ws, timers } = connected({ random: sequence(0.5) });
    timers.advance(KEEPALIVE_INTERVAL_MS + KEEPALIVE_TIMEOUT_MS);
    expect(ws.sockets).toHaveLength(2);

    // The replacement opens and syncs, then dies as well: no second immediate reconnect.
    ws.last().serverOpen();
    ws.last().serverSend(serverStep2());
    timers.advance(KEEPALIVE_INTERVAL_MS + KEEPALIVE_TIMEOUT_MS);
    expect(ws.sockets).toHaveLength(2);
    const start = timers.now();
    timers.runUntil(() => ws.sockets.length === 3);
    expect(timers.now() - start).toBe(250); // attempt 0: half of the 500 ms ceiling

    // This one answers a ping, so the path works again; its death is replaced at once.
    const third = ws.last();
    third.serverOpen();
    third.serverSend(serverStep2());
    timers.advance(KEEPALIVE_INTERVAL_MS);
    third.serverSendText(Keepalive.response);
    timers.advance(KEEPALIVE_INTERVAL_MS + KEEPALIVE_TIMEOUT_MS);
    expect(third.closedByClient).not.toBeNull();
    expect(ws.sockets).toHaveLength(4);
  });
});

describe("sleep and freeze detection", () => {
  it("after the machine slept, pings at once and keeps a socket that answers", () => {
    const { connection, ws, timers } = connected();
    const socket = ws.last();
    timers.advance(3_000);
    timers.sleep(10 * 60_000); // lid closed: the wall clock moves, timers do not
    timers.advance(DEFAULT_SLEEP_PERIOD_MS);
    expect(socket.sentText).toEqual([Keepalive.request]); // long before the next regular ping
    socket.serverSendText(Keepalive.response);
    timers.advance(KEEPALIVE_TIMEOUT_MS * 2);
    expect(connection.state).toBe("connected");
    expect(ws.sockets).toHaveLength(1);
  });

  it("after the machine slept, replaces a socket that does not answer within the timeout", () => {
    const { ws, timers } = connected();
    const socket = ws.last();
    timers.sleep(10 * 60_000);
    const woke = timers.now();
    timers.runUntil(() => ws.sockets.length === 2);
    expect(socket.closedByClient).not.toBeNull();
    expect(timers.now() - woke).toBeLessThanOrEqual(DEFAULT_SLEEP_PERIOD_MS + KEEPALIVE_TIMEOUT_MS);
  });

  it("does not tear down a healthy socket whose timers are throttled to once a minute (hidden tab)", () => {
    const { connection, ws, timers } = connected();
    const socket = ws.last();
    for (let minute = 0; minute < 30; minute++) {
      timers.stall(60_000); // nothing ran for a minute...
      timers.advance(0); // ...then every overdue timer runs at once, late
      // The server's runtime answers each ping (message events are not throttled).
      while (socket.sentText.length > 0) {
        socket.sentText.shift();
        socket.serverSendText(Keepalive.response);
      }
    }
    expect(connection.state).toBe("connected");
    expect(ws.sockets).toHaveLength(1);
    expect(socket.closedByClient).toBeNull();
  });

  it("after a sleep while waiting to retry, reconnects at once instead of waiting out the backoff", () => {
    const { connection, ws, timers } = setup({ backoff: { baseMs: 120_000, maxMs: 120_000 } });
    connection.connect();
    ws.last().serverClose(1006); // retry in 60 s (half of the ceiling)
    timers.advance(4_000);
    timers.sleep(30 * 60_000);
    timers.advance(DEFAULT_SLEEP_PERIOD_MS);
    expect(ws.sockets).toHaveLength(2);
    expect(connection.state).toBe("connecting");
  });

  it("after a sleep while a socket was connecting, replaces that socket at once", () => {
    const { connection, ws, timers } = setup();
    connection.connect();
    const stuck = ws.last();
    timers.advance(1_000);
    timers.sleep(30 * 60_000); // the handshake started on a network that is gone now
    timers.advance(DEFAULT_SLEEP_PERIOD_MS);
    expect(ws.sockets).toHaveLength(2);
    expect(stuck.closedByClient).not.toBeNull();
    expect(stuck.onopen).toBeNull();
    expect(connection.state).toBe("connecting");
  });

  it("waits out the backoff when time just passes normally", () => {
    const { connection, ws, timers } = setup({ backoff: { baseMs: 120_000, maxMs: 120_000 } });
    connection.connect();
    ws.last().serverClose(1006);
    timers.advance(59_999);
    expect(ws.sockets).toHaveLength(1);
    timers.advance(1);
    expect(ws.sockets).toHaveLength(2);
  });
});

describe("status for the UI", () => {
  it("is down from creation until synced, then up; down again from the moment the socket went, across retries", () => {
    const { connection, ws, timers, statuses } = setup();
    const created = timers.now();
    expect(connection.status).toEqual({ state: "disconnected", stopReason: null, synced: false, downSince: created });
    timers.advance(100);
    connection.connect();
    ws.last().serverOpen();
    expect(connection.status.downSince).toBe(created); // connected is not up until synced
    ws.last().serverSend(serverStep2());
    expect(connection.status).toEqual({ state: "connected", stopReason: null, synced: true, downSince: null });

    timers.advance(5_000);
    const wentDown = timers.now();
    ws.last().serverClose(1006);
    expect(connection.status.downSince).toBe(wentDown);
    for (let i = 0; i < 4; i++) {
      timers.runUntil(() => connection.state === "connecting");
      ws.last().serverOpen();
      ws.last().serverClose(1006);
    }
    expect(connection.status.downSince).toBe(wentDown);
    expect(statuses.every((s) => s.downSince === null || s.downSince === created || s.downSince === wentDown)).toBe(true);
  });

  it("keeps downSince and names the reason after a terminal close", () => {
    const { connection, ws, timers } = connected();
    timers.advance(1_000);
    const at = timers.now();
    ws.last().serverClose(CloseReason.CLIENT_TOO_OLD.code, CloseReason.CLIENT_TOO_OLD.reason);
    expect(connection.status).toEqual({ state: "stopped", stopReason: "CLIENT_TOO_OLD", synced: false, downSince: at });
  });
});
