// openSharedLive on the platform's own BroadcastChannel and Web Locks (Node 24 has both, with
// the browser's semantics), to check the fakes did not hide a mismatch. Sockets and the server
// are still fakes; so are the connection's timers.

import { afterEach, describe, expect, it } from "vitest";
import type { AgentAwarenessState } from "../../protocol/index.ts";
import { type SharedLive, openSharedLive } from "./shared-live.ts";
import { FakeLiveServer, type FakeSocket, FakeTimers, fakeWebSocket } from "./test-support.ts";

const hasPlatform = typeof BroadcastChannel !== "undefined" && typeof navigator !== "undefined" && navigator.locks !== undefined;

const ana: AgentAwarenessState = { agentId: "agent-ana", name: "Ana" };
const opened: SharedLive[] = [];
afterEach(() => {
  for (const live of opened.splice(0)) live.destroy();
});

describe.skipIf(!hasPlatform)("openSharedLive on the platform's BroadcastChannel and Web Locks", () => {
  it("elects one leader, relays to the follower and hands over when the leader closes", async () => {
    const server = new FakeLiveServer();
    const timers = new FakeTimers();
    const ws = fakeWebSocket();
    const accepted = new Set<FakeSocket>();
    const name = `platform-test-${Math.random()}`;
    const open = (): SharedLive => {
      const live = openSharedLive({
        name,
        url: "ws://hub.test/live/inbox",
        localState: ana,
        WebSocket: ws.WebSocket,
        timers,
        now: timers.now,
        wakeSignals: () => () => {},
        pageLifecycle: () => () => {},
      });
      opened.push(live);
      return live;
    };
    /** Real message delivery and lock grants are asynchronous: pump until `done`. */
    const until = async (done: () => boolean): Promise<void> => {
      const deadline = Date.now() + 5_000;
      while (!done()) {
        if (Date.now() > deadline) throw new Error("timed out");
        for (const socket of ws.sockets) {
          if (accepted.has(socket) || socket.closedByClient) continue;
          accepted.add(socket);
          server.accept(socket);
        }
        for (const socket of server.openSockets) if (socket.closedByClient) server.close(socket, 1000, "", false);
        server.flush();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };

    const a = open();
    await until(() => a.isLeader.get() && a.status.get().synced);
    const b = open();
    server.change((doc) => doc.getMap("counts").set("open", 1));
    await until(() => b.doc.getMap("counts").get("open") === 1);
    expect(b.isLeader.get()).toBe(false);
    expect(ws.sockets).toHaveLength(1);
    await until(() => server.awareness.getStates().has(b.awareness.clientID));

    a.destroy();
    await until(() => b.isLeader.get() && b.status.get().synced);
    server.change((doc) => doc.getMap("counts").set("open", 2));
    await until(() => b.doc.getMap("counts").get("open") === 2);
    expect(ws.sockets).toHaveLength(2);
    expect(server.openSockets).toHaveLength(1);
  });
});
