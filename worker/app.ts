import { Hono } from "hono";
import { authRoutes, meRoutes } from "./auth/routes.ts";
import type { Env } from "./env.ts";
import { healthRoutes } from "./health.ts";
import { errorBody, handleError } from "./http/errors.ts";
import { liveRoutes } from "./live/routes.ts";
import { macroApplyRoutes, macroRoutes } from "./macros/routes.ts";
import { ruleRoutes } from "./rules/routes.ts";
import { ticketWriteRoutes } from "./tickets/write-routes.ts";

export const app = new Hono<{ Bindings: Env }>()
  .route("/health", healthRoutes)
  .route("/api/auth", authRoutes)
  .route("/api/me", meRoutes)
  .route("/api/tickets", ticketWriteRoutes)
  .route("/api/tickets", macroApplyRoutes)
  .route("/api/macros", macroRoutes)
  .route("/api/rules", ruleRoutes)
  .route("/live", liveRoutes)
  .all("/api/*", (c) => c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`), 404))
  // Everything else is the built client (wrangler.toml [assets]).
  .all("*", (c) => c.env.ASSETS.fetch(c.req.raw))
  .onError(handleError);
