import type { TicketRef } from "../../durable-objects/ticket-room/room-api.ts";
import type { NewMessageInput, TicketRecord } from "../../durable-objects/ticket-room/ticket-record.ts";
import type { Shard } from "../../schema/shards.ts";
import type { TicketChannel } from "../../schema/tables.ts";
import { derivedId } from "../customers/find-or-create.ts";
import type { Env } from "../env.ts";
import { ticketRoom, unwrap } from "../tickets/rooms.ts";

// What inbound channels (email, SMS) share: de-duplication, the reopen window, and handing
// a customer's message to the right ticket room.
//
// De-duplication. Providers re-deliver webhooks (timeouts, retries), so an inbound message
// gets an id derived from the account, the channel and the provider's id for it (Message-ID,
// MessageSid): a re-delivery writes the same message id, and the room's flush
// (`ON CONFLICT (id) DO NOTHING`) makes a second copy harmless on the shard. Before any
// write, a message already on the shard answers "duplicate"; before adding to a room that
// still has unflushed changes, the room is flushed and the shard asked again, and the room
// itself answers "duplicate" for a message id it already wrote, so a copy still waiting in
// that room's outbox is caught too. A new ticket's id is derived as well
// (see the channels), so two deliveries racing to open the same ticket meet in one room and
// the second gets CONFLICT.

/** A reply to a ticket closed longer ago than this opens a new ticket instead of reopening it. */
export const REOPEN_WINDOW_DAYS = 30;
export const REOPEN_WINDOW_MS = REOPEN_WINDOW_DAYS * 24 * 60 * 60 * 1000;

/** Whether a new customer message belongs in this ticket (it reopens it if closed recently). */
export function shouldThread(ticket: Pick<TicketRecord, "status" | "closedAt">, now: number): boolean {
  if (ticket.status !== "closed") return true;
  if (ticket.closedAt === null) return true;
  return now - ticket.closedAt <= REOPEN_WINDOW_MS;
}

/** The message id an inbound message gets, derived from its source id (see above). */
export function inboundMessageId(accountId: string, channel: TicketChannel, externalId: string): Promise<string> {
  return derivedId("message", accountId, channel, externalId);
}

export type InboundOutcome =
  | { duplicate: true; ticketId: string }
  | { duplicate: false; ticketId: string; messageId: string; threaded: boolean };

/** The ticket of a message already on the shard (by our id or the source's), or null. */
export async function storedMessageTicket(
  shard: Shard,
  accountId: string,
  channel: TicketChannel,
  messageId: string,
  externalId: string,
): Promise<string | null> {
  const found = await shard.client.execute({
    sql: `SELECT ticket_id FROM messages
          WHERE account_id = ? AND (id = ? OR (external_id = ? AND channel = ?))
          LIMIT 1`,
    args: [accountId, messageId, externalId, channel],
  });
  const row = found.rows[0];
  return row ? String(row.ticket_id) : null;
}

export interface InboundMessage {
  accountId: string;
  channel: TicketChannel;
  customerId: string;
  /** Derived with inboundMessageId. */
  messageId: string;
  externalId: string;
  body: string;
}

function messageInput(message: InboundMessage): NewMessageInput {
  return {
    id: message.messageId,
    authorKind: "customer",
    authorId: message.customerId,
    body: message.body,
    channel: message.channel,
    externalId: message.externalId,
  };
}

/**
 * Adds the message to an existing ticket if the reopen window allows (the room reopens a
 * pending, snoozed or closed ticket by itself). Null when the ticket is missing or closed
 * too long ago: the caller opens a new ticket.
 */
export async function threadInto(env: Env, shard: Shard, ticketId: string, message: InboundMessage, now = Date.now()): Promise<InboundOutcome | null> {
  const ref: TicketRef = { accountId: message.accountId, ticketId };
  const room = ticketRoom(env, ref);
  const current = await room.ticket(ref);
  if (!current.ok && current.code === "NOT_FOUND") return null;
  const ticket = unwrap(current);
  if (!shouldThread(ticket, now)) return null;
  if ((await room.pendingChanges()) > 0) {
    // A copy of this message may be waiting in the outbox: land it, then look again.
    await room.flush();
    const stored = await storedMessageTicket(shard, message.accountId, message.channel, message.messageId, message.externalId);
    if (stored) return { duplicate: true, ticketId: stored };
  }
  const added = unwrap(await room.addMessage(ref, messageInput(message), { kind: "customer", id: message.customerId }));
  if (added.duplicate) return { duplicate: true, ticketId };
  return { duplicate: false, ticketId, messageId: message.messageId, threaded: true };
}

/**
 * Opens a ticket with the message as its first one. Null when a ticket with this id
 * already exists (a re-delivery or a concurrent delivery got there first).
 */
export async function openTicket(env: Env, ticketId: string, subject: string, message: InboundMessage): Promise<InboundOutcome | null> {
  const room = ticketRoom(env, { accountId: message.accountId, ticketId });
  const result = await room.create(
    { id: ticketId, accountId: message.accountId, customerId: message.customerId, channel: message.channel, subject },
    messageInput(message),
    { kind: "customer", id: message.customerId },
  );
  if (!result.ok && result.code === "CONFLICT") return null;
  unwrap(result);
  return { duplicate: false, ticketId, messageId: message.messageId, threaded: false };
}

/** The HTTP answer for an outcome: 201 with ids, or 200 `{ duplicate: true, ticketId }`. */
export function outcomeBody(outcome: InboundOutcome) {
  return outcome.duplicate
    ? { status: 200 as const, body: { duplicate: true, ticketId: outcome.ticketId } }
    : { status: 201 as const, body: { ticketId: outcome.ticketId, messageId: outcome.messageId, threaded: outcome.threaded } };
}

/** Longest message body stored from an inbound channel; longer ones are cut, not refused. */
export const MAX_INBOUND_BODY_CHARS = 100_000;

export function capBody(body: string): string {
  return body.length <= MAX_INBOUND_BODY_CHARS ? body : `${body.slice(0, MAX_INBOUND_BODY_CHARS)}\n[… message truncated]`;
}
