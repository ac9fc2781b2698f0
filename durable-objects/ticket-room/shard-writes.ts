import type { InStatement } from "@libsql/client/web";
import type { OutboundDeliveryRequest, OutboxEntry } from "./room-store.ts";
import type { TicketChangeReport } from "./room-api.ts";
import type { MessageRecord, TicketRecord } from "./ticket-record.ts";

// Outbox entries as idempotent shard statements: replaying a batch that already landed
// changes nothing (tickets only move forward by version, messages and deliveries are keyed
// by id), so a flush that fails halfway or is retried after a timeout is always safe.
// References to agents, teams and tags go through sub-selects: one deleted in the meantime
// becomes null/absent instead of a foreign-key error that would wedge the outbox forever.
// The search index needs no statements here: the shard's triggers index what is written.

export function ticketUpsert(ticket: TicketRecord): InStatement {
  return {
    sql: `INSERT INTO tickets (id, account_id, customer_id, channel, subject, status, priority, assignee_id, team_id,
            version, snoozed_until, ai_state, created_at, updated_at, first_response_at, closed_at, last_message_at)
          VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,
            (SELECT id FROM agents WHERE id = ?8 AND account_id = ?2),
            (SELECT id FROM teams WHERE id = ?9 AND account_id = ?2),
            ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
          ON CONFLICT (id) DO UPDATE SET
            subject = excluded.subject, status = excluded.status, priority = excluded.priority,
            assignee_id = excluded.assignee_id, team_id = excluded.team_id, version = excluded.version,
            snoozed_until = excluded.snoozed_until, ai_state = excluded.ai_state, updated_at = excluded.updated_at,
            first_response_at = excluded.first_response_at, closed_at = excluded.closed_at,
            last_message_at = excluded.last_message_at
          WHERE excluded.version > tickets.version AND tickets.account_id = excluded.account_id`,
    args: [
      ticket.id,
      ticket.accountId,
      ticket.customerId,
      ticket.channel,
      ticket.subject,
      ticket.status,
      ticket.priority,
      ticket.assigneeId,
      ticket.teamId,
      ticket.version,
      ticket.snoozedUntil,
      ticket.aiState,
      ticket.createdAt,
      ticket.updatedAt,
      ticket.firstResponseAt,
      ticket.closedAt,
      ticket.lastMessageAt,
    ],
  };
}

/** Replaces the ticket's tags with the snapshot's (tags deleted meanwhile are skipped). */
export function ticketTagsReplace(ticket: TicketRecord): InStatement[] {
  const statements: InStatement[] = [
    { sql: "DELETE FROM ticket_tags WHERE ticket_id = ? AND account_id = ?", args: [ticket.id, ticket.accountId] },
  ];
  if (ticket.tagIds.length > 0) {
    statements.push({
      sql: `INSERT INTO ticket_tags (account_id, ticket_id, tag_id)
            SELECT ?, ?, id FROM tags WHERE account_id = ? AND id IN (${ticket.tagIds.map(() => "?").join(", ")})`,
      args: [ticket.accountId, ticket.id, ticket.accountId, ...ticket.tagIds],
    });
  }
  return statements;
}

export function messageInsert(message: MessageRecord): InStatement {
  return {
    sql: `INSERT INTO messages (id, account_id, ticket_id, author_kind, author_id, body, is_internal_note, channel,
            external_id, seq, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (id) DO NOTHING`,
    args: [
      message.id,
      message.accountId,
      message.ticketId,
      message.authorKind,
      message.authorId,
      message.body,
      message.isInternalNote ? 1 : 0,
      message.channel,
      message.externalId,
      message.seq,
      message.createdAt,
    ],
  };
}

/** The statements for a run of outbox entries, in an order foreign keys accept. */
export function shardStatements(entries: readonly OutboxEntry[]): InStatement[] {
  const first = entries[0];
  const last = entries.at(-1);
  if (!first || !last) return [];
  // Only the newest snapshot of the ticket matters; every message must land.
  const statements: InStatement[] = [ticketUpsert(last.after)];
  // Entries leave the outbox only once on the shard, so the first one's `before` is what the
  // shard holds: unchanged tags need no rewrite (a creation has no `before` and writes them).
  if (!first.before || !sameTags(first.before.tagIds, last.after.tagIds)) statements.push(...ticketTagsReplace(last.after));
  for (const entry of entries) {
    if (entry.message) statements.push(messageInsert(entry.message));
    if (entry.autoReply) {
      statements.push({
        sql: `INSERT INTO auto_reply_log (account_id, customer_id, last_sent_at) VALUES (?, ?, ?)
              ON CONFLICT (account_id, customer_id) DO UPDATE SET last_sent_at = max(last_sent_at, excluded.last_sent_at)`,
        args: [entry.after.accountId, entry.autoReply.customerId, entry.autoReply.at],
      });
    }
    if (entry.delivery) statements.push(deliveryInsert(entry.after, entry.delivery, entry.message?.createdAt ?? entry.after.updatedAt));
  }
  return statements;
}

/** What the hub is told once a run of outbox entries is on the shard. */
export function changeReport(entries: readonly OutboxEntry[]): TicketChangeReport<TicketRecord> {
  const first = entries[0]!;
  const last = entries.at(-1)!;
  return {
    ticketId: last.after.id,
    version: last.after.version,
    before: first.before,
    after: last.after,
    changes: entries.map((entry) => ({
      version: entry.version,
      actor: entry.actor ?? null,
      message: entry.message
        ? { id: entry.message.id, authorKind: entry.message.authorKind, isInternalNote: entry.message.isInternalNote }
        : null,
      assigneeId: entry.after.assigneeId,
    })),
  };
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((tag, i) => tag === b[i]);
}

/**
 * Records an outbound delivery once per message. Without an explicit address it takes the
 * customer's current one on the shard (so an agent's reply needs no shard read and is
 * accepted during an outage); a customer without an address for the channel gets no row
 * rather than a constraint error that would wedge the outbox.
 */
function deliveryInsert(ticket: TicketRecord, delivery: OutboundDeliveryRequest, createdAt: number): InStatement {
  const column = delivery.channel === "email" ? "email" : "phone";
  return {
    sql: `INSERT INTO outbound_deliveries (id, account_id, ticket_id, message_id, channel, to_address, subject, body,
            provider, status, created_at)
          SELECT ?1, ?2, ?3, ?4, ?5, address, ?6, ?7, ?8, 'queued', ?9
          FROM (SELECT coalesce(?10, (SELECT ${column} FROM customers WHERE id = ?11 AND account_id = ?2)) AS address)
          WHERE address IS NOT NULL
          ON CONFLICT (message_id) DO NOTHING`,
    args: [
      delivery.id,
      ticket.accountId,
      ticket.id,
      delivery.messageId,
      delivery.channel,
      delivery.subject,
      delivery.body,
      delivery.provider,
      createdAt,
      delivery.toAddress,
      delivery.customerId ?? ticket.customerId,
    ],
  };
}
