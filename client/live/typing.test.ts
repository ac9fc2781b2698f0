import { describe, expect, it } from "vitest";
import { type AgentAwarenessState, TYPING_IDLE_MS } from "../../protocol/index.ts";
import { decodeAwarenessEntries } from "./awareness-entries.ts";
import { LiveConnection } from "./connection.ts";
import { FakeLiveServer, FakeTimers, fakeWebSocket } from "./test-support.ts";
import { createTypingIndicator } from "./typing.ts";

function setup() {
  const timers = new FakeTimers();
  const published: Array<string | null> = [];
  const typing = createTypingIndicator({ publish: (ticketId) => published.push(ticketId), timers });
  return { timers, published, typing };
}

describe("typing", () => {
  it("publishes the first keystroke and the stop, nothing in between", () => {
    const { timers, published, typing } = setup();
    for (let i = 0; i < 50; i++) {
      typing.keystroke("t-1");
      timers.advance(60);
    }
    expect(published).toEqual(["t-1"]);
    expect(typing.typing).toBe("t-1");
    timers.advance(TYPING_IDLE_MS - 61);
    expect(published).toEqual(["t-1"]);
    timers.advance(1);
    expect(published).toEqual(["t-1", null]);
    expect(typing.typing).toBeNull();
  });

  it("keeps typing on through a long burst and clears TYPING_IDLE_MS after the last keystroke", () => {
    const { timers, published, typing } = setup();
    for (let i = 0; i < 10; i++) {
      typing.keystroke("t-1");
      timers.advance(TYPING_IDLE_MS - 1);
    }
    expect(published).toEqual(["t-1"]);
    timers.advance(1);
    expect(published).toEqual(["t-1", null]);
  });

  it("moves to another ticket in one update and clears on blur", () => {
    const { timers, published, typing } = setup();
    typing.keystroke("t-1");
    typing.keystroke("t-2");
    expect(published).toEqual(["t-1", "t-2"]);
    typing.clear(); // blur
    typing.clear();
    expect(published).toEqual(["t-1", "t-2", null]);
    timers.advance(TYPING_IDLE_MS * 2);
    expect(published).toEqual(["t-1", "t-2", null]);
  });

  it("publishes nothing after destroy", () => {
    const { timers, published, typing } = setup();
    typing.keystroke("t-1");
    typing.destroy();
    timers.advance(TYPING_IDLE_MS * 2);
    typing.keystroke("t-2");
    expect(published).toEqual(["t-1"]);
  });

  it("costs the hub two awareness updates for a burst of keystrokes", () => {
    const timers = new FakeTimers();
    const server = new FakeLiveServer();
    const ws = fakeWebSocket();
    const ana: AgentAwarenessState = { agentId: "agent-ana", name: "Ana", viewing: "t-1" };
    const connection = new LiveConnection({
      url: "ws://hub.test/live/inbox",
      WebSocket: ws.WebSocket,
      timers,
      now: timers.now,
      wakeSignals: () => () => {},
      localState: ana,
    });
    connection.connect();
    server.accept(ws.last());
    server.flush();
    const typing = createTypingIndicator({
      publish: (ticketId) => connection.setLocalState({ ...ana, typing: ticketId }),
      timers,
    });
    const before = server.awarenessLog.length;
    for (let i = 0; i < 40; i++) {
      typing.keystroke("t-1");
      timers.advance(80);
    }
    timers.advance(TYPING_IDLE_MS);
    const updates = server.awarenessLog.slice(before).map((entry) => decodeAwarenessEntries(entry.update)[0]?.state);
    expect(updates).toEqual([
      { ...ana, typing: "t-1" },
      { ...ana, typing: null },
    ]);
    connection.destroy();
  });
});
