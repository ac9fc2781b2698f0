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

/** A report to the AccountHub, sent once a change is on the shard. */
export interface TicketChangeReport<Ticket> {
  ticketId: string;
  version: number;
  /** The ticket before the first change reported, null when the report includes creation. */
  before: Ticket | null;
  after: Ticket;
}
