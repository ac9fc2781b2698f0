import { Hono } from "hono";
import { z } from "zod";
import type { Shard } from "../../schema/shards.ts";
import { derivedId, findOrCreateCustomer } from "../customers/find-or-create.ts";
import type { Env } from "../env.ts";
import { ApiError } from "../http/errors.ts";
import { ticketRoom } from "../tickets/rooms.ts";
import { validate } from "../http/validate.ts";
import { htmlToText, messageIdList, normalizeMessageId, parseAddress, splitAddressList } from "./email-text.ts";
import {
  capBody,
  inboundMessageId,
  openTicket,
  outcomeBody,
  storedMessageTicket,
  threadInto,
  type InboundMessage,
  type InboundOutcome,
} from "./inbound.ts";
import type { WebhookEnv } from "./webhook-auth.ts";

// `POST /webhooks/:accountId/email`: an inbound email, as JSON, from the account's mail
// provider (or forwarding service). A reply (In-Reply-To / References naming a message of
// one of the account's tickets) goes into that ticket, unless it was closed more than
// REOPEN_WINDOW_DAYS ago; anything else opens a new email ticket for the sender.
//
// Answers: 201 `{ ticketId, messageId, threaded }`; 200 `{ duplicate: true, ticketId }`
// for a Message-ID the account already has; 400 with field errors; 415 for non-JSON.

/** How many References are looked up (the most recent ones; a long thread lists them all). */
const MAX_REFERENCES = 20;

const Address = z.string().max(512).refine((value) => parseAddress(value) !== null, { message: "expected an email address, optionally as \"Name <address>\"" });
const AddressList = z
  .union([z.string().max(4000), z.array(z.string().max(512)).min(1).max(100)])
  .refine((value) => {
    const entries = typeof value === "string" ? splitAddressList(value) : value;
    return entries.length > 0 && entries.every((entry) => parseAddress(entry) !== null);
  }, { message: "expected one or more email addresses" });
const MessageId = z.string().max(998).refine((value) => normalizeMessageId(value) !== null, { message: "expected a Message-ID such as <id@host>" });

export const InboundEmail = z
  .object({
    from: Address,
    to: AddressList,
    subject: z.string().max(2000),
    text: z.string().optional(),
    html: z.string().optional(),
    messageId: MessageId,
    inReplyTo: z.string().max(2000).nullable().optional(),
    references: z.union([z.string().max(100_000), z.array(z.string().max(998)).max(1000)]).nullable().optional(),
  })
  .refine((email) => Boolean(email.text?.trim()) || Boolean(email.html?.trim()), {
    message: "an email needs a text or an html body",
    path: ["text"],
  });

export type InboundEmail = z.infer<typeof InboundEmail>;

/** The message body: the text part, else the html part as text. */
export function emailBody(email: Pick<InboundEmail, "text" | "html">): string {
  const text = email.text?.trim();
  if (text) return capBody(text.replace(/\r\n?/g, "\n"));
  return capBody(htmlToText(email.html ?? "") || "(empty message)");
}

/** The account's message ids this email replies to, most relevant first: In-Reply-To, then References newest first. */
export function threadCandidates(email: Pick<InboundEmail, "inReplyTo" | "references">): string[] {
  const candidates = messageIdList(email.inReplyTo);
  for (const id of messageIdList(email.references).slice(-MAX_REFERENCES).reverse()) {
    if (!candidates.includes(id)) candidates.push(id);
  }
  return candidates;
}

/**
 * The ticket holding the first candidate found among the account's messages: by the
 * source Message-ID stored in external_id, or by our own message id when an outbound email
 * carried it as its Message-ID (`<msg_…@…>`).
 */
async function repliedTicket(shard: Shard, accountId: string, candidates: readonly string[]): Promise<string | null> {
  if (candidates.length === 0) return null;
  const ownIds = candidates.map((id) => /^<(msg_[a-z0-9]{8,64})@/.exec(id)?.[1]).filter((id): id is string => id !== undefined);
  const marks = (list: readonly string[]) => list.map(() => "?").join(", ");
  const found = await shard.client.execute({
    sql: `SELECT id, ticket_id, external_id FROM messages
          WHERE account_id = ? AND (external_id IN (${marks(candidates)})${ownIds.length ? ` OR id IN (${marks(ownIds)})` : ""})`,
    args: [accountId, ...candidates, ...ownIds],
  });
  for (const candidate of candidates) {
    const own = /^<(msg_[a-z0-9]{8,64})@/.exec(candidate)?.[1];
    const row = found.rows.find((r) => r.external_id === candidate || (own !== undefined && r.id === own));
    if (row) return String(row.ticket_id);
  }
  return null;
}

/** How many replied-to ids may be looked for in rooms whose first email is not on the shard yet. */
const MAX_UNFLUSHED_CANDIDATES = 3;

/**
 * A ticket opened moments ago by one of the replied-to emails, still in its room's outbox
 * (not on the shard yet): such a ticket's id is derived from that email's Message-ID, so its
 * room can be asked directly. Without this a quick follow-up ("forgot the attachment") would
 * open a second ticket.
 */
async function unflushedRepliedTicket(env: Env, accountId: string, candidates: readonly string[]): Promise<string | null> {
  for (const candidate of candidates.slice(0, MAX_UNFLUSHED_CANDIDATES)) {
    const ticketId = await derivedId("ticket", accountId, "email", candidate);
    const found = await ticketRoom(env, { accountId, ticketId }).ticket({ accountId, ticketId });
    if (found.ok) return ticketId;
  }
  return null;
}

function requireJson(contentType: string | undefined): void {
  const media = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (!/^application\/([\w.-]+\+)?json$/.test(media)) {
    throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "send the email as application/json");
  }
}

export const emailWebhook = new Hono<WebhookEnv>().post(
  "/:accountId/email",
  async (c, next) => {
    requireJson(c.req.header("Content-Type"));
    await next();
  },
  validate("json", InboundEmail),
  async (c) => {
    const accountId = c.var.webhookAccountId;
    const shard = c.var.webhookShard;
    const email = c.req.valid("json");
    const externalId = normalizeMessageId(email.messageId)!;
    const from = parseAddress(email.from)!;
    const messageId = await inboundMessageId(accountId, "email", externalId);

    const stored = await storedMessageTicket(shard, accountId, "email", messageId, externalId);
    let outcome: InboundOutcome | null = stored ? { duplicate: true, ticketId: stored } : null;
    if (!outcome) {
      const customer = await findOrCreateCustomer(shard, accountId, from.address, from.name ?? undefined);
      const message: InboundMessage = { accountId, channel: "email", customerId: customer.id, messageId, externalId, body: emailBody(email) };
      const candidates = threadCandidates(email);
      const replied = (await repliedTicket(shard, accountId, candidates)) ?? (await unflushedRepliedTicket(c.env, accountId, candidates));
      if (replied) outcome = await threadInto(c.env, shard, replied, message);
      if (!outcome) {
        // One ticket per original email: a re-delivery meets this ticket's room and gets CONFLICT.
        const ticketId = await derivedId("ticket", accountId, "email", externalId);
        const subject = email.subject.replace(/[\u0000-\u001f\u007f]+/g, " ").trim().slice(0, 500) || "(no subject)";
        outcome = (await openTicket(c.env, ticketId, subject, message)) ?? { duplicate: true, ticketId };
      }
    }
    const { status, body } = outcomeBody(outcome);
    return c.json(body, status);
  },
);
