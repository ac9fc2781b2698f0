import { describe, expect, it } from "vitest";
import { addKeysDelta, countAll, countDelta, countEntry, countKeysOf, viewsCountClosed, windowExpiry, type CountedTicket, type CountedView } from "./view-counts.ts";

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;

const views: CountedView[] = [
  { id: "open", name: "Open", position: 0, filter: { status: ["open"] }, ownerAgentId: null },
  { id: "mine", name: "Mine", position: 1, filter: { status: ["open", "pending"], assignee: "me" }, ownerAgentId: null },
  { id: "unassigned", name: "Unassigned", position: 2, filter: { status: ["open"], assignee: "unassigned" }, ownerAgentId: null },
  { id: "vip", name: "VIP", position: 3, filter: { tagIds: ["tag_vip"] }, ownerAgentId: "agt_ana" },
  { id: "fresh", name: "Fresh", position: 4, filter: { createdWithinHours: 2 }, ownerAgentId: null },
];

function ticket(patch: Partial<CountedTicket> = {}): CountedTicket {
  return {
    status: "open",
    priority: "normal",
    channel: "email",
    assigneeId: null,
    teamId: null,
    aiState: "none",
    createdAt: NOW - 10 * HOUR,
    updatedAt: NOW - HOUR,
    tagIds: [],
    ...patch,
  };
}

describe("countKeysOf", () => {
  it("counts shared views once and 'assigned to me' views under the assignee", () => {
    expect(countKeysOf(views, ticket(), NOW)).toEqual(["open", "unassigned"]);
    expect(countKeysOf(views, ticket({ assigneeId: "agt_ben", status: "pending" }), NOW)).toEqual(["mine@agt_ben"]);
  });

  it("counts a private view for its owner's eyes only, and time windows against now", () => {
    expect(countKeysOf(views, ticket({ tagIds: ["tag_vip"], status: "closed", createdAt: NOW - HOUR }), NOW)).toEqual(["vip", "fresh"]);
    const privateMine: CountedView = { id: "pm", name: "PM", position: 5, filter: { assignee: "me" }, ownerAgentId: "agt_ana" };
    expect(countKeysOf([privateMine], ticket({ assigneeId: "agt_ben" }), NOW)).toEqual([]);
    expect(countKeysOf([privateMine], ticket({ assigneeId: "agt_ana" }), NOW)).toEqual(["pm@agt_ana"]);
  });
});

describe("countDelta", () => {
  it("moves a ticket between views and agents", () => {
    const before = ticket();
    const after = ticket({ assigneeId: "agt_ana" });
    expect(Object.fromEntries(countDelta(views, before, after, NOW))).toEqual({ unassigned: -1, "mine@agt_ana": 1 });
    expect(Object.fromEntries(countDelta(views, after, ticket({ assigneeId: "agt_ben" }), NOW))).toEqual({ "mine@agt_ana": -1, "mine@agt_ben": 1 });
  });

  it("is empty for a change no view cares about, and counts a new ticket from nothing", () => {
    expect(countDelta(views, ticket(), ticket({ priority: "high" }), NOW).size).toBe(0);
    expect(Object.fromEntries(countDelta(views, null, ticket({ createdAt: NOW }), NOW))).toEqual({ open: 1, unassigned: 1, fresh: 1 });
  });

  it("agrees with a full count however the tickets get there", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const tickets = new Map<number, CountedTicket>();
    const running = new Map<string, number>();
    for (let step = 0; step < 2_000; step++) {
      const id = Math.floor(random() * 60);
      const next = random() < 0.05 ? null : ticket({
        status: pick(["open", "pending", "snoozed", "closed"] as const),
        assigneeId: pick([null, "agt_ana", "agt_ben"]),
        tagIds: random() < 0.3 ? ["tag_vip"] : [],
        createdAt: NOW - Math.floor(random() * 4) * HOUR,
      });
      for (const [key, by] of countDelta(views, tickets.get(id) ?? null, next, NOW)) running.set(key, (running.get(key) ?? 0) + by);
      if (next) tickets.set(id, next);
      else tickets.delete(id);
    }
    const nonZero = [...running].filter(([, n]) => n !== 0);
    expect(Object.fromEntries(nonZero)).toEqual(Object.fromEntries(countAll(views, tickets.values(), NOW)));
  });
});

describe("windowExpiry", () => {
  it("is the moment the ticket leaves its earliest-ending window, or null without one", () => {
    expect(windowExpiry(views, ticket({ createdAt: NOW - HOUR }), NOW)).toBe(NOW + HOUR + 1);
    expect(windowExpiry(views, ticket({ createdAt: NOW - 3 * HOUR }), NOW)).toBeNull();
    expect(windowExpiry(views.slice(0, 4), ticket({ createdAt: NOW }), NOW)).toBeNull();
  });
});

describe("countEntry", () => {
  const openOnly = views.filter((view) => view.filter.status !== undefined && !view.filter.status.includes("closed"));

  it("keeps a closed ticket's details only while some view can count closed tickets", () => {
    expect(viewsCountClosed(views)).toBe(true); // "vip" and "fresh" have no status filter
    expect(viewsCountClosed(openOnly)).toBe(false);
    expect(countEntry(openOnly, ticket({ status: "closed" }), NOW)).toEqual({ keys: [], windowExit: null, keepDetails: false });
    const closedVip = countEntry(views, ticket({ status: "closed", tagIds: ["tag_vip"], createdAt: NOW - HOUR }), NOW);
    expect(closedVip).toEqual({ keys: ["vip", "fresh"], windowExit: NOW + HOUR + 1, keepDetails: true });
  });

  it("gives the keys and the window exit of an open ticket", () => {
    expect(countEntry(openOnly, ticket({ assigneeId: "agt_ana" }), NOW)).toEqual({ keys: ["open", "mine@agt_ana"], windowExit: null, keepDetails: true });
  });
});

describe("addKeysDelta", () => {
  it("moves counts from the keys a ticket held to the keys it holds, and accumulates over tickets", () => {
    const delta = new Map<string, number>();
    addKeysDelta(delta, ["open", "fresh"], ["open", "vip"]);
    addKeysDelta(delta, [], ["vip"]);
    expect(Object.fromEntries(delta)).toEqual({ fresh: -1, vip: 2 });
  });
});
