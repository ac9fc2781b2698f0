import { Hono } from "hono";
import { z } from "zod";
import type { Shard } from "../../schema/shards.ts";
import { derivedId, E164, findOrCreateCustomerByPhone, normalizePhone } from "../customers/find-or-create.ts";
import { ApiError, validationFailed } from "../http/errors.ts";
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

// `POST /webhooks/:accountId/sms`: an inbound text, form-encoded with Twilio's field names
// (From, To, Body, MessageSid, NumMedia, MediaUrl0…; other fields are ignored). It goes
// into the sender's most recently opened SMS ticket unless that one was closed more than
// REOPEN_WINDOW_DAYS ago; otherwise it opens a new SMS ticket.
//
// A new ticket's id is derived from the customer and the ticket it follows (the newest SMS
// ticket on the shard, or none), so texts that race to open a conversation (a customer
// sending three in a row) all meet in one room: the first creates it, the others get
// CONFLICT and are added to it.
//
// Answers: 201 `{ ticketId, messageId, threaded }`; 200 `{ duplicate: true, ticketId }` for
// a MessageSid the account already has; 400 with field errors; 415 unless form-encoded.
// (Twilio accepts any 2xx; it only reads the body when it is TwiML.)

const MAX_MEDIA = 10;
const SUBJECT_CHARS = 60;

const MediaUrl = z.url({ protocol: /^https?$/ }).max(2000);

const Phone = z
  .string()
  .max(32)
  .refine((value) => E164.test(normalizePhone(value)), { message: "expected a phone number in E.164 form, e.g. +14155550100" });

export const InboundSms = z
  .object({
    From: Phone,
    To: Phone,
    Body: z.string().max(10_000).default(""),
    MessageSid: z.string().regex(/^[A-Za-z0-9]{10,64}$/, { message: "expected a provider message id (letters and digits)" }),
    NumMedia: z.coerce.number().int().min(0).max(MAX_MEDIA).default(0),
  })
  // Twilio sends many more fields (SmsSid, FromCity, MediaUrl0…); keep them for smsBody.
  .loose()
  .refine((sms) => sms.Body.trim().length > 0 || sms.NumMedia > 0, { message: "a text needs a body or media", path: ["Body"] });

export type InboundSms = z.infer<typeof InboundSms>;

/** The message body: the text, then one line per attachment. */
export function smsBody(sms: InboundSms): string {
  const lines = sms.Body.trim() ? [sms.Body.trim().replace(/\r\n?/g, "\n")] : [];
  const fields: Record<string, unknown> = sms;
  for (let i = 0; i < sms.NumMedia; i++) {
    const url = MediaUrl.safeParse(fields[`MediaUrl${i}`]);
    lines.push(url.success ? `[attachment: ${url.data}]` : "[attachment]");
  }
  return capBody(lines.join("\n"));
}

/** "First ~60 characters of the body", cut at a word where possible. */
export function smsSubject(body: string, from: string): string {
  const flat = body.replace(/\s+/g, " ").trim();
  if (!flat || flat.startsWith("[attachment")) return `Text message from ${from}`;
  if (flat.length <= SUBJECT_CHARS) return flat;
  const cut = flat.slice(0, SUBJECT_CHARS);
  const space = cut.lastIndexOf(" ");
  return `${(space > SUBJECT_CHARS / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** The customer's most recently opened SMS ticket on the shard. */
async function latestSmsTicket(shard: Shard, accountId: string, customerId: string): Promise<string | null> {
  const found = await shard.client.execute({
    sql: `SELECT id FROM tickets WHERE account_id = ? AND customer_id = ? AND channel = 'sms'
          ORDER BY created_at DESC, id DESC LIMIT 1`,
    args: [accountId, customerId],
  });
  const row = found.rows[0];
  return row ? String(row.id) : null;
}

/** The form's fields (the first value of each), or a 415 / 400. */
async function readForm(contentType: string | undefined, body: () => Promise<ArrayBuffer>): Promise<Record<string, string>> {
  const media = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (media !== "application/x-www-form-urlencoded") {
    throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "send the text as application/x-www-form-urlencoded (Twilio's format)");
  }
  const fields: Record<string, string> = Object.create(null);
  for (const [key, value] of new URLSearchParams(new TextDecoder().decode(await body()))) {
    if (!(key in fields)) fields[key] = value;
  }
  return fields;
}

export const smsWebhook = new Hono<WebhookEnv>().post("/:accountId/sms", async (c) => {
  const accountId = c.var.webhookAccountId;
  const shard = c.var.webhookShard;
  const parsed = InboundSms.safeParse(await readForm(c.req.header("Content-Type"), () => c.req.arrayBuffer()));
  if (!parsed.success) return validationFailed(parsed.error, c);
  const sms = parsed.data;
  const externalId = sms.MessageSid;
  const messageId = await inboundMessageId(accountId, "sms", externalId);

  const stored = await storedMessageTicket(shard, accountId, "sms", messageId, externalId);
  let outcome: InboundOutcome | null = stored ? { duplicate: true, ticketId: stored } : null;
  if (!outcome) {
    const customer = await findOrCreateCustomerByPhone(shard, accountId, sms.From);
    const body = smsBody(sms);
    const message: InboundMessage = { accountId, channel: "sms", customerId: customer.id, messageId, externalId, body };
    const latest = await latestSmsTicket(shard, accountId, customer.id);
    if (latest) outcome = await threadInto(c.env, shard, latest, message);
    if (!outcome) {
      const ticketId = await derivedId("ticket", accountId, "sms", customer.id, latest ?? "first");
      outcome =
        (await openTicket(c.env, ticketId, smsSubject(body, normalizePhone(sms.From)), message)) ??
        // Someone opened this conversation a moment ago: join it.
        (await threadInto(c.env, shard, ticketId, message));
      if (!outcome) throw new ApiError(409, "CONFLICT", "the conversation changed while this text arrived; send it again");
    }
  }
  const { status, body } = outcomeBody(outcome);
  return c.json(body, status);
});
