import { env } from "cloudflare:test";
import { Hono } from "hono";
import { roomName } from "../../durable-objects/ticket-room/room-api.ts";
import { channelRoutes, devMailboxRoutes } from "../channels/routes.ts";
import type { Env } from "../env.ts";
import { handleError } from "../http/errors.ts";
import { ticketWriteRoutes } from "../tickets/write-routes.ts";

// The channel routes mounted as the lead mounts them in app.ts, plus the ticket write
// routes (agent replies), so channel tests do not depend on app.ts.
export const channelsApp = new Hono<{ Bindings: Env }>()
  .route("/webhooks", channelRoutes)
  .route("/dev", devMailboxRoutes)
  .route("/api/tickets", ticketWriteRoutes)
  .onError(handleError);

/** A request to the channels app with the test bindings (plus any overrides). */
export function channelsRequest(path: string, init: RequestInit = {}, overrides: Partial<Env> = {}): Promise<Response> {
  return Promise.resolve(channelsApp.request(`http://hub.test${path}`, init, { ...env, ...overrides }));
}

/** The seeded accounts' webhook secrets (dev/seed.ts; that module is Node-only, so restated here). */
export const DEMO_WEBHOOK_SECRET = "demo-webhook-secret-local-only";
export const OTHER_WEBHOOK_SECRET = "other-webhook-secret-local-only";

/** A unique token for this test run (Message-IDs, MessageSids, addresses). */
export function unique(prefix = "t"): string {
  return `${prefix}${crypto.randomUUID().replaceAll("-", "")}`;
}

export function postEmail(payload: unknown, options: { accountId?: string; secret?: string | null; headers?: Record<string, string> } = {}) {
  const secret = options.secret === undefined ? DEMO_WEBHOOK_SECRET : options.secret;
  return channelsRequest(`/webhooks/${options.accountId ?? "acc_demo"}/email`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(secret === null ? {} : { Authorization: `Bearer ${secret}` }),
      ...options.headers,
    },
    body: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
}

export function postSms(
  fields: Record<string, string> | string,
  options: { accountId?: string; secret?: string | null; contentType?: string; headers?: Record<string, string> } = {},
) {
  const secret = options.secret === undefined ? DEMO_WEBHOOK_SECRET : options.secret;
  return channelsRequest(`/webhooks/${options.accountId ?? "acc_demo"}/sms`, {
    method: "POST",
    headers: {
      "Content-Type": options.contentType ?? "application/x-www-form-urlencoded",
      ...(secret === null ? {} : { Authorization: `Bearer ${secret}` }),
      ...options.headers,
    },
    body: typeof fields === "string" ? fields : new URLSearchParams(fields).toString(),
  });
}

export function ticketRoomStub(accountId: string, ticketId: string) {
  return env.TICKET_ROOM.get(env.TICKET_ROOM.idFromName(roomName({ accountId, ticketId })));
}

/** Flushes a ticket's room and fails unless its outbox is empty afterwards. */
export async function flushRoom(accountId: string, ticketId: string): Promise<void> {
  const stub = ticketRoomStub(accountId, ticketId);
  await stub.flush();
  const pending = await stub.pendingChanges();
  if (pending !== 0) throw new Error(`room ${ticketId} still has ${pending} unflushed changes`);
}

export interface InboundAnswer {
  ticketId: string;
  messageId?: string;
  threaded?: boolean;
  duplicate?: boolean;
}
