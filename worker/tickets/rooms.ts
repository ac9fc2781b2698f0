import type { RoomResult, TicketRef } from "../../durable-objects/ticket-room/room-api.ts";
import type { TicketRecord } from "../../durable-objects/ticket-room/ticket-record.ts";
import { roomName } from "../../durable-objects/ticket-room/room-api.ts";
import type { Env } from "../env.ts";
import { ApiError } from "../http/errors.ts";

export function ticketRoom(env: Env, ref: TicketRef) {
  return env.TICKET_ROOM.get(env.TICKET_ROOM.idFromName(roomName(ref)));
}

/** A room's answer as the HTTP status the caller should see. */
export function unwrap<T>(result: RoomResult<T>): T {
  if (result.ok) return result.value;
  const status = { NOT_FOUND: 404, CONFLICT: 409, UNAVAILABLE: 503 } as const;
  throw new ApiError(status[result.code], result.code, result.message);
}

/** A room's ticket as API responses show it (the room's message counter is internal). */
export function publicTicket(ticket: TicketRecord): Omit<TicketRecord, "messageCount"> {
  const { messageCount: _messageCount, ...rest } = ticket;
  return rest;
}
