import { Hono } from "hono";
import { z } from "zod";
import { checkClientVersion } from "../../protocol/index.ts";
import { IDENTITY_HEADER } from "../auth/identity.ts";
import { verifySession } from "../auth/tokens.ts";
import type { Env } from "../env.ts";
import { ApiError } from "../http/errors.ts";
import { ticketRoom } from "../tickets/rooms.ts";
import { refuseSocket } from "./refuse-socket.ts";

const TicketId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/**
 * `GET /live/tickets/<ticketId>?v=<protocol version>&token=<session token>[&ka=1]` → the
 * ticket's room and its live document. The account comes from the token, so another
 * account's ticket id names a room of the caller's own account that holds nothing: the
 * same NOT_FOUND close as an unknown ticket.
 */
export const ticketLiveRoutes = new Hono<{ Bindings: Env }>().get("/:ticketId", async (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "UPGRADE_REQUIRED", "this endpoint only speaks WebSocket");
  }
  const version = checkClientVersion(c.req.query("v"));
  if (version !== "ok") return refuseSocket(version);
  const secret = c.env.AUTH_SECRET;
  const identity = secret ? await verifySession(c.req.query("token") ?? "", secret) : null;
  if (!identity) return refuseSocket("UNAUTHORIZED");
  const ticketId = TicketId.safeParse(c.req.param("ticketId"));
  if (!ticketId.success) return refuseSocket("NOT_FOUND");
  const headers = new Headers(c.req.raw.headers);
  headers.set(IDENTITY_HEADER, JSON.stringify(identity));
  return ticketRoom(c.env, { accountId: identity.accountId, ticketId: ticketId.data }).fetch(new Request(c.req.raw.url, { headers }));
});
