import { Hono } from "hono";
import { requireAgent, type AuthedEnv } from "../auth/middleware.ts";
import { accountHub } from "./hub.ts";

/**
 * `GET /api/live/presence`: every agent of the caller's account with their presence and how
 * many live sockets they hold (one per browser when tabs share a leader). For the team board
 * and for checking that many tabs cost one socket.
 */
export const presenceRoutes = new Hono<AuthedEnv>().get("/presence", requireAgent, async (c) => {
  return c.json({ agents: await accountHub(c.env, c.var.agent.accountId).presenceSnapshot() });
});
