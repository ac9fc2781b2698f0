import { Hono } from "hono";
import { z } from "zod";
import type { Env } from "../env.ts";
import { ticketRoom } from "../tickets/rooms.ts";
import { refuseSocket } from "./refuse-socket.ts";
import { socketIdentity, withIdentity } from "./socket-auth.ts";

const TicketId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/**
 * `GET /live/tickets/<ticketId>?v=<protocol version>&token=<session token>[&ka=1]` → the
 * ticket's room and its live document. The account comes from the token, so another
 * account's ticket id names a room of the caller's own account that holds nothing: the
 * same NOT_FOUND close as an unknown ticket.
 */
export const ticketLiveRoutes = new Hono<{ Bindings: Env }>().get("/:ticketId", async (c) => {
  const checked = await socketIdentity(c);
  if ("refusal" in checked) return checked.refusal;
  const { identity } = checked;
  const ticketId = TicketId.safeParse(c.req.param("ticketId"));
  if (!ticketId.success) return refuseSocket("NOT_FOUND");
  return ticketRoom(c.env, { accountId: identity.accountId, ticketId: ticketId.data }).fetch(withIdentity(c.req.raw, identity));
});
