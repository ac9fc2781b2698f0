import type { Shard } from "../../schema/shards.ts";
import type { TicketRef } from "./room-api.ts";
import type { MessageRecord, TicketRecord } from "./ticket-record.ts";

/** Rebuilds the room's ticket from the shard, the record (null if it is not there). */
export async function loadTicketFromShard(shard: Shard, ref: TicketRef): Promise<TicketRecord | null> {
  const [tickets, tags, thread] = await shard.client.batch(
    [
      { sql: "SELECT * FROM tickets WHERE id = ? AND account_id = ?", args: [ref.ticketId, ref.accountId] },
      { sql: "SELECT tag_id FROM ticket_tags WHERE ticket_id = ? AND account_id = ? ORDER BY tag_id", args: [ref.ticketId, ref.accountId] },
      {
        sql: "SELECT count(*) AS n, coalesce(max(seq), 0) AS max_seq FROM messages WHERE ticket_id = ? AND account_id = ?",
        args: [ref.ticketId, ref.accountId],
      },
    ],
    "read",
  );
  const row = tickets?.rows[0];
  if (!row) return null;
  const count = Number(thread?.rows[0]?.n ?? 0);
  const maxSeq = Number(thread?.rows[0]?.max_seq ?? 0);
  // Seeded rows may predate per-ticket sequence numbers: never reuse a position.
  return ticketFromRow(row, (tags?.rows ?? []).map((tag) => String(tag.tag_id)), Math.max(count, maxSeq));
}

/**
 * A page of an account's tickets, oldest change first (keyset on updated_at, id), for a
 * reader that follows every ticket (the AccountHub). `messageCount` is not read (0).
 */
export async function loadTicketPage(
  shard: Shard,
  accountId: string,
  after: { updatedAt: number; id: string },
  limit: number,
): Promise<TicketRecord[]> {
  const page = await shard.client.execute({
    sql: `SELECT t.*, (SELECT group_concat(tag_id, ' ') FROM (SELECT tag_id FROM ticket_tags g
            WHERE g.ticket_id = t.id AND g.account_id = t.account_id ORDER BY tag_id)) AS tag_list
          FROM tickets t
          WHERE t.account_id = ? AND (t.updated_at > ? OR (t.updated_at = ? AND t.id > ?))
          ORDER BY t.updated_at, t.id LIMIT ?`,
    args: [accountId, after.updatedAt, after.updatedAt, after.id, limit],
  });
  return page.rows.map((row) => ticketFromRow(row, row.tag_list ? String(row.tag_list).split(" ") : [], 0));
}

function ticketFromRow(row: Record<string, unknown>, tagIds: string[], messageCount: number): TicketRecord {
  const nullableNumber = (value: unknown) => (value === null || value === undefined ? null : Number(value));
  return {
    id: String(row.id),
    accountId: String(row.account_id),
    customerId: String(row.customer_id),
    channel: row.channel as TicketRecord["channel"],
    subject: String(row.subject),
    status: row.status as TicketRecord["status"],
    priority: row.priority as TicketRecord["priority"],
    assigneeId: row.assignee_id === null ? null : String(row.assignee_id),
    teamId: row.team_id === null ? null : String(row.team_id),
    tagIds,
    version: Number(row.version),
    snoozedUntil: nullableNumber(row.snoozed_until),
    aiState: row.ai_state as TicketRecord["aiState"],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    firstResponseAt: nullableNumber(row.first_response_at),
    closedAt: nullableNumber(row.closed_at),
    lastMessageAt: nullableNumber(row.last_message_at),
    messageCount,
  };
}

/** The ticket's thread on the shard, in `seq` order (to seed a room's live document). */
export async function loadThreadFromShard(shard: Shard, ref: TicketRef): Promise<MessageRecord[]> {
  const rows = await shard.client.execute({
    sql: `SELECT id, account_id, ticket_id, author_kind, author_id, body, is_internal_note, channel, external_id, seq, created_at
          FROM messages WHERE ticket_id = ? AND account_id = ? ORDER BY seq, created_at, id`,
    args: [ref.ticketId, ref.accountId],
  });
  return rows.rows.map((row) => ({
    id: String(row.id),
    accountId: String(row.account_id),
    ticketId: String(row.ticket_id),
    authorKind: row.author_kind as MessageRecord["authorKind"],
    authorId: row.author_id === null ? null : String(row.author_id),
    body: String(row.body),
    isInternalNote: Number(row.is_internal_note) === 1,
    channel: row.channel as MessageRecord["channel"],
    externalId: row.external_id === null ? null : String(row.external_id),
    seq: Number(row.seq),
    createdAt: Number(row.created_at),
  }));
}
