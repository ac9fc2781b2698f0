import { Hono, type Context } from "hono";
import { checkClientVersion } from "../../protocol/index.ts";
import { IDENTITY_HEADER } from "../auth/identity.ts";
import { verifySession } from "../auth/tokens.ts";
import type { Env } from "../env.ts";
import { ApiError } from "../http/errors.ts";
import { accountHub } from "./hub.ts";
import { refuseSocket } from "./refuse-socket.ts";

/**
 * `GET /live/inbox?v=<protocol version>&token=<session token>[&account=<id>]` → the
 * caller's AccountHub; `GET /live/agent?…` (same parameters) → the caller's own document
 * in it (their private views). The account and the agent always come from the token; an
 * `account` that names another one is refused rather than silently ignored.
 */
async function toHub(c: Context<{ Bindings: Env }>): Promise<Response> {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "UPGRADE_REQUIRED", "this endpoint only speaks WebSocket");
  }
  const version = checkClientVersion(c.req.query("v"));
  if (version !== "ok") return refuseSocket(version);
  const secret = c.env.AUTH_SECRET;
  const identity = secret ? await verifySession(c.req.query("token") ?? "", secret) : null;
  if (!identity) return refuseSocket("UNAUTHORIZED");
  const account = c.req.query("account");
  if (account !== undefined && account !== identity.accountId) return refuseSocket("FORBIDDEN");

  const hub = accountHub(c.env, identity.accountId);
  const headers = new Headers(c.req.raw.headers);
  headers.set(IDENTITY_HEADER, JSON.stringify(identity));
  return hub.fetch(new Request(c.req.raw.url, { headers }));
}

export const liveRoutes = new Hono<{ Bindings: Env }>().get("/inbox", toHub).get("/agent", toHub);
