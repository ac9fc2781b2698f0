import type { AccountHub } from "../durable-objects/account-hub/account-hub.ts";
import type { AccountWriter } from "../durable-objects/account-writer.ts";
import type { TicketRoom } from "../durable-objects/ticket-room/ticket-room.ts";

/** Every binding the Worker and its Durable Objects see, typed in one place. */
export interface Env {
  ACCOUNT_HUB: DurableObjectNamespace<AccountHub>;
  TICKET_ROOM: DurableObjectNamespace<TicketRoom>;
  ACCOUNT_WRITER: DurableObjectNamespace<AccountWriter>;
  ASSETS: Fetcher;
  /** Comma-separated libSQL URLs, shard 0 first (shard 0 also holds the directory). */
  SHARD_URLS: string;
  /** Comma-separated auth tokens in the order of SHARD_URLS (a secret in production). */
  SHARD_TOKENS?: string;
  /** Signs session tokens (a secret in production; `npm start` passes a local one). */
  AUTH_SECRET?: string;
  /** "on" serves the dev mailbox page at /dev/mailbox (local only; never in production). */
  DEV_MAILBOX?: string;
  /** Which provider sends outbound email/SMS (worker/channels/delivery.ts); default "dev-mailbox". */
  DELIVERY_PROVIDER?: string;
}
