// A LiveConnection that keeps an existing replica (a tab becoming leader) and publishes other
// tabs' awareness through its socket, against a fake server that behaves like the hub.

import { afterEach, describe, expect, it } from "vitest";
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from "y-protocols/awareness";
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import { type AgentAwarenessState, AuthMessageType, MessageType } from "../../protocol/index.ts";
import { decodeAwarenessEntries, encodeAwarenessEntries } from "./awareness-entries.ts";
import { LiveConnection, type LiveConnectionOptions } from "./connection.ts";
import { decodeServerFrame } from "./frames.ts";
import { FakeLiveServer, type FakeSocket, FakeTimers, fakeWebSocket, sequence } from "./test-support.ts";

const ana: AgentAwarenessState = { agentId: "agent-ana", name: "Ana" };
const anaTab2: AgentAwarenessState = { agentId: "agent-ana", name: "Ana", viewing: "ticket-2" };
const ben: AgentAwarenessState = { agentId: "agent-ben", name: "Ben" };

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function permissionDeniedFrame(reason: string): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.auth);
  encoding.writeVarUint(encoder, AuthMessageType.permissionDenied);
  encoding.writeVarString(encoder, reason);
  return encoding.toUint8Array(encoder);
}

/** One server and a clock; browsers connect to it. */
function world() {
  const server = new FakeLiveServer();
  const timers = new FakeTimers();
  const accepted = new Set<FakeSocket>();
  const registries: Array<ReturnType<typeof fakeWebSocket>> = [];
  const settle = (): void => {
    for (let round = 0; round < 100; round++) {
      let moved = 0;
      for (const registry of registries) {
        for (const socket of registry.sockets) {
          if (accepted.has(socket) || socket.closedByClient) continue;
          accepted.add(socket);
          server.accept(socket);
          moved += 1;
        }
      }
      moved += server.flush();
      if (moved === 0) return;
    }
    throw new Error("never settled");
  };
  const browser = (options: Partial<LiveConnectionOptions> = {}) => {
    const ws = fakeWebSocket();
    registries.push(ws);
    const connection = new LiveConnection({
      url: "ws://hub.test/live/inbox",
      WebSocket: ws.WebSocket,
      timers,
      now: timers.now,
      random: sequence(0),
      wakeSignals: () => () => {},
      onProtocolError: (error) => {
        throw error;
      },
      onPermissionDenied: () => {},
      ...options,
    });
    cleanups.push(() => connection.destroy());
    return { connection, ws };
  };
  return { server, timers, settle, browser };
}

/** Another tab of this browser: its own awareness, as a follower keeps it. */
function otherTab(state: AgentAwarenessState) {
  const awareness = new Awareness(new Y.Doc());
  awareness.setLocalState(state);
  cleanups.push(() => awareness.destroy());
  return {
    id: awareness.clientID,
    awareness,
    update: () => encodeAwarenessUpdate(awareness, [awareness.clientID]),
    set: (next: AgentAwarenessState) => awareness.setLocalState(next),
  };
}

