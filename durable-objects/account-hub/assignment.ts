import type { TicketChannel, TicketPriority } from "../../schema/tables.ts";

// Auto-assignment decisions, pure: which waiting ticket goes to which agent. The hub runs
// the plan one decision at a time (serialised), so two tickets can never take the same
// free slot.
//
// - Waiting: open, routed to a team, no assignee. Higher priority first, then the oldest.
// - Eligible: a member of the ticket's team who is online, available (not busy, away or
//   idle) and under capacity for the ticket's kind (chat, or everything else).
// - Chosen: the eligible agent with the fewest open tickets; ties go to the one who has
//   waited longest since their last auto-assignment, then by id (deterministic).

export type CapacityKind = "chat" | "other";

export function capacityKind(channel: TicketChannel): CapacityKind {
  return channel === "chat" ? "chat" : "other";
}

export interface WaitingTicket {
  id: string;
  teamId: string;
  channel: TicketChannel;
  priority: TicketPriority;
  createdAt: number;
}

export interface RoutableAgent {
  agentId: string;
  teamIds: ReadonlySet<string>;
  capacity: Readonly<Record<CapacityKind, number>>;
  /** Open tickets assigned now (including assignments still on their way). */
  open: Record<CapacityKind, number>;
  /** When auto-assignment last gave this agent a ticket (0: never). */
  lastAssignedAt: number;
}

export interface Assignment {
  ticketId: string;
  agentId: string;
}

const PRIORITY_RANK: Record<TicketPriority, number> = { urgent: 3, high: 2, normal: 1, low: 0 };

/** Waiting tickets in the order they are served. */
export function servingOrder(tickets: readonly WaitingTicket[]): WaitingTicket[] {
  return [...tickets].sort(
    (a, b) => PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority] || a.createdAt - b.createdAt || a.id.localeCompare(b.id),
  );
}

/** The agent the next ticket should go to, or null if nobody can take it now. */
export function chooseAgent(ticket: WaitingTicket, agents: readonly RoutableAgent[]): RoutableAgent | null {
  const kind = capacityKind(ticket.channel);
  let best: RoutableAgent | null = null;
  for (const agent of agents) {
    if (!agent.teamIds.has(ticket.teamId) || agent.open[kind] >= agent.capacity[kind]) continue;
    if (best === null || isBetter(agent, best)) best = agent;
  }
  return best;
}

function isBetter(a: RoutableAgent, b: RoutableAgent): boolean {
  const loadA = a.open.chat + a.open.other;
  const loadB = b.open.chat + b.open.other;
  if (loadA !== loadB) return loadA < loadB;
  if (a.lastAssignedAt !== b.lastAssignedAt) return a.lastAssignedAt < b.lastAssignedAt;
  return a.agentId < b.agentId;
}

/**
 * Every assignment that can be made now, in serving order, counting each decision against
 * the chosen agent before the next (the `agents` passed in are updated).
 */
export function planAssignments(tickets: readonly WaitingTicket[], agents: RoutableAgent[], now: number): Assignment[] {
  const plan: Assignment[] = [];
  for (const ticket of servingOrder(tickets)) {
    const agent = chooseAgent(ticket, agents);
    if (!agent) continue;
    agent.open[capacityKind(ticket.channel)] += 1;
    // Later decisions of one plan count as later, so ties rotate through the team.
    agent.lastAssignedAt = now + plan.length;
    plan.push({ ticketId: ticket.id, agentId: agent.agentId });
  }
  return plan;
}

/**
 * An assignment the room took whose report the hub has not applied yet. It counts against
 * the agent's capacity (and keeps the ticket out of the queue) until the hub's index shows
 * it, by whatever path the index learns it: a report, a late or skipped report, the check
 * against the shard.
 */
export interface SentAssignment {
  agentId: string;
  kind: CapacityKind;
  /** The index's version of the ticket when the assignment was sent. */
  sentAtVersion: number;
}

/** What the index holds of a ticket, as far as a sent assignment is concerned. */
export interface IndexedState {
  version: number;
  status: string;
  assigneeId: string | null;
}

/**
 * Whether the index has caught up with a sent assignment: it holds a newer version than when
 * the assignment was sent, and that version no longer waits (assigned, closed) or the
 * reported changes since show the assignment (it may have been undone in the same report).
 * A ticket gone from the index waits for nobody.
 */
export function assignmentSettled(
  sent: SentAssignment,
  indexed: IndexedState | null,
  changes: readonly { version: number; assigneeId: string | null }[] = [],
): boolean {
  if (indexed === null) return true;
  if (indexed.version <= sent.sentAtVersion) return false;
  if (indexed.status !== "open" || indexed.assigneeId !== null) return true;
  return changes.some((change) => change.version > sent.sentAtVersion && change.assigneeId === sent.agentId);
}
