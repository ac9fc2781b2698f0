import type { InStatement } from "@libsql/client/web";
import { TICKETS_FTS_TABLE } from "../../schema/tables.ts";

// The full-text index `tickets_fts` (FTS5; migration *_search_fts.sql), kept up to date by
// triggers on messages, tickets and customers (migration *_search_triggers.sql): whoever
// writes those rows (a room's flush, the seed, an account move) indexes them in the same
// statement, with no extra statement or round trip per row.
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
// - A ticket's row is replaced when its subject or customer changes, and a customer's
//   tickets' rows when the customer's name or email changes (a flush that rewrites the
//   ticket unchanged leaves its row alone).
// - A message is immutable once written: its row is inserted with it, once (an upsert that
//   finds the message already there inserts nothing and fires nothing).
// - Searching matches rows and groups them by ticket_id (see search.ts): a ticket matches
//   when its words are spread over its subject, customer and messages.
// - Internal notes are indexed: search is for agents only (the shopper never searches).
//
// Rowid caveats (implicit rowids are not guaranteed stable forever): an explicit VACUUM may
// renumber the rowids of tables without an INTEGER PRIMARY KEY. After one, rebuild the
// account's index with `reindexAccountStatements` (search results use ticket_id, never the
// rowid).

const FTS = TICKETS_FTS_TABLE;
const COLUMNS = "rowid, ticket_id, account_id, subject, body, customer_name, customer_email";

const TICKET_ROW_SELECT = `SELECT -t.rowid, t.id, t.account_id, t.subject, '', coalesce(c.name, ''), coalesce(c.email, '')
  FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id AND c.account_id = t.account_id`;

const MESSAGE_ROW_SELECT = `SELECT m.rowid, m.ticket_id, m.account_id, '', m.body, '', ''
  FROM messages m`;

/**
 * Rebuilds one account's whole index from its tickets and messages: after a VACUUM, or to
 * repair an index written before the triggers existed. Run the statements in one batch (transaction).
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