describe("keeping an existing replica", () => {
  it("syncs from the replica's state vector, so the server sends only what it lacks", () => {
    const { server, settle, browser } = world();
    server.change((doc) => doc.getMap("counts").set("open", 3));
    const replica = new Y.Doc();
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(server.doc));
    server.change((doc) => doc.getMap("counts").set("pending", 1));
    const replicaVector = Y.encodeStateVector(replica);

    const { connection, ws } = browser({ doc: replica, localState: ana });
    expect(connection.doc).toBe(replica);
    connection.connect();
    settle();

    const step1 = ws.last().sent.map((frame) => decodeServerFrame(frame)).find((frame) => frame.type === "sync-step1");
    if (step1?.type !== "sync-step1") throw new Error("no step 1");
    expect(step1.stateVector).toEqual(replicaVector);
    const step2 = server.delivered
      .filter((entry) => entry.socket === ws.last() && typeof entry.frame !== "string")
      .map((entry) => decodeServerFrame(entry.frame as Uint8Array))
      .find((frame) => frame.type === "sync-step2");
    if (step2?.type !== "sync-step2") throw new Error("no step 2");
    // Only what was missing: every struct starts at or after what the replica had.
    const had = Y.decodeStateVector(replicaVector);
    const { structs } = Y.decodeUpdate(step2.update);
    expect(structs.length).toBe(1);
    for (const struct of structs) expect(struct.id.clock).toBeGreaterThanOrEqual(had.get(struct.id.client) ?? 0);
    expect(replica.getMap("counts").toJSON()).toEqual({ open: 3, pending: 1 });
  });

  it("keeps the awareness's local state unless localState is given, and leaves borrowed objects alive on destroy", () => {
    const { settle, browser, server } = world();
    const doc = new Y.Doc();
    const awareness = new Awareness(doc);
    awareness.setLocalState(anaTab2);
    const { connection } = browser({ awareness });
    expect(connection.doc).toBe(doc);
    expect(connection.awareness).toBe(awareness);
    connection.connect();
    settle();
    expect(server.awareness.getStates().get(awareness.clientID)).toEqual(anaTab2);

    connection.destroy();
    settle();
    expect(server.awareness.getStates().has(awareness.clientID)).toBe(false); // goodbye sent
    expect(doc.isDestroyed).toBe(false);
    expect(awareness.getLocalState()).toEqual(anaTab2); // the tab still has its state
    awareness.destroy();

    const other = new Awareness(new Y.Doc());
    other.setLocalState(anaTab2);
    const replaced = browser({ awareness: other, localState: ana });
    expect(replaced.connection.awareness.getLocalState()).toEqual(ana);
    other.destroy();
  });

  it("refuses an awareness of another document", () => {
    const { browser } = world();
    const awareness = new Awareness(new Y.Doc());
    expect(() => browser({ doc: new Y.Doc(), awareness })).toThrow();
    awareness.destroy();
  });

  it("drops inherited states the server's welcome does not confirm, keeps those it does", () => {
    const { server, settle, browser } = world();
    const benBrowser = browser({ localState: ben });
    benBrowser.connection.connect();
    settle();
    const benId = benBrowser.connection.awareness.clientID;

    // A follower's replica: Ben (still online) and a tab that left while nobody listened.
    const awareness = new Awareness(new Y.Doc());
    awareness.setLocalState(ana);
    const goneTab = otherTab(anaTab2);
    applyAwarenessUpdate(awareness, encodeAwarenessUpdate(server.awareness, [benId]), "old leader");
    applyAwarenessUpdate(awareness, goneTab.update(), "old leader");
    expect([...awareness.getStates().keys()].sort()).toEqual([awareness.clientID, benId, goneTab.id].sort());

    const { connection } = browser({ awareness });
    connection.connect();
    settle();
    expect([...awareness.getStates().keys()].sort()).toEqual([awareness.clientID, benId].sort());
    awareness.destroy();
  });
});

