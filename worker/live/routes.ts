import { Hono, type Context } from "hono";
import type { Env } from "../env.ts";
import { accountHub } from "./hub.ts";
import { refuseSocket } from "./refuse-socket.ts";
import { socketIdentity, withIdentity } from "./socket-auth.ts";

/**
 * `GET /live/inbox?v=<protocol version>&token=<session token>[&account=<id>]` → the
 * caller's AccountHub; `GET /live/agent?…` (same parameters) → the caller's own document
 * in it (their private views). The account and the agent always come from the token; an
 * `account` that names another one is refused rather than silently ignored.
 */
async function toHub(c: Context<{ Bindings: Env }>): Promise<Response> {
  const checked = await socketIdentity(c);
  if ("refusal" in checked) return checked.refusal;
  const { identity } = checked;
  const account = c.req.query("account");
  if (account !== undefined && account !== identity.accountId) return refuseSocket("FORBIDDEN");
  return accountHub(c.env, identity.accountId).fetch(withIdentity(c.req.raw, identity));
}

export const liveRoutes = new Hono<{ Bindings: Env }>().get("/inbox", toHub).get("/agent", toHub);
