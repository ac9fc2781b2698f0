import type { Context } from "hono";
import { checkClientVersion } from "../../protocol/index.ts";
import { IDENTITY_HEADER, type AgentIdentity } from "../auth/identity.ts";
import { verifySession } from "../auth/tokens.ts";
import type { Env } from "../env.ts";
import { ApiError } from "../http/errors.ts";
import { refuseSocket } from "./refuse-socket.ts";

/**
 * What every live socket checks before it reaches a Durable Object: a WebSocket upgrade
 * (426 otherwise), the protocol version (`?v=`) and the session token (`?token=`). Either
 * the verified identity or the socket refusal to answer with.
 */
export async function socketIdentity(c: Context<{ Bindings: Env }>): Promise<{ identity: AgentIdentity } | { refusal: Response }> {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "UPGRADE_REQUIRED", "this endpoint only speaks WebSocket");
  }
  const version = checkClientVersion(c.req.query("v"));
  if (version !== "ok") return { refusal: refuseSocket(version) };
  const secret = c.env.AUTH_SECRET;
  const identity = secret ? await verifySession(c.req.query("token") ?? "", secret) : null;
  if (!identity) return { refusal: refuseSocket("UNAUTHORIZED") };
  return { identity };
}

/** The upgrade request as a Durable Object receives it: with the verified identity in a header. */
export function withIdentity(request: Request, identity: AgentIdentity): Request {
  const headers = new Headers(request.headers);
  headers.set(IDENTITY_HEADER, JSON.stringify(identity));
  return new Request(request.url, { headers });
}