describe("forwarded awareness", () => {
  function leaderWithObserver() {
    const w = world();
    const leader = w.browser({ localState: ana });
    const observer = w.browser({ localState: ben }); // another agent's browser
    leader.connection.connect();
    observer.connection.connect();
    w.settle();
    return { ...w, leader, observer };
  }

  it("publishes another tab's state under that tab's client id through the one socket", () => {
    const { server, settle, leader, observer } = leaderWithObserver();
    const tab = otherTab(anaTab2);
    leader.connection.publishForwarded(tab.update());
    settle();
    expect(server.awareness.getStates().get(tab.id)).toEqual(anaTab2);
    expect(observer.connection.awareness.getStates().get(tab.id)).toEqual(anaTab2);
    expect(leader.connection.awareness.getStates().get(tab.id)).toEqual(anaTab2);
    expect(server.awarenessLog.filter((entry) => entry.socket === leader.ws.last()).length).toBeGreaterThan(0);
    expect(leader.ws.sockets).toHaveLength(1);

    tab.set({ ...anaTab2, typing: "ticket-2" });
    leader.connection.publishForwarded(tab.update());
    settle();
    expect(observer.connection.awareness.getStates().get(tab.id)).toEqual({ ...anaTab2, typing: "ticket-2" });
  });

  it("keeps forwarded states when the socket closes and re-publishes them, newer, in one frame after reconnecting", () => {
    const { server, settle, leader, observer, timers } = leaderWithObserver();
    const tab = otherTab(anaTab2);
    leader.connection.publishForwarded(tab.update());
    settle();

    server.close(leader.ws.last()); // the hub drops the socket's states and tells the observer
    settle();
    expect(observer.connection.awareness.getStates().has(tab.id)).toBe(false);
    expect(leader.connection.awareness.getStates().get(tab.id)).toEqual(anaTab2); // kept, like our own

    const logBefore = server.awarenessLog.length;
    timers.runUntil(() => leader.ws.sockets.length === 2);
    settle();
    // The observer still remembers the clock it saw removed: only a newer one gets through.
    expect(observer.connection.awareness.getStates().get(tab.id)).toEqual(anaTab2);
    expect(observer.connection.awareness.getStates().get(leader.connection.awareness.clientID)).toEqual(ana);
    const published = server.awarenessLog.slice(logBefore).filter((entry) => entry.socket === leader.ws.last());
    expect(published).toHaveLength(1); // one frame: own and forwarded (the hub rate-limits)
    expect(decodeAwarenessEntries(published[0]?.update ?? new Uint8Array()).map((e) => e.clientId).sort()).toEqual(
      [leader.connection.awareness.clientID, tab.id].sort(),
    );
  });

  it("answers query-awareness (the hub woke from hibernation) with its own and forwarded states", () => {
    const { server, settle, leader } = leaderWithObserver();
    const tab = otherTab(anaTab2);
    leader.connection.publishForwarded(tab.update());
    settle();
    server.hibernateAndWake();
    expect(server.awareness.getStates().size).toBe(0);
    settle();
    expect(server.awareness.getStates().get(tab.id)).toEqual(anaTab2);
    expect(server.awareness.getStates().get(leader.connection.awareness.clientID)).toEqual(ana);
  });

  it("forgetForwarded removes the state everywhere and stops re-publishing it", () => {
    const { server, settle, leader, observer, timers } = leaderWithObserver();
    const tab = otherTab(anaTab2);
    leader.connection.publishForwarded(tab.update());
    settle();
    leader.connection.forgetForwarded(tab.id);
    settle();
    expect(server.awareness.getStates().has(tab.id)).toBe(false);
    expect(observer.connection.awareness.getStates().has(tab.id)).toBe(false);
    expect(leader.connection.forwardedClientIds).toEqual([]);

    server.close(leader.ws.last());
    timers.runUntil(() => leader.ws.sockets.length === 2);
    settle();
    expect(server.awareness.getStates().has(tab.id)).toBe(false);
  });

  it("after a rate-limited refusal, sends everything it publishes again once, a second later", () => {
    const { settle, leader, timers } = leaderWithObserver();
    const tab = otherTab(anaTab2);
    leader.connection.publishForwarded(tab.update());
    settle();
    const socket = leader.ws.last();
    // Three updates in a row, all of which the hub refuses (it relays none of them).
    socket.sent.length = 0;
    leader.connection.setLocalState({ ...ana, typing: "t-9" });
    tab.set({ ...anaTab2, typing: "t-2" });
    leader.connection.publishForwarded(tab.update());
    leader.connection.setLocalState(ana);
    const refused = socket.sent.length;
    expect(refused).toBe(3);
    for (let i = 0; i < refused; i++) socket.serverSend(permissionDeniedFrame("rate-limited"));
    timers.advance(999);
    expect(socket.sent).toHaveLength(refused);
    timers.advance(1);
    expect(socket.sent).toHaveLength(refused + 1); // one frame, however many refusals
    const [frame] = socket.sent.slice(refused).map((f) => decodeServerFrame(f));
    if (frame?.type !== "awareness") throw new Error("expected an awareness frame");
    const entries = new Map(decodeAwarenessEntries(frame.update).map((e) => [e.clientId, e.state]));
    expect(entries).toEqual(
      new Map<number, unknown>([
        [leader.connection.awareness.clientID, ana],
        [tab.id, { ...anaTab2, typing: "t-2" }],
      ]),
    );
  });

  it("a null state in a forwarded update forgets that tab; its own client id is never taken from another tab", () => {
    const { server, settle, leader } = leaderWithObserver();
    const tab = otherTab(anaTab2);
    leader.connection.publishForwarded(tab.update());
    settle();
    const own = leader.connection.awareness.clientID;
    leader.connection.publishForwarded(
      encodeAwarenessEntries([
        { clientId: tab.id, clock: 99, state: null },
        { clientId: own, clock: 99, state: ben },
      ]),
    );
    settle();
    expect(server.awareness.getStates().has(tab.id)).toBe(false);
    expect(server.awareness.getStates().get(own)).toEqual(ana);
    expect(leader.connection.awareness.getLocalState()).toEqual(ana);
  });

  it("publishes above the clock a previous leader used, even if the tab's own clock is behind", () => {
    const { settle, leader, observer } = leaderWithObserver();
    const tab = otherTab(anaTab2);
    // Peers saw this tab at clock 40 (published by a previous leader)...
    observer.connection.awareness.meta.set(tab.id, { clock: 40, lastUpdated: Date.now() });
    leader.connection.awareness.meta.set(tab.id, { clock: 40, lastUpdated: Date.now() });
    // ...while the tab itself is at clock 2.
    tab.set({ ...anaTab2, viewing: "ticket-3" });
    expect(tab.awareness.meta.get(tab.id)?.clock).toBe(2);
    leader.connection.publishForwarded(tab.update());
    settle();
    expect(observer.connection.awareness.getStates().get(tab.id)).toEqual({ ...anaTab2, viewing: "ticket-3" });
    expect(observer.connection.awareness.meta.get(tab.id)?.clock).toBe(41);
  });

  it("publishes at least at the tab's own clock when it knows nothing of the tab yet (a fresh leader)", () => {
    const { settle, leader, observer } = leaderWithObserver();
    const tab = otherTab(anaTab2);
    // Peers saw this tab at clock 40, published by a previous leader; the tab re-announces at 41.
    observer.connection.awareness.meta.set(tab.id, { clock: 40, lastUpdated: Date.now() });
    tab.awareness.meta.set(tab.id, { clock: 40, lastUpdated: Date.now() });
    tab.set({ ...anaTab2, viewing: "ticket-4" });
    leader.connection.publishForwarded(tab.update());
    settle();
    expect(observer.connection.awareness.getStates().get(tab.id)).toEqual({ ...anaTab2, viewing: "ticket-4" });
  });

  it("publishes a forwarded state again when the previous leader's socket closing removes it", () => {
    const { server, settle, browser, observer } = leaderWithObserver();
    server.handover = false; // the old socket's removal is relayed after our claim
    const tab = otherTab(anaTab2);
    const oldLeader = browser({ localState: { agentId: "agent-ana", name: "Ana", viewing: "old" } });
    oldLeader.connection.connect();
    settle();
    oldLeader.connection.publishForwarded(tab.update());
    settle();
    // A new leader takes the tab over while the old socket is still open at the server.
    const newLeader = browser({ localState: ana });
    newLeader.connection.connect();
    settle();
    newLeader.connection.publishForwarded(tab.update());
    settle();

    server.close(oldLeader.ws.last(), 1006, "", false); // the old tab crashed; the hub notices later
    settle();
    expect(server.awareness.getStates().get(tab.id)).toEqual(anaTab2);
    expect(observer.connection.awareness.getStates().get(tab.id)).toEqual(anaTab2);
  });
});

