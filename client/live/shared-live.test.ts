// Several tabs of one browser sharing one inbox socket: fake Web Locks, BroadcastChannel,
// sockets and server, one virtual clock.

import { afterEach, describe, expect, it } from "vitest";
import * as Y from "yjs";
import { type AgentAwarenessState, KEEPALIVE_INTERVAL_MS, PROTOCOL_VERSION } from "../../protocol/index.ts";
import { LiveConnection } from "./connection.ts";
import { SHARED_LIVE_VERSION, type SharedLive, type SharedLiveOptions, openSharedLive } from "./shared-live.ts";
import {
  FakeBroadcastHub,
  FakeLiveServer,
  FakeLocks,
  type FakeSocket,
  FakeTimers,
  fakeWebSocket,
  onlineAgents,
  sequence,
} from "./test-support.ts";

const ana = (viewing: string | null = null): AgentAwarenessState => ({ agentId: "agent-ana", name: "Ana", viewing });
const ben: AgentAwarenessState = { agentId: "agent-ben", name: "Ben" };
const NAME = "inbox:acct-1:agent-ana";

interface Tab {
  name: string;
  live: SharedLive;
  ws: ReturnType<typeof fakeWebSocket>;
  timers: ReturnType<FakeTimers["scope"]>;
  hide(): void;
  show(): void;
  wake(): void;
  /** Every key change of the `counts` map this tab observed, in order. */
  seen: string[];
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function browser() {
  const server = new FakeLiveServer();
  const timers = new FakeTimers();
  const locks = new FakeLocks();
  const hub = new FakeBroadcastHub();
  const tabs = new Map<string, Tab>();
  const registries: Array<ReturnType<typeof fakeWebSocket>> = [];
  const accepted = new Set<FakeSocket>();
  const errors: unknown[] = [];
  /** While false, new sockets are refused (closed at once), as by a server that is down. */
  const serverUp = { value: true };

  const open = (name: string, state: AgentAwarenessState | null, options: Partial<SharedLiveOptions> = {}): Tab => {
    const ws = fakeWebSocket();
    registries.push(ws);
    const scope = timers.scope();
    let lifecycle: { hide: () => void; show: () => void } | null = null;
    const wakes = new Set<() => void>();
    const live = openSharedLive({
      name: NAME,
      url: `ws://hub.test/live/inbox?tab=${name}`,
      localState: state,
      locks: locks.forTab(name),
      channel: hub.factory(name),
      WebSocket: ws.WebSocket,
      timers: scope,
      now: timers.now,
      random: sequence(0.5),
      wakeSignals: (fn) => {
        wakes.add(fn);
        return () => {
          wakes.delete(fn);
        };
      },
      pageLifecycle: (handlers) => {
        lifecycle = handlers;
        return () => {
          lifecycle = null;
        };
      },
      onProtocolError: (error) => errors.push(error),
      ...options,
    });
    const seen: string[] = [];
    live.doc.getMap("counts").observe((event) => {
      for (const key of event.keysChanged) seen.push(key);
    });
    const tab: Tab = {
      name,
      live,
      ws,
      timers: scope,
      hide: () => lifecycle?.hide(),
      show: () => lifecycle?.show(),
      wake: () => {
        for (const fn of [...wakes]) fn();
      },
      seen,
    };
    tabs.set(name, tab);
    cleanups.push(() => live.destroy());
    return tab;
  };

  /** Delivers everything in flight (channel messages, lock grants, socket frames) until quiet. */
  const settle = async (): Promise<void> => {
    for (let round = 0; round < 200; round++) {
      await new Promise((resolve) => setTimeout(resolve, 0)); // lock grants run in microtasks
      let moved = 0;
      for (const registry of registries) {
        for (const socket of registry.sockets) {
          if (accepted.has(socket) || socket.closedByClient) continue;
          accepted.add(socket);
          if (serverUp.value) server.accept(socket);
          else socket.serverClose(1006);
          moved += 1;
        }
      }
      for (const socket of server.openSockets) {
        if (socket.closedByClient) {
          server.close(socket, 1000, "", false);
          moved += 1;
        }
      }
      moved += hub.flush();
      moved += server.flush();
      if (moved === 0) return;
    }
    throw new Error("never settled");
  };

  /** Advances the clock in steps, letting everything settle in between. */
  const pass = async (ms: number, step = 1_000): Promise<void> => {
    for (let elapsed = 0; elapsed < ms; elapsed += step) {
      timers.advance(Math.min(step, ms - elapsed));
      await settle();
    }
  };

  /** The tab dies: no goodbye, its lock released, its socket closed by the browser. */
  const crash = (tab: Tab, options: { socketClosesNow?: boolean } = {}): void => {
    locks.crashTab(tab.name);
    hub.crashTab(tab.name);
    tab.timers.kill();
    if (options.socketClosesNow !== false) {
      for (const socket of tab.ws.sockets) server.close(socket, 1006, "", false);
    }
  };

  /** Another agent's browser, to see what the account sees. */
  const observer = () => {
    const ws = fakeWebSocket();
    registries.push(ws);
    const connection = new LiveConnection({
      url: "ws://hub.test/live/inbox?observer",
      WebSocket: ws.WebSocket,
      timers,
      now: timers.now,
      wakeSignals: () => () => {},
      localState: ben,
    });
    cleanups.push(() => connection.destroy());
    connection.connect();
    return connection;
  };

  const leaders = (): string[] => [...tabs.values()].filter((tab) => tab.live.isLeader.get()).map((tab) => tab.name);
  const openServerSockets = (): number => server.openSockets.length;
  const tabSockets = (): number =>
    [...tabs.values()].reduce((n, tab) => n + tab.ws.sockets.filter((s) => server.openSockets.includes(s)).length, 0);

  const kinds = (tab: string, kind: string) => hub.log.filter((m) => m.tab === tab && (m.data as { t: string }).t === kind);

  return {
    server,
    serverUp,
    timers,
    locks,
    hub,
    open,
    settle,
    pass,
    crash,
    observer,
    leaders,
    openServerSockets,
    tabSockets,
    errors,
    kinds,
  };
}

function clientId(tab: Tab): number {
  return tab.live.awareness.clientID;
}

function counts(doc: Y.Doc): unknown {
  return doc.getMap("counts").toJSON();
}

describe("one socket per browser", () => {
  it("the first tab leads and holds the only socket; later tabs follow from a snapshot", async () => {
    const b = browser();
    b.server.change((doc) => doc.getMap("counts").set("open", 7));
    const a = b.open("A", ana());
    await b.settle();
    expect(a.live.isLeader.get()).toBe(true);
    expect(a.ws.sockets).toHaveLength(1);
    expect(a.live.status.get()).toMatchObject({ state: "connected", synced: true, downSince: null });

    const c1 = b.open("B", ana("t-1"));
    const c2 = b.open("C", ana("t-2"));
    await b.settle();
    expect(b.leaders()).toEqual(["A"]);
    expect(c1.ws.sockets).toHaveLength(0);
    expect(c2.ws.sockets).toHaveLength(0);
    expect(b.openServerSockets()).toBe(1);
    for (const tab of [a, c1, c2]) expect(counts(tab.live.doc)).toEqual({ open: 7 });
    expect(c1.live.status.get()).toEqual(a.live.status.get());
    expect(c2.live.isLeader.get()).toBe(false);
  });

  it("names its lock and channel after the protocol and tab-protocol versions, so stale tabs never mix", async () => {
    const b = browser();
    const names: string[] = [];
    b.open("A", ana(), {
      channel: (name) => {
        names.push(name);
        return b.hub.factory("A")(name);
      },
    });
    await b.settle();
    expect(names).toEqual([`${NAME}|live-v${PROTOCOL_VERSION}|tabs-v${SHARED_LIVE_VERSION}`]);
    expect(b.locks.holder(names[0] ?? "")).toBe("A");
  });

  it("relays document updates to every tab; a follower's replica never sends anything", async () => {
    const b = browser();
    const a = b.open("A", ana());
    const f = b.open("B", ana());
    await b.settle();
    b.server.change((doc) => doc.getMap("counts").set("open", 1));
    await b.settle();
    expect(counts(f.live.doc)).toEqual({ open: 1 });

    // Someone misuses a follower's replica: nothing of it leaves the tab.
    f.live.doc.getMap("counts").set("evil", 666);
    await b.settle();
    expect(b.hub.log.filter((m) => m.tab === "B" && (m.data as { t: string }).t === "doc")).toEqual([]);
    expect(counts(a.live.doc)).toEqual({ open: 1 });
    expect(counts(b.server.doc)).toEqual({ open: 1 });
  });

  it("publishes every tab's awareness through the leader's socket under each tab's own client id", async () => {
    const b = browser();
    const seenBy = b.observer();
    const a = b.open("A", ana());
    const f1 = b.open("B", ana("t-1"));
    const f2 = b.open("C", ana("t-2"));
    await b.settle();
    const ids = [a, f1, f2].map(clientId);
    for (const id of ids) expect(b.server.awareness.getStates().has(id)).toBe(true);
    expect(b.server.awareness.getStates().get(clientId(f1))).toEqual(ana("t-1"));
    expect(onlineAgents(seenBy.awareness.getStates()).find((agent) => agent.agentId === "agent-ana")?.tabs).toBe(3);
    // Every tab sees every tab, and the other agent.
    for (const tab of [a, f1, f2]) {
      expect(onlineAgents(tab.live.awareness.getStates()).map((agent) => [agent.agentId, agent.tabs])).toEqual([
        ["agent-ana", 3],
        ["agent-ben", 1],
      ]);
    }

    f1.live.patchLocalState({ typing: "t-1" });
    await b.settle();
    expect(seenBy.awareness.getStates().get(clientId(f1))).toEqual({ ...ana("t-1"), typing: "t-1" });
  });

  it("a follower's goodbye (pagehide) removes its state at once", async () => {
    const b = browser();
    const seenBy = b.observer();
    b.open("A", ana());
    const f = b.open("B", ana("t-1"));
    await b.settle();
    expect(seenBy.awareness.getStates().has(clientId(f))).toBe(true);
    f.hide();
    await b.settle();
    expect(seenBy.awareness.getStates().has(clientId(f))).toBe(false);
    expect(b.server.awareness.getStates().has(clientId(f))).toBe(false);

    // Back from the back/forward cache: it rejoins and is published again.
    f.show();
    await b.settle();
    expect(seenBy.awareness.getStates().get(clientId(f))).toEqual(ana("t-1"));
    expect(b.leaders()).toEqual(["A"]);
  });

  it("drops a follower that vanished without a goodbye once it misses its heartbeats", async () => {
    const b = browser();
    const seenBy = b.observer();
    b.open("A", ana());
    const f = b.open("B", ana("t-1"));
    const g = b.open("C", ana("t-2"));
    await b.settle();
    b.crash(f);
    await b.pass(20_000);
    expect(seenBy.awareness.getStates().has(clientId(f))).toBe(true); // not yet: could be a slow tab
    await b.pass(25_000);
    expect(seenBy.awareness.getStates().has(clientId(f))).toBe(false);
    expect(seenBy.awareness.getStates().get(clientId(g))).toEqual(ana("t-2")); // the living one stays
  });

  it("patchLocalState publishes only when a field changes", async () => {
    const b = browser();
    b.open("A", ana());
    const f = b.open("B", ana("t-1"));
    await b.settle();
    const before = b.hub.log.filter((m) => m.tab === "B" && (m.data as { t: string }).t === "announce").length;
    f.live.patchLocalState({ viewing: "t-1" });
    f.live.patchLocalState({ viewing: "t-1" });
    await b.settle();
    expect(b.hub.log.filter((m) => m.tab === "B" && (m.data as { t: string }).t === "announce").length).toBe(before);
    f.live.patchLocalState({ viewing: "t-9" });
    await b.settle();
    expect(b.hub.log.filter((m) => m.tab === "B" && (m.data as { t: string }).t === "announce").length).toBe(before + 1);
  });

  it("passes a follower's reconnectNow and wake signals to the leader", async () => {
    const b = browser();
    const a = b.open("A", ana(), { backoff: { baseMs: 600_000, maxMs: 600_000 } });
    const f = b.open("B", ana(), { backoff: { baseMs: 600_000, maxMs: 600_000 } });
    await b.settle();
    b.server.close(a.ws.last());
    await b.settle();
    expect(f.live.status.get().state).toBe("disconnected");
    f.live.reconnectNow();
    await b.settle();
    expect(a.ws.sockets).toHaveLength(2);
    expect(f.live.status.get()).toMatchObject({ state: "connected", synced: true });

    b.server.close(a.ws.last());
    await b.settle();
    f.wake(); // e.g. the follower's tab became visible
    await b.settle();
    expect(a.ws.sockets).toHaveLength(3);
  });
});

describe("leader handover", () => {
  it("a follower takes over with the replica it has; nothing sent during or after the handover is lost or doubled", async () => {
    const b = browser();
    const seenBy = b.observer();
    const a = b.open("A", ana());
    const f1 = b.open("B", ana("t-1"));
    const f2 = b.open("C", ana("t-2"));
    await b.settle();
    b.server.change((doc) => doc.getMap("counts").set("before", 1));
    await b.settle();

    a.live.destroy(); // the leader's tab closes
    b.server.change((doc) => doc.getMap("counts").set("during", 2)); // nobody listens right now
    await b.settle();

    const [leader] = b.leaders();
    expect(leader === "B" || leader === "C").toBe(true);
    const next = leader === "B" ? f1 : f2;
    const other = leader === "B" ? f2 : f1;
    expect(b.openServerSockets()).toBe(2); // the new leader's and the observer's
    expect(next.ws.sockets).toHaveLength(1);
    expect(other.ws.sockets).toHaveLength(0);

    b.server.change((doc) => doc.getMap("counts").set("after", 3));
    await b.settle();
    for (const tab of [f1, f2]) {
      expect(counts(tab.live.doc)).toEqual({ before: 1, during: 2, after: 3 });
      expect(tab.seen).toEqual(["before", "during", "after"]); // each change exactly once
      expect(tab.live.status.get()).toMatchObject({ state: "connected", synced: true, downSince: null });
    }

    // Awareness: the old leader is gone, both remaining tabs are published by the new socket.
    const states = seenBy.awareness.getStates();
    expect(states.has(clientId(a))).toBe(false);
    expect(states.get(clientId(f1))).toEqual(ana("t-1"));
    expect(states.get(clientId(f2))).toEqual(ana("t-2"));
    expect(onlineAgents(other.live.awareness.getStates()).map((agent) => [agent.agentId, agent.tabs])).toEqual([
      ["agent-ana", 2],
      ["agent-ben", 1],
    ]);
  });

  it("takes over from a crashed leader; when the hub notices the dead socket later, the states it drops are published again", async () => {
    const b = browser();
    const seenBy = b.observer();
    const a = b.open("A", ana());
    const f1 = b.open("B", ana("t-1"));
    const f2 = b.open("C", ana("t-2"));
    await b.settle();

    b.crash(a, { socketClosesNow: false }); // the hub still thinks A's socket is open
    b.server.change((doc) => doc.getMap("counts").set("during", 1));
    await b.settle();
    expect(b.leaders().filter((name) => name !== "A")).toHaveLength(1);

    // The hub's sweep closes A's socket: it removes every state that socket published, the
    // remaining tabs included, and relays the removal.
    b.server.close(a.ws.last(), 1006, "", false);
    await b.settle();
    const states = seenBy.awareness.getStates();
    expect(states.get(clientId(f1))).toEqual(ana("t-1"));
    expect(states.get(clientId(f2))).toEqual(ana("t-2"));
    expect(states.has(clientId(a))).toBe(false);
    for (const tab of [f1, f2]) expect(tab.seen).toEqual(["during"]);
  });

  it("a follower steals the lock from a frozen leader; the leader, thawed, becomes a follower", async () => {
    const b = browser();
    const seenBy = b.observer();
    const a = b.open("A", ana());
    const f = b.open("B", ana("t-1"));
    await b.settle();

    // A's page is frozen: no timers, no messages; its socket dies unnoticed.
    a.timers.freeze();
    b.hub.freezeTab("A");
    b.server.cut(a.ws.last());
    await b.pass(60_000, 5_000);
    expect(b.leaders()).toEqual(["A"]); // throttling-length silence is tolerated
    await b.pass(40_000, 5_000);
    expect(f.live.isLeader.get()).toBe(true);
    expect(f.ws.sockets).toHaveLength(1);
    b.server.change((doc) => doc.getMap("counts").set("x", 1));
    await b.settle();
    expect(counts(f.live.doc)).toEqual({ x: 1 });

    a.timers.thaw();
    b.hub.thawTab("A");
    await b.settle();
    expect(a.live.isLeader.get()).toBe(false);
    expect(a.ws.last().closedByClient).not.toBeNull();
    expect(b.leaders()).toEqual(["B"]);
    expect(counts(a.live.doc)).toEqual({ x: 1 });
    expect(a.live.status.get()).toMatchObject({ state: "connected", synced: true });
    expect(seenBy.awareness.getStates().get(clientId(a))).toEqual(ana());
    await b.pass(KEEPALIVE_INTERVAL_MS * 2, 5_000);
    expect(b.leaders()).toEqual(["B"]); // and it stays that way
  });

  it("a leader leaving by pagehide hands over at once and rejoins as a follower when shown again", async () => {
    const b = browser();
    const a = b.open("A", ana());
    const f = b.open("B", ana("t-1"));
    await b.settle();
    a.hide();
    await b.settle();
    expect(b.leaders()).toEqual(["B"]);
    expect(a.ws.last().closedByClient).not.toBeNull();
    a.show();
    await b.settle();
    expect(b.leaders()).toEqual(["B"]);
    expect(b.server.awareness.getStates().get(clientId(a))).toEqual(ana());
    expect(f.live.status.get()).toMatchObject({ state: "connected", synced: true });
  });

  it("keeps the earliest downSince across a handover", async () => {
    const b = browser();
    const long = { backoff: { baseMs: 600_000, maxMs: 600_000 } };
    const a = b.open("A", ana(), long);
    const f = b.open("B", ana(), long);
    await b.settle();
    b.timers.advance(1_000);
    const down = b.timers.now();
    b.serverUp.value = false;
    b.server.close(a.ws.last());
    await b.settle();
    expect(f.live.status.get().downSince).toBe(down);

    b.timers.advance(3_000);
    a.live.destroy();
    await b.settle();
    expect(f.live.isLeader.get()).toBe(true);
    // Its own connection started later, but for the user the outage began at `down`.
    expect(f.live.status.get()).toMatchObject({ state: "disconnected", downSince: down });

    b.serverUp.value = true;
    f.live.reconnectNow();
    await b.settle();
    expect(f.live.status.get()).toMatchObject({ state: "connected", synced: true, downSince: null });
  });

  it("the other followers re-announce to the new leader and ask it for a snapshot", async () => {
    const b = browser();
    const a = b.open("A", ana());
    b.open("B", ana("t-1"));
    b.open("C", ana("t-2"));
    await b.settle();
    const mark = b.hub.log.length;
    a.live.destroy();
    await b.settle();
    const [leader] = b.leaders();
    const other = leader === "B" ? "C" : "B";
    const after = b.hub.log.slice(mark).filter((m) => m.tab === other).map((m) => (m.data as { t: string }).t);
    expect(after).toContain("announce");
    expect(after).toContain("snapshot-request");
  });

  it("survives the whole machine sleeping: nobody is dropped, nobody steals", async () => {
    const b = browser();
    const seenBy = b.observer();
    b.open("A", ana());
    const f = b.open("B", ana("t-1"));
    await b.settle();
    const removed: number[] = [];
    seenBy.awareness.on("change", ({ removed: gone }: { removed: number[] }) => removed.push(...gone));
    b.timers.sleep(2 * 60 * 60_000);
    await b.pass(20_000);
    expect(b.leaders()).toEqual(["A"]);
    expect(seenBy.awareness.getStates().get(clientId(f))).toEqual(ana("t-1"));
    expect(removed).not.toContain(clientId(f)); // not even briefly
  });
});

describe("hidden tabs (timers throttled to once a minute)", () => {
  /** Runs `minutes` minutes during which `tab`'s timers only run once a minute, late. */
  async function throttled(b: ReturnType<typeof browser>, tab: Tab, minutes: number): Promise<void> {
    for (let minute = 0; minute < minutes; minute++) {
      tab.timers.freeze();
      await b.pass(60_000, 5_000);
      tab.timers.thaw();
      await b.settle();
    }
  }

  it("a throttled leader keeps its followers and still drops a crashed one", async () => {
    const b = browser();
    const seenBy = b.observer();
    const a = b.open("A", ana());
    const live = b.open("B", ana("t-1"));
    const doomed = b.open("C", ana("t-2"));
    await b.settle();
    const removed: number[] = [];
    seenBy.awareness.on("change", ({ removed: gone }: { removed: number[] }) => removed.push(...gone));

    await throttled(b, a, 5);
    expect(removed).toEqual([]);
    b.crash(doomed);
    await throttled(b, a, 3);
    expect(seenBy.awareness.getStates().has(clientId(doomed))).toBe(false);
    expect(seenBy.awareness.getStates().get(clientId(live))).toEqual(ana("t-1"));
    expect(removed).toEqual([clientId(doomed)]);
    expect(b.leaders()).toEqual(["A"]);
  });

  it("a leader back from a gap probes its followers, and they answer at once", async () => {
    const b = browser();
    const a = b.open("A", ana());
    b.open("B", ana("t-1"));
    await b.settle();
    a.timers.freeze();
    await b.pass(60_000, 5_000);
    const mark = b.hub.log.length;
    a.timers.thaw();
    await b.settle();
    const after = b.hub.log.slice(mark).map((m) => `${m.tab}:${(m.data as { t: string }).t}`);
    expect(after.indexOf("A:probe")).toBeGreaterThanOrEqual(0);
    expect(after.indexOf("B:alive")).toBeGreaterThan(after.indexOf("A:probe"));
  });

  it("a throttled follower does not take over from a healthy leader", async () => {
    const b = browser();
    b.open("A", ana());
    const f = b.open("B", ana("t-1"));
    await b.settle();
    await throttled(b, f, 10);
    expect(b.leaders()).toEqual(["A"]);
    expect(b.openServerSockets()).toBe(1);
  });

  it("a follower brought to the foreground checks on a frozen leader and takes over within seconds", async () => {
    const b = browser();
    const a = b.open("A", ana());
    const f = b.open("B", ana("t-1"));
    await b.settle();
    a.timers.freeze();
    b.hub.freezeTab("A");
    b.server.cut(a.ws.last());
    await b.pass(20_000);
    expect(b.leaders()).toEqual(["A"]);
    f.wake(); // the user looks at this tab
    await b.pass(6_000);
    expect(f.live.isLeader.get()).toBe(true);
    expect(f.live.status.get()).toMatchObject({ state: "connected", synced: true });
  });

  it("a follower brought to the foreground leaves a healthy leader alone", async () => {
    const b = browser();
    b.open("A", ana());
    const f = b.open("B", ana("t-1"));
    await b.settle();
    for (let i = 0; i < 5; i++) {
      f.wake();
      await b.pass(6_000);
    }
    expect(b.leaders()).toEqual(["A"]);
  });
});

describe("robustness", () => {
  it("ignores malformed messages and a tab speaking for another tab's client id", async () => {
    const b = browser();
    const seenBy = b.observer();
    const a = b.open("A", ana());
    const f = b.open("B", ana("t-1"));
    await b.settle();
    const rogue = b.hub.factory("rogue")(`${NAME}|live-v${PROTOCOL_VERSION}|tabs-v${SHARED_LIVE_VERSION}`);
    for (const junk of [null, 42, "hi", { t: "doc" }, { t: "doc", from: 1, update: "nope" }, { t: "status", from: 1, status: {} }]) {
      rogue.postMessage(junk);
    }
    const { encodeAwarenessEntries } = await import("./awareness-entries.ts");
    const forged = new Y.Doc();
    forged.getMap("counts").set("forged", 1);
    rogue.postMessage({ t: "doc", from: 123, update: Y.encodeStateAsUpdate(forged) });
    // A snapshot missing its awareness part would otherwise wipe every state of the tab.
    rogue.postMessage({ t: "snapshot", from: 123, to: clientId(f), update: new Uint8Array([0, 0]), status: a.live.status.get() });
    rogue.postMessage({
      t: "announce",
      from: 123,
      update: encodeAwarenessEntries([{ clientId: clientId(f), clock: 999, state: { agentId: "agent-ana", name: "Mallory" } }]),
    });
    await b.settle();
    expect(seenBy.awareness.getStates().get(clientId(f))).toEqual(ana("t-1"));
    expect(b.leaders()).toEqual(["A"]);
    expect(a.live.status.get()).toMatchObject({ state: "connected", synced: true });
    expect(counts(f.live.doc)).toEqual({}); // only the leader's updates count
    expect([...f.live.awareness.getStates().keys()].sort()).toEqual([clientId(a), clientId(f), seenBy.awareness.clientID].sort());
  });

  it("greets a tab it does not know when that tab says it is alive, so it announces itself", async () => {
    const b = browser();
    b.open("A", ana());
    await b.settle();
    const stranger = b.hub.factory("stranger")(`${NAME}|live-v${PROTOCOL_VERSION}|tabs-v${SHARED_LIVE_VERSION}`);
    stranger.postMessage({ t: "alive", from: 4242, leader: false });
    await b.settle();
    expect(b.kinds("A", "leader").map((m) => m.data)).toContainEqual({ t: "leader", from: expect.any(Number), to: 4242 });
    const greetings = b.kinds("A", "leader").length;
    stranger.postMessage({ t: "alive", from: 4242, leader: false });
    await b.settle();
    expect(b.kinds("A", "leader")).toHaveLength(greetings); // once is enough
  });

  it("a follower hidden in the back/forward cache gets what it missed when shown again", async () => {
    const b = browser();
    const benBrowser = b.observer();
    b.open("A", ana());
    const f = b.open("B", ana());
    await b.settle();
    const benId = benBrowser.awareness.clientID;
    expect(f.live.awareness.getStates().has(benId)).toBe(true);
    f.hide();
    b.server.change((doc) => doc.getMap("counts").set("missed", 1));
    benBrowser.destroy(); // Ben leaves meanwhile
    await b.settle();
    expect(counts(f.live.doc)).toEqual({});
    f.show();
    await b.settle();
    expect(counts(f.live.doc)).toEqual({ missed: 1 });
    expect(f.live.awareness.getStates().has(benId)).toBe(false); // the snapshot is the whole truth
  });

  it("a follower frozen long enough to be dropped is published again when it thaws", async () => {
    const b = browser();
    const seenBy = b.observer();
    b.open("A", ana());
    const f = b.open("B", ana("t-1"));
    await b.settle();
    f.timers.freeze();
    b.hub.freezeTab("B");
    await b.pass(45_000, 5_000);
    expect(seenBy.awareness.getStates().has(clientId(f))).toBe(false);
    f.timers.thaw();
    b.hub.thawTab("B");
    await b.pass(10_000, 1_000);
    expect(seenBy.awareness.getStates().get(clientId(f))).toEqual(ana("t-1"));
    expect(b.leaders()).toEqual(["A"]);
  });

  it("runs its own socket, off the channel, when the lock manager refuses it", async () => {
    const b = browser();
    const a = b.open("A", ana());
    await b.settle();
    const f = b.open("B", ana(), {
      locks: { request: () => Promise.reject(new DOMException("no", "NotSupportedError")) },
    });
    await b.settle();
    expect(f.live.isLeader.get()).toBe(true);
    expect(a.live.isLeader.get()).toBe(true);
    expect(f.ws.sockets).toHaveLength(1);
    b.server.change((doc) => doc.getMap("counts").set("open", 1));
    await b.settle();
    expect(f.seen).toEqual(["open"]);
    expect(b.errors).toHaveLength(1);
  });
});

describe("after a terminal stop", () => {
  it("stays stopped by itself, and reconnects when asked from any tab (the user logged in again)", async () => {
    const b = browser();
    let token = "old";
    const url = () => `ws://hub.test/live/inbox?token=${token}`;
    const a = b.open("A", ana(), { url });
    const f = b.open("B", ana(), { url });
    await b.settle();
    b.server.close(a.ws.last(), 4401, "UNAUTHORIZED");
    await b.settle();
    expect(f.live.status.get()).toMatchObject({ state: "stopped", stopReason: "UNAUTHORIZED" });
    await b.pass(5 * 60_000, 10_000);
    expect(a.ws.sockets).toHaveLength(1);

    token = "new";
    f.live.reconnectNow();
    await b.settle();
    expect(a.ws.sockets).toHaveLength(2);
    expect(a.ws.last().url).toContain("token=new");
    expect(f.live.status.get()).toMatchObject({ state: "connected", synced: true, stopReason: null });

    // The same from the leader's own tab.
    b.server.close(a.ws.last(), 4401, "UNAUTHORIZED");
    await b.settle();
    expect(a.live.status.get()).toMatchObject({ state: "stopped", stopReason: "UNAUTHORIZED" });
    a.live.reconnectNow();
    await b.settle();
    expect(a.ws.sockets).toHaveLength(3);
    expect(a.live.status.get()).toMatchObject({ state: "connected", synced: true });
  });

  it("reports a broken update from the leader tab instead of throwing", async () => {
    const b = browser();
    const a = b.open("A", ana());
    const f = b.open("B", ana());
    await b.settle();
    const leaderChannel = b.hub.factory("A-impostor")(`${NAME}|live-v${PROTOCOL_VERSION}|tabs-v${SHARED_LIVE_VERSION}`);
    leaderChannel.postMessage({ t: "doc", from: clientId(a), update: new Uint8Array([255, 255, 255, 1, 2]) });
    await b.settle();
    expect(b.errors.length).toBeGreaterThan(0);
    expect(f.live.status.get()).toMatchObject({ state: "connected" });
  });
});

describe("fallback", () => {
  it("without Web Locks or BroadcastChannel every tab runs its own socket", async () => {
    const b = browser();
    const a = b.open("A", ana(), { locks: null });
    const f = b.open("B", ana(), { channel: null });
    await b.settle();
    expect(a.live.isLeader.get()).toBe(true);
    expect(f.live.isLeader.get()).toBe(true);
    expect(b.tabSockets()).toBe(2);
    b.server.change((doc) => doc.getMap("counts").set("open", 1));
    await b.settle();
    expect(counts(f.live.doc)).toEqual({ open: 1 });
  });
});
