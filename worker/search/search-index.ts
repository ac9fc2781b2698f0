import type { InStatement } from "@libsql/client/web";
import { TICKETS_FTS_TABLE } from "../../schema/tables.ts";

// Maintenance of the full-text index `tickets_fts` (FTS5; migration *_search_fts.sql).
// Workers-safe: these functions only build statements; the ticket's room runs them in the
// same batch as its flush (after the rows they read), and the demo seed runs them too.
//
// The scheme: one FTS row per thing that is written once, so indexing never rewrites text
// that did not change.
//
//   ticket row   rowid = -(tickets.rowid)   ticket_id, account_id, subject, customer_name,
//                                           customer_email; body = ''
//   message row  rowid = messages.rowid     ticket_id, account_id, body;
//                                           subject = customer_name = customer_email = ''
//
// Tickets and messages are both rowid tables (TEXT primary keys), so their implicit rowids
// are positive and unique per table; negating the ticket's keeps the two ranges apart, and
// every FTS row has a key derived from its source row: it can be replaced or tested for by
// rowid (a b-tree lookup in FTS5) without scanning the UNINDEXED ticket_id column.
//
// - A ticket's row is replaced (INSERT OR REPLACE by rowid, FTS5's delete + insert) whenever
//   the ticket is flushed, because its subject or customer may have changed. It is small.
// - A message is immutable once written, so its row is inserted once, if absent. The old
//   scheme (one row per ticket with every body concatenated) rewrote the whole thread's text
//   on every new message; this one adds one short row.
// - Searching matches rows and groups them by ticket_id (see search.ts): a ticket matches
//   when its words are spread over its subject, customer and messages.
// - Internal notes are indexed: search is for agents only (the shopper never searches).
//
// Rowid caveats (implicit rowids are not guaranteed stable forever): an explicit VACUUM may
// renumber the rowids of tables without an INTEGER PRIMARY KEY, and copying an account to
// another shard gives its rows new rowids. After either, rebuild the account's index with
// `reindexAccountStatements` (search results themselves use ticket_id, never the rowid).

const FTS = TICKETS_FTS_TABLE;
const COLUMNS = "rowid, ticket_id, account_id, subject, body, customer_name, customer_email";

const TICKET_ROW_SELECT = `SELECT -t.rowid, t.id, t.account_id, t.subject, '', coalesce(c.name, ''), coalesce(c.email, '')
  FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id AND c.account_id = t.account_id`;

const MESSAGE_ROW_SELECT = `SELECT m.rowid, m.ticket_id, m.account_id, '', m.body, '', ''
  FROM messages m`;

/**
 * (Re)indexes a ticket's own row (subject, customer name and email) from the `tickets` and
 * `customers` rows as they are when the statement runs, so put it after the ticket upsert in
 * the same batch. Idempotent; does nothing if the ticket is not (yet) on the shard.
 */
export function indexTicketStatement(ticketId: string, accountId: string): InStatement {
  return {
    sql: `INSERT OR REPLACE INTO ${FTS} (${COLUMNS})
          ${TICKET_ROW_SELECT}
          WHERE t.id = ? AND t.account_id = ?`,
    args: [ticketId, accountId],
  };
}

/**
 * Indexes a message's body, once: inserts its row if absent (messages never change). Put
 * it after the message insert in the same batch. Idempotent.
 */
export function indexMessageStatement(messageId: string): InStatement {
  return {
    sql: `INSERT INTO ${FTS} (${COLUMNS})
          ${MESSAGE_ROW_SELECT}
          WHERE m.id = ? AND NOT EXISTS (SELECT 1 FROM ${FTS} f WHERE f.rowid = m.rowid)`,
    args: [messageId],
  };
}

/** Re-indexes every ticket row of one customer (after their name or email changed). */
export function indexCustomerTicketsStatement(customerId: string, accountId: string): InStatement {
  return {
    sql: `INSERT OR REPLACE INTO ${FTS} (${COLUMNS})
          ${TICKET_ROW_SELECT}
          WHERE t.customer_id = ? AND t.account_id = ?`,
    args: [customerId, accountId],
  };
}

/** Removes a ticket's rows (ticket and messages), e.g. before deleting the ticket. Run it before the delete. */
export function unindexTicketStatements(ticketId: string, accountId: string): InStatement[] {
  return [
    {
      sql: `DELETE FROM ${FTS} WHERE rowid IN (
              SELECT -rowid FROM tickets WHERE id = ? AND account_id = ?
              UNION ALL SELECT rowid FROM messages WHERE ticket_id = ? AND account_id = ?)`,
      args: [ticketId, accountId, ticketId, accountId],
    },
  ];
}

/**
 * Rebuilds one account's whole index from its tickets and messages: the seed, an account
 * moved between shards, or after a VACUUM. Run the statements in one batch (transaction).
 * The first statement scans the FTS table (account_id is not indexed): a maintenance job,
 * not a hot path.
 */
export function reindexAccountStatements(accountId: string): InStatement[] {
  return [
    { sql: `DELETE FROM ${FTS} WHERE account_id = ?`, args: [accountId] },
    { sql: `INSERT INTO ${FTS} (${COLUMNS}) ${TICKET_ROW_SELECT} WHERE t.account_id = ?`, args: [accountId] },
    { sql: `INSERT INTO ${FTS} (${COLUMNS}) ${MESSAGE_ROW_SELECT} WHERE m.account_id = ?`, args: [accountId] },
  ];
}
