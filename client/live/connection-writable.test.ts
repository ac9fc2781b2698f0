// A writable LiveConnection (a ticket's draft): local edits go up, edits made while away go up
// in the next handshake, and flush() waits for the server to have applied what was sent.

import { afterEach, describe, expect, it } from "vitest";
import * as Y from "yjs";
import { LiveConnection } from "./connection.ts";
import { decodeServerFrame } from "./frames.ts";
import { FakeLiveServer, FakeTimers, fakeWebSocket, sequence } from "./test-support.ts";

interface Cursorless {
  agentId: string;
  name: string;
}

const connections: LiveConnection<Cursorless>[] = [];
afterEach(() => {
  for (const connection of connections.splice(0)) connection.destroy();
});

function client(server: FakeLiveServer, options: { writable?: boolean; doc?: Y.Doc } = {}) {
  const ws = fakeWebSocket();
  const timers = new FakeTimers();
  const connection = new LiveConnection<Cursorless>({
    url: "ws://hub.test/live/tickets/t1?v=1&token=t",
    WebSocket: ws.WebSocket,
    timers,
    now: timers.now,
    random: sequence(0.5),
    wakeSignals: () => () => {},
    localState: { agentId: "agent-ana", name: "Ana" },
    writable: options.writable ?? true,
    doc: options.doc,
    onProtocolError: (error) => {
      throw error;
    },
  });
  connections.push(connection);
  const open = () => {
    connection.connect();
    server.accept(ws.last());
  };
  return { connection, ws, timers, open };
}

const draft = (doc: Y.Doc) => doc.getText("draft").toString();

function writableServer(): FakeLiveServer {
  const server = new FakeLiveServer();
  server.writable = true;
  return server;
}

describe("a writable connection", () => {
  it("sends local edits and applies the others' without echoing them back", () => {
    const server = writableServer();
    const ana = client(server);
    const ben = client(server);
    ana.open();
    ben.open();
    server.flush();
    expect(ana.connection.status.synced && ben.connection.status.synced).toBe(true);

    ana.connection.doc.getText("draft").insert(0, "Hello");
    server.flush();
    expect(draft(server.doc)).toBe("Hello");
    expect(draft(ben.connection.doc)).toBe("Hello");
    const benSentBefore = ben.ws.last().sent.length;
    ben.connection.doc.getText("draft").insert(5, ", world");
    server.flush();
    expect(draft(ana.connection.doc)).toBe("Hello, world");
    // Ana applied Ben's edit with the connection as origin: nothing went back up.
    const anaUpdates = ana.ws.last().sent.map((frame) => decodeServerFrame(frame)).filter((frame) => frame.type === "sync-update");
    expect(anaUpdates).toHaveLength(1);
    expect(ben.ws.last().sent.length).toBe(benSentBefore + 1);
  });

  it("sends what the server lacks when it answers the server's step 1 (edits kept from before)", () => {
    const server = writableServer();
    server.change((doc) => doc.getArray("thread").push(["first"]));
    const stored = new Y.Doc();
    stored.getText("draft").insert(0, "typed offline");
    const ana = client(server, { doc: stored });
    ana.open();
    server.flush();
    expect(draft(server.doc)).toBe("typed offline");
    expect(ana.connection.doc.getArray("thread").toArray()).toEqual(["first"]);
  });

  it("keeps edits made while disconnected and sends them on reconnect", () => {
    const server = writableServer();
    const ana = client(server);
    ana.open();
    server.flush();
    server.close(ana.ws.last(), 1006);
    ana.connection.doc.getText("draft").insert(0, "while away");
    expect(draft(server.doc)).toBe("");
    ana.timers.runUntil(() => ana.ws.sockets.length === 2);
    server.accept(ana.ws.last());
    server.flush();
    expect(draft(server.doc)).toBe("while away");
  });

  it("a read-only connection never sends its document", () => {
    const server = writableServer();
    const stored = new Y.Doc();
    stored.getText("draft").insert(0, "local only");
    const reader = client(server, { writable: false, doc: stored });
    reader.open();
    server.flush();
    reader.connection.doc.getText("draft").insert(0, "more ");
    server.flush();
    expect(draft(server.doc)).toBe("");
  });
});

describe("flush()", () => {
  it("resolves true once the server answered the step 1 sent after the edits", async () => {
    const server = writableServer();
    const ana = client(server);
    ana.open();
    server.flush();
    ana.connection.doc.getText("draft").insert(0, "last keystroke");
    let settled: boolean | undefined;
    const flushed = ana.connection.flush().then((applied) => (settled = applied));
    await Promise.resolve();
    expect(settled).toBeUndefined();
    server.flush();
    expect(await flushed).toBe(true);
    expect(draft(server.doc)).toBe("last keystroke");
  });

  it("resolves false when not connected, and when the socket goes before the answer", async () => {
    const server = writableServer();
    const ana = client(server);
    expect(await ana.connection.flush()).toBe(false);
    ana.open();
    expect(await ana.connection.flush()).toBe(false); // not synced yet
    server.flush();
    const pending = ana.connection.flush();
    server.close(ana.ws.last(), 1006);
    expect(await pending).toBe(false);
  });

  it("answers several flushes in order", async () => {
    const server = writableServer();
    const ana = client(server);
    ana.open();
    server.flush();
    const order: string[] = [];
    const first = ana.connection.flush().then(() => order.push("first"));
    const second = ana.connection.flush().then(() => order.push("second"));
    server.flush();
    await Promise.all([first, second]);
    expect(order).toEqual(["first", "second"]);
  });
});
