import { describe, expect, it } from "vitest";
import { assignmentSettled, planAssignments, servingOrder, type RoutableAgent, type SentAssignment, type WaitingTicket } from "./assignment.ts";

function agent(agentId: string, patch: Partial<RoutableAgent> = {}): RoutableAgent {
  return { agentId, teamIds: new Set(["team_support"]), capacity: { chat: 3, other: 5 }, open: { chat: 0, other: 0 }, lastAssignedAt: 0, ...patch };
}

function waiting(id: string, patch: Partial<WaitingTicket> = {}): WaitingTicket {
  return { id, teamId: "team_support", channel: "email", priority: "normal", createdAt: 1_000, ...patch };
}

describe("servingOrder", () => {
  it("serves higher priority first, then the oldest", () => {
    const order = servingOrder([
      waiting("old-low", { priority: "low", createdAt: 1 }),
      waiting("new-urgent", { priority: "urgent", createdAt: 9 }),
      waiting("old-normal", { createdAt: 2 }),
      waiting("new-normal", { createdAt: 5 }),
    ]);
    expect(order.map((t) => t.id)).toEqual(["new-urgent", "old-normal", "new-normal", "old-low"]);
  });
});

describe("planAssignments", () => {
  it("gives each ticket to the team member with the fewest open tickets, never past capacity", () => {
    const agents = [agent("agt_a", { open: { chat: 0, other: 2 } }), agent("agt_b"), agent("agt_c", { teamIds: new Set(["team_sales"]) })];
    const tickets = Array.from({ length: 50 }, (_, i) => waiting(`t${String(i).padStart(2, "0")}`, { createdAt: i, channel: i % 2 ? "chat" : "email" }));
    const plan = planAssignments(tickets, agents, 10_000);
    const perAgent = (id: string) => plan.filter((p) => p.agentId === id).map((p) => p.ticketId);
    // Each ticket at most once, nobody over 3 chats / 5 others, the other team's agent untouched.
    expect(new Set(plan.map((p) => p.ticketId)).size).toBe(plan.length);
    expect(perAgent("agt_c")).toEqual([]);
    expect(agents[0]!.open).toEqual({ chat: 3, other: 5 });
    expect(agents[1]!.open).toEqual({ chat: 3, other: 5 });
    expect(plan).toHaveLength(3 + (5 - 2) + 3 + 5);
    // The oldest tickets were served first.
    expect(plan.map((p) => p.ticketId)).toEqual([...plan.map((p) => p.ticketId)].sort());
    // The less loaded agent got the first ticket.
    expect(plan[0]).toEqual({ ticketId: "t00", agentId: "agt_b" });
  });

  it("assigns nothing when nobody eligible is left, and alternates between equally loaded agents", () => {
    expect(planAssignments([waiting("t1")], [agent("agt_a", { capacity: { chat: 3, other: 0 } })], 0)).toEqual([]);
    const plan = planAssignments([waiting("t1"), waiting("t2", { createdAt: 2_000 })], [agent("agt_a"), agent("agt_b")], 0);
    expect(plan.map((p) => p.agentId)).toEqual(["agt_a", "agt_b"]);
  });
});

describe("assignmentSettled", () => {
  const sent: SentAssignment = { agentId: "agt_a", kind: "chat", sentAtVersion: 4 };

  it("waits while the index holds the version the assignment was sent at, or a newer one still waiting", () => {
    expect(assignmentSettled(sent, { version: 4, status: "open", assigneeId: null })).toBe(false);
    // An earlier change (a message) reported after the assignment was sent.
    expect(assignmentSettled(sent, { version: 5, status: "open", assigneeId: null }, [{ version: 5, assigneeId: null }])).toBe(false);
  });

  it("ends once the index shows a newer version that no longer waits, however it learnt it", () => {
    expect(assignmentSettled(sent, { version: 5, status: "open", assigneeId: "agt_a" })).toBe(true);
    expect(assignmentSettled(sent, { version: 6, status: "closed", assigneeId: null })).toBe(true);
    expect(assignmentSettled(sent, null)).toBe(true);
  });

  it("ends when the reported changes show the assignment, even if it was undone in the same report", () => {
    const changes = [
      { version: 5, assigneeId: "agt_a" },
      { version: 6, assigneeId: null },
    ];
    expect(assignmentSettled(sent, { version: 6, status: "open", assigneeId: null }, changes)).toBe(true);
    // The same agent holding it before the assignment was sent says nothing.
    expect(assignmentSettled(sent, { version: 6, status: "open", assigneeId: null }, [{ version: 3, assigneeId: "agt_a" }])).toBe(false);
  });
});
