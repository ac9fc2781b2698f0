import { Hono } from "hono";
import type { Env } from "../env.ts";
import { ApiError } from "../http/errors.ts";
import { shardsOf } from "../shards.ts";

// `GET /dev/mailbox`: the local stand-in for a real email/SMS provider. Every outbound
// delivery is an `outbound_deliveries` row (written by the ticket room's flush); this page
// lists the newest ones across all configured shards so a developer can read what
// customers would have received. Only served when DEV_MAILBOX is "on" (never set it in
// production: the page shows every account's deliveries and has no login).

export const MAILBOX_LIMIT = 200;
const ACCOUNT_FILTER = /^[A-Za-z0-9_-]{1,64}$/;

export interface MailboxEntry {
  id: string;
  accountId: string;
  ticketId: string;
  messageId: string;
  channel: string;
  toAddress: string;
  subject: string | null;
  body: string;
  provider: string;
  status: string;
  createdAt: number;
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** The newest deliveries across shards (one account's if given); shards that fail are named. */
export async function latestDeliveries(env: Env, accountId: string | null, limit = MAILBOX_LIMIT) {
  const shards = shardsOf(env);
  const results = await Promise.allSettled(
    shards.map((shard) =>
      shard.client.execute({
        sql: `SELECT id, account_id, ticket_id, message_id, channel, to_address, subject, body, provider, status, created_at
              FROM outbound_deliveries ${accountId ? "WHERE account_id = ?" : ""}
              ORDER BY created_at DESC, id DESC LIMIT ?`,
        args: accountId ? [accountId, limit] : [limit],
      }),
    ),
  );
  const entries: MailboxEntry[] = [];
  const failedShards: number[] = [];
  results.forEach((result, index) => {
    if (result.status === "rejected") {
      console.warn(`dev mailbox: shard ${index} did not answer`, String(result.reason));
      failedShards.push(index);
      return;
    }
    for (const row of result.value.rows) {
      entries.push({
        id: String(row.id),
        accountId: String(row.account_id),
        ticketId: String(row.ticket_id),
        messageId: String(row.message_id),
        channel: String(row.channel),
        toAddress: String(row.to_address),
        subject: row.subject === null ? null : String(row.subject),
        body: String(row.body),
        provider: String(row.provider),
        status: String(row.status),
        createdAt: Number(row.created_at),
      });
    }
  });
  entries.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return { entries: entries.slice(0, limit), failedShards };
}

export function renderMailbox(entries: readonly MailboxEntry[], options: { accountId: string | null; failedShards: readonly number[] }): string {
  const e = escapeHtml;
  const rows = entries
    .map(
      (entry) => `<article class="delivery">
  <header>
    <span class="channel ${e(entry.channel)}">${e(entry.channel)}</span>
    <strong class="to">${e(entry.toAddress)}</strong>
    <time datetime="${e(new Date(entry.createdAt).toISOString())}">${e(new Date(entry.createdAt).toISOString().replace("T", " ").slice(0, 19))} UTC</time>
  </header>
  ${entry.subject !== null ? `<h2 class="subject">${e(entry.subject)}</h2>` : ""}
  <pre class="body">${e(entry.body)}</pre>
  <footer>account <a href="?account=${encodeURIComponent(entry.accountId)}">${e(entry.accountId)}</a> · ticket <code>${e(entry.ticketId)}</code> · message <code>${e(entry.messageId)}</code> · ${e(entry.provider)} · ${e(entry.status)}</footer>
</article>`,
    )
    .join("\n");
  const title = options.accountId ? `Dev mailbox — ${options.accountId}` : "Dev mailbox";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; color: #1d2430; background: #f6f7f9; }
  h1 { font-size: 1.3rem; } form { margin: 0 0 1rem; }
  .delivery { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; padding: .75rem 1rem; margin: 0 0 .75rem; }
  .delivery header { display: flex; gap: .75rem; align-items: baseline; flex-wrap: wrap; }
  .delivery time { margin-left: auto; color: #667; font-size: .85em; }
  .channel { text-transform: uppercase; font-size: .75em; font-weight: 600; padding: .1rem .4rem; border-radius: 4px; background: #e3e8f4; }
  .channel.sms { background: #e2f3e6; }
  .subject { font-size: 1rem; margin: .5rem 0 .25rem; }
  .body { white-space: pre-wrap; word-break: break-word; font: inherit; margin: .5rem 0; }
  .delivery footer { color: #667; font-size: .8em; }
  .notice { background: #fff4d6; border: 1px solid #e8c66a; padding: .5rem .75rem; border-radius: 6px; }
</style>
</head>
<body>
<h1>${e(title)}</h1>
<p>Outbound email and SMS recorded by the <code>dev-mailbox</code> delivery provider: what customers would have received. Newest first, at most ${MAILBOX_LIMIT}.</p>
<form method="get"><label>Account <input name="account" value="${e(options.accountId ?? "")}" placeholder="all accounts" pattern="[A-Za-z0-9_\\-]{1,64}"></label> <button>Filter</button>${options.accountId ? ' <a href="?">show all</a>' : ""}</form>
${options.failedShards.length ? `<p class="notice">Shards not answering: ${e(options.failedShards.join(", "))}; their deliveries are missing below.</p>` : ""}
${entries.length ? rows : '<p class="empty">No deliveries yet. Reply to an email or SMS ticket to see one here.</p>'}
</body>
</html>`;
}

export const devMailboxRoutes = new Hono<{ Bindings: Env }>().get("/mailbox", async (c) => {
  if (c.env.DEV_MAILBOX !== "on") throw new ApiError(404, "NOT_FOUND", `no route for GET ${c.req.path}`);
  const requested = c.req.query("account")?.trim() || null;
  if (requested !== null && !ACCOUNT_FILTER.test(requested)) {
    throw new ApiError(400, "VALIDATION_FAILED", "the request has invalid fields", { account: ["expected an account id"] });
  }
  const { entries, failedShards } = await latestDeliveries(c.env, requested);
  c.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Cache-Control", "no-store");
  return c.html(renderMailbox(entries, { accountId: requested, failedShards }));
});
