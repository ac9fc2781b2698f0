import { DurableObject } from "cloudflare:workers";
import type { Env } from "../worker/env.ts";

/**
 * One per ticket (`idFromName(accountId:ticketId)`): the single writer of its ticket and
 * the home of its live documents. Its features (thread, draft, outbox to the shard, chat,
 * AI Agent) arrive with the tickets issue; until then it only answers that it exists.
 */
export class TicketRoom extends DurableObject<Env> {
  override async fetch(): Promise<Response> {
    return Response.json({ error: { code: "NOT_IMPLEMENTED", message: "ticket rooms are not open yet" } }, { status: 501 });
  }
}
