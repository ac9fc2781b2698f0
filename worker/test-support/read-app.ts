import { Hono } from "hono";
import { customerRoutes } from "../customers/routes.ts";
import type { Env } from "../env.ts";
import { handleError } from "../http/errors.ts";
import { tagRoutes } from "../tags/routes.ts";
import { ticketReadRoutes } from "../tickets/read-routes.ts";
import { viewRoutes } from "../views/routes.ts";

/** The read-side routes mounted as the lead mounts them in app.ts, for tests (`readApp.request(url, init, env)`). */
export const readApp = new Hono<{ Bindings: Env }>()
  .route("/api/tickets", ticketReadRoutes)
  .route("/api/customers", customerRoutes)
  .route("/api/views", viewRoutes)
  .route("/api/tags", tagRoutes)
  .onError(handleError);
