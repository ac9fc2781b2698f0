import { Hono } from "hono";
import { agentRoutes, meLiveRoutes, routingSettingsRoutes } from "./agents/routes.ts";
import { authRoutes, meRoutes } from "./auth/routes.ts";
import { channelRoutes, devMailboxRoutes } from "./channels/routes.ts";
import { customerRoutes } from "./customers/routes.ts";
import type { Env } from "./env.ts";
import { healthRoutes } from "./health.ts";
import { errorBody, handleError } from "./http/errors.ts";
import { presenceRoutes } from "./live/presence-routes.ts";
import { liveRoutes } from "./live/routes.ts";
import { ticketLiveRoutes } from "./live/ticket-routes.ts";
import { macroApplyRoutes, macroRoutes } from "./macros/routes.ts";
import { ruleRoutes } from "./rules/routes.ts";
import { tagRoutes } from "./tags/routes.ts";
import { ticketBulkRoutes } from "./tickets/bulk-routes.ts";
import { ticketReadRoutes } from "./tickets/read-routes.ts";
import { ticketWriteRoutes } from "./tickets/write-routes.ts";
import { viewRoutes } from "./views/routes.ts";

// Reads (lists, search, timelines) go straight to the account's shard; every ticket
// mutation goes through the ticket's room (worker/tickets/write-routes.ts).
export const app = new Hono<{ Bindings: Env }>()
  .route("/health", healthRoutes)
  .route("/api/auth", authRoutes)
  .route("/api/me", meRoutes)
  .route("/api/me", meLiveRoutes)
  .route("/api/agents", agentRoutes)
  .route("/api/settings", routingSettingsRoutes)
  .route("/api/live", presenceRoutes)
  .route("/api/tickets", ticketReadRoutes)
  .route("/api/tickets", ticketWriteRoutes)
  .route("/api/tickets", ticketBulkRoutes)
  .route("/api/tickets", macroApplyRoutes)
  .route("/api/customers", customerRoutes)
  .route("/api/views", viewRoutes)
  .route("/api/tags", tagRoutes)
  .route("/api/macros", macroRoutes)
  .route("/api/rules", ruleRoutes)
  .route("/webhooks", channelRoutes)
  .route("/dev", devMailboxRoutes)
  .route("/live/tickets", ticketLiveRoutes)
  .route("/live", liveRoutes)
  .all("/api/*", (c) => c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`), 404))
  .all("/webhooks/*", (c) => c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`), 404))
  // Everything else is the built client (wrangler.toml [assets]).
  .all("*", (c) => c.env.ASSETS.fetch(c.req.raw))
  .onError(handleError);
