import { Hono } from "hono";
import { limitBody } from "../http/body-limit.ts";
import { emailWebhook } from "./email.ts";
import { smsWebhook } from "./sms.ts";
import { requireWebhookSecret, type WebhookEnv } from "./webhook-auth.ts";

export { devMailboxRoutes } from "./mailbox-page.ts";

/** Largest inbound webhook body; larger ones get 413. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/**
 * Inbound channel webhooks, mounted at `/webhooks`:
 *   POST /webhooks/:accountId/email  JSON (see email.ts)
 *   POST /webhooks/:accountId/sms    form-encoded, Twilio-style (see sms.ts)
 * The secret is checked before the body is read, so an unauthenticated sender gets 401
 * whatever it sends; then bodies over 1 MB get 413.
 */
export const channelRoutes = new Hono<WebhookEnv>()
  .use("/:accountId/*", requireWebhookSecret)
  .use("/:accountId/*", limitBody(MAX_WEBHOOK_BODY_BYTES))
  .route("/", emailWebhook)
  .route("/", smsWebhook);
