// What the Worker and other Durable Objects exchange with a TicketRoom over RPC.

export interface TicketRef {
  accountId: string;
  ticketId: string;
}

export type RoomFailureCode = "NOT_FOUND" | "CONFLICT" | "UNAVAILABLE";

export type RoomResult<T> = { ok: true; value: T } | { ok: false; code: RoomFailureCode; message: string };

/** One message of the bulk API, as the Worker hands it to the room. */
export interface AgentMessageInput {
  id: string;
  body: string;
  isInternalNote: boolean;
}

/** The room's name: one room per ticket per account. */
export function roomName(ref: TicketRef): string {
  return `${ref.accountId}:${ref.ticketId}`;
}

/** One change within a report: what the hub needs for notifications (no message bodies). */
export interface ReportedChange {
  version: number;
  /** Who made it; null for changes recorded before actors were. */
  actor: { kind: "agent" | "customer" | "rule" | "system"; id: string | null } | null;
  /** The message this change added, if any. */
  message: { id: string; authorKind: string; isInternalNote: boolean } | null;
  /** The ticket's assignee after this change. */
  assigneeId: string | null;
}

/** A report to the AccountHub, sent once a change is on the shard. */
export interface TicketChangeReport<Ticket> {
  ticketId: string;
  version: number;
  /** The ticket before the first change reported, null when the report includes creation. */
  before: Ticket | null;
  after: Ticket;
  /** The reported changes, oldest first (versions before.version + 1 … version). */
  changes: ReportedChange[];
}
