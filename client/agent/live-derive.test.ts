import { describe, expect, it } from "vitest";
import type { AgentPresence, InboxAgent, InboxNotification, InboxView } from "../../protocol/index.ts";
import { notificationText, onlineTeammates, pageTitle, sidebarViews, ticketActivity, unreadCount } from "./live-derive.ts";

const agent = (name: string): InboxAgent => ({ name, role: "agent", idleAwayMinutes: 10, followedViewIds: [], capacity: { chat: 3, other: 5 } });
const presence = (patch: Partial<AgentPresence>): AgentPresence => ({ online: true, status: "available", idle: false, since: 0, ...patch });

describe("sidebarViews", () => {
  it("lists shared views and the agent's own, in order, each with this agent's count", () => {
    const views = new Map<string, InboxView>([
      ["mine", { name: "Mine", position: 1, ownerAgentId: null, perAgent: true }],
      ["open", { name: "Open", position: 0, ownerAgentId: null, perAgent: false }],
      ["bens", { name: "Ben's", position: 2, ownerAgentId: "agt_ben", perAgent: false }],
      ["anas", { name: "Ana's", position: 3, ownerAgentId: "agt_ana", perAgent: false }],
    ]);
    const counts = new Map([["open", 7], ["mine@agt_ana", 2], ["mine@agt_ben", 9], ["bens", 4]]);
    expect(sidebarViews(views, counts, "agt_ana").map((v) => [v.id, v.count])).toEqual([
      ["open", 7],
      ["mine", 2],
      ["anas", 0],
    ]);
  });
});

describe("ticketActivity", () => {
  it("names other agents once per ticket, however many tabs, and never me", () => {
    const states = new Map<number, unknown>([
      [1, { agentId: "agt_ben", name: "Ben", viewing: "tkt_1" }],
      [2, { agentId: "agt_ben", name: "Ben", viewing: "tkt_1", typing: "tkt_1" }],
      [3, { agentId: "agt_cy", name: "Cy", viewing: "tkt_1" }],
      [4, { agentId: "agt_ana", name: "Ana", viewing: "tkt_2", typing: "tkt_2" }],
      [5, {}],
    ]);
    const activity = ticketActivity(states, "agt_ana");
    expect(Object.fromEntries(activity)).toEqual({ tkt_1: { viewing: ["agt_ben", "agt_cy"], typing: ["agt_ben"] } });
  });
});

describe("onlineTeammates", () => {
  it("shows online agents once with their effective availability", () => {
    const agents = new Map([["a", agent("Ana")], ["b", agent("Ben")], ["c", agent("Cy")]]);
    const states = new Map([["a", presence({ idle: true })], ["b", presence({ status: "busy" })], ["c", presence({ online: false })]]);
    expect(onlineTeammates(agents, states)).toEqual([
      { agentId: "a", name: "Ana", availability: "away" },
      { agentId: "b", name: "Ben", availability: "busy" },
    ]);
  });
});

describe("notifications", () => {
  const note = (seq: number, kind: InboxNotification["kind"] = "assigned"): InboxNotification => ({ seq, kind, ticketId: "t", subject: "Parcel", viewId: kind === "new_ticket" ? "v" : null, at: 0 });

  it("counts unread after the read mark and puts the count first in the title", () => {
    expect(unreadCount([note(1), note(2), note(3)], 1)).toBe(2);
    expect(pageTitle(2)).toBe("(2) Helpdesk");
    expect(pageTitle(0)).toBe("Helpdesk");
  });

  it("says what happened", () => {
    expect(notificationText(note(1, "new_ticket"), () => "Urgent")).toBe("New ticket in Urgent: Parcel");
    expect(notificationText(note(1, "customer_reply"), () => undefined)).toBe("Customer replied: Parcel");
  });
});
