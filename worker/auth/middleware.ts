import { createMiddleware } from "hono/factory";
import type { Env } from "../env.ts";
import { ApiError } from "../http/errors.ts";
import type { AgentIdentity } from "./identity.ts";
import { verifySession } from "./tokens.ts";

export type AuthedEnv = { Bindings: Env; Variables: { agent: AgentIdentity } };

export function authSecret(env: Env): string {
  if (!env.AUTH_SECRET || env.AUTH_SECRET.length < 16) {
    throw new ApiError(500, "MISCONFIGURED", "AUTH_SECRET is not set (or shorter than 16 characters)");
  }
  return env.AUTH_SECRET;
}

/** Requires `Authorization: Bearer <session token>`; puts the identity in `c.var.agent`. */
export const requireAgent = createMiddleware<AuthedEnv>(async (c, next) => {
  const header = c.req.header("Authorization") ?? "";
  const token = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : "";
  const agent = token ? await verifySession(token, authSecret(c.env)) : null;
  if (!agent) throw new ApiError(401, "UNAUTHORIZED", "a valid session token is required");
  c.set("agent", agent);
  await next();
});

/** After requireAgent: only admins pass (configuration that changes what everyone sees). */
export const requireAdmin = createMiddleware<AuthedEnv>(async (c, next) => {
  if (c.var.agent.role !== "admin") throw new ApiError(403, "FORBIDDEN", "only admins can change this");
  await next();
});
