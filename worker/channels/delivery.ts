import { and, eq } from "drizzle-orm";
import type { OutboundDeliveryRequest } from "../../durable-objects/ticket-room/room-store.ts";
import type { TicketRecord } from "../../durable-objects/ticket-room/ticket-record.ts";
import type { Shard } from "../../schema/shards.ts";
import { newId, outboundDeliveries, type OutboundDelivery, type TicketChannel } from "../../schema/tables.ts";
import type { Env } from "../env.ts";
import { ApiError } from "../http/errors.ts";

// Outbound replies (email, SMS) and the providers that send them.
//
// The path of an agent's reply on an email or SMS ticket:
//   1. the reply route hands the message to the ticket's room (`room.addAgentMessages`),
//      which builds the delivery request from the ticket it holds (`replyDeliveryFor`);
//   2. the room commits message and delivery in one outbox entry, and its flush inserts
//      the `outbound_deliveries` row (status "queued"), idempotently by message id, so a
//      retried flush never sends twice;
//   3. the room keeps the delivery in its own storage (committed with the message) until
//      the shard records its outcome: once the flush has landed it hands the row to the
//      provider and records "sent", retries a failure from its alarm with backoff, and
//      after a bounded time records "failed" and adds an internal note to the thread
//      (`durable-objects/ticket-room/deliveries.ts`).
//
// Providers. Locally there is no real provider: `DevMailboxProvider` ("dev-mailbox")
// treats the `outbound_deliveries` row itself as the mailbox, which the developer opens at
// /dev/mailbox (see mailbox-page.ts); sending succeeds without network. A real provider
// (an HTTP email API such as Postmark/SES/Mailgun, or Twilio's Messages API for SMS)
// implements `DeliveryProvider` (POST the row's to/subject/body with `fetch`, map 429/5xx
// to `{ ok: false, retryable: true }` and 4xx to `retryable: false`), is registered in
// `PROVIDERS` below, and is chosen with the DELIVERY_PROVIDER variable; its credentials go
// in Worker secrets. An email provider should send from the account's support address
// (`account_settings.support_email`) with `Message-ID: <${delivery.messageId}@<its domain>>`:
// the inbound email webhook threads a customer's answer by that id even when their mail
// client drops the References of the original conversation.

export type SendResult = { ok: true } | { ok: false; retryable: boolean; error: string };

export interface DeliveryProvider {
  readonly name: string;
  /**
   * Sends one delivery. `delivery.id` is its idempotency key: a provider passes it upstream
   * (an `Idempotency-Key` header, a message id) so that a send repeated after a crash
   * between the send and the room recording it reaches the customer once.
   */
  send(delivery: OutboundDelivery): Promise<SendResult>;
}

export const DEV_MAILBOX_PROVIDER = "dev-mailbox";

/** The local default: the `outbound_deliveries` row written by the room's flush is the mailbox. */
export class DevMailboxProvider implements DeliveryProvider {
  readonly name = DEV_MAILBOX_PROVIDER;

  async send(_delivery: OutboundDelivery): Promise<SendResult> {
    return { ok: true };
  }
}

const PROVIDERS: Record<string, () => DeliveryProvider> = {
  [DEV_MAILBOX_PROVIDER]: () => new DevMailboxProvider(),
};

/** The provider DELIVERY_PROVIDER names (default "dev-mailbox"); an unknown name is a configuration error. */
export function deliveryProviderFor(env: Pick<Env, "DELIVERY_PROVIDER">): DeliveryProvider {
  const name = env.DELIVERY_PROVIDER?.trim() || DEV_MAILBOX_PROVIDER;
  const make = PROVIDERS[name];
  if (!make) {
    throw new ApiError(500, "MISCONFIGURED", `DELIVERY_PROVIDER ${JSON.stringify(name)} is not a known provider (${Object.keys(PROVIDERS).join(", ")})`);
  }
  return make();
}

/** What the room needs to record a delivery (the room fills in the message id). */
export type DeliveryRequest = Omit<OutboundDeliveryRequest, "messageId">;

/** "Re: <subject>", without stacking "Re: Re:". */
export function replySubject(subject: string): string {
  // One line: a subject becomes a mail header.
  const trimmed = subject.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  if (trimmed === "") return "Re: your message";
  return /^re:/i.test(trimmed) ? trimmed : `Re: ${trimmed}`;
}

/**
 * The delivery of a reply on a ticket of this channel: email to the customer's email
 * ("Re: <ticket subject>"), SMS to their phone; null for chat and API tickets (the reply
 * reaches the customer through the widget or the API) and when the customer has no address
 * for the channel.
 */
export function deliveryFor(
  channel: TicketChannel,
  customer: { email: string | null; phone: string | null } | null,
  subject: string,
  body: string,
  provider: string = DEV_MAILBOX_PROVIDER,
): DeliveryRequest | null {
  const id = `dlv_${newId("message").slice("msg_".length)}`;
  if (channel === "email" && customer?.email) {
    return { id, channel, toAddress: customer.email, subject: replySubject(subject), body, provider };
  }
  if (channel === "sms" && customer?.phone) {
    return { id, channel, toAddress: customer.phone, subject: null, body, provider };
  }
  return null;
}

/**
 * The delivery for an agent's public reply on this ticket; null when the channel delivers
 * nothing. The address is left for the room's flush to take from the customer row, so a
 * reply is accepted even while the shard is unreachable.
 */
export function replyDeliveryFor(
  ticket: Pick<TicketRecord, "channel" | "customerId" | "subject">,
  body: string,
  provider: string,
): DeliveryRequest | null {
  if (ticket.channel !== "email" && ticket.channel !== "sms") return null;
  return {
    id: `dlv_${newId("message").slice("msg_".length)}`,
    channel: ticket.channel,
    toAddress: null,
    customerId: ticket.customerId,
    subject: ticket.channel === "email" ? replySubject(ticket.subject) : null,
    body,
    provider,
  };
}

/** A delivery's row while it is still queued; null when there is none (the customer had no address) or it is settled. */
export async function queuedDelivery(shard: Shard, accountId: string, id: string): Promise<OutboundDelivery | null> {
  const rows = await shard.db
    .select()
    .from(outboundDeliveries)
    .where(and(eq(outboundDeliveries.accountId, accountId), eq(outboundDeliveries.id, id), eq(outboundDeliveries.status, "queued")))
    .limit(1);
  return rows[0] ?? null;
}

/** Records a delivery's outcome; only a queued row changes, so a repeat is harmless. */
export async function recordDeliveryOutcome(shard: Shard, accountId: string, id: string, status: "sent" | "failed"): Promise<void> {
  await shard.db
    .update(outboundDeliveries)
    .set({ status })
    .where(and(eq(outboundDeliveries.accountId, accountId), eq(outboundDeliveries.id, id), eq(outboundDeliveries.status, "queued")));
}
