import { and, eq, sql, type SQL } from "drizzle-orm";
import { fnv1a32 } from "../../schema/directory.ts";
import type { AnyShardDb } from "../../schema/shards.ts";
import { TICKETS_FTS_TABLE, tickets } from "../../schema/tables.ts";
import { CursorError, openCursor, sealCursor, type CursorBinding } from "./cursor.ts";

export { CursorError };

// One page of an account's tickets: filtered (a drizzle condition, see views/filter.ts),
// optionally full-text searched and ranked, ordered, and paged with an opaque keyset
// cursor. The ticket list route and the search benchmark (bench/search) both run this.
//
// Paging. Field sorts (updated, created, priority, last message) order by a tuple of keys
// ending in the ticket id, all in one direction, and the cursor is a keyset: the next page
// is `(keys…, id) < (last row's keys…, id)` (or `>` ascending) as an SQLite row value, so no
// duplicates or gaps whatever ties the keys have or whatever is written meanwhile (a ticket
// whose key changes moves, as it should). Relevance is ordered by (score, id) too, but its
// cursor is a position in that list: bm25 scores depend on shard-wide statistics that move
// with every write, so a keyset on the score would skip or repeat tickets; the ranked set
// itself is frozen by the cursor (see the window below), so positions stay put.
//
// Full-text search (FTS5 table tickets_fts, one row per ticket and one per message, see
// search-index.ts):
// - The query is split on white space into terms; each term is quoted as an FTS5 phrase (so
//   no user input is FTS syntax; "ana@example.com" becomes the phrase "ana example com"),
//   and a trailing `*` makes it a prefix. At most MAX_TERMS terms.
// - A ticket matches when every term is found in some row of the ticket (subject, customer
//   name/email, or any message), not necessarily the same row.
// - Relevance is the sum, over the ticket's matching rows and the terms, of FTS5's bm25()
//   with column weights subject 10, customer name 5, customer email 5, body 1 (BM25 of a
//   multi-term query is the sum of its per-term scores; summing over rows lets a ticket
//   that discusses a word at length rank above one that mentions it once). A subject match
//   outweighs a mention in a message. The score is rounded to a positive integer (×1e9) so
//   the cursor compares exact values.
// - Cost control (the recency window). bm25() and mapping a row to its ticket cost a few µs
//   per matching row, so a word found in 100,000 rows would take far over the 100 ms
//   budget. Every search therefore ranks at most the newest `window.messages` message rows
//   and `window.tickets` ticket rows that match any of its terms (rowid order is write
//   order: FTS5 finds these cutoffs from its doclists without reading rows), plus, for
//   multi-word searches, the newest rows *older* than that window that contain every word
//   (same sizes). A selective search (fewer matching rows than the window) is exact; an
//   unselective one ("order") is ranked among its newest matches, which is what an agent
//   paging through thousands of hits wants anyway. The window (its lower and upper rowids)
//   travels in the cursor, so every page of one search ranks the same rows, and rows
//   written after the first page wait for the next search. Cursors are signed and bound to
//   the account and the search (cursor.ts), and a page still ranks no more than the window
//   sizes below the cursor's upper bounds, so no cursor can make a search cost more.
// - Account scope: tickets_fts.account_id is UNINDEXED, and reading it costs a row lookup
//   per match, so rows are scoped through their ticket (tickets.account_id) after the
//   window is taken. The window is the shard's newest matching rows, shared by the accounts
//   on the shard: on a shard where a much busier account writes the same words, a small
//   account's unselective searches see fewer of its own older tickets. (An indexed account
//   token in the FTS table would lift this; it needs a migration.)
// - bm25's statistics (document counts, average lengths) are the shard's as of the query:
//   writes between two pages shift every score a little. Positions absorb that; only two
//   tickets with nearly equal scores could swap between pages.

export const TICKET_SORTS = ["relevance", "updated", "created", "priority", "last_message"] as const;
export type TicketSort = (typeof TICKET_SORTS)[number];
export type SortOrder = "asc" | "desc";

export const MAX_TERMS = 8;
export const MAX_QUERY_LENGTH = 200;

/** How many of the newest matching rows a search ranks (see "Cost control" above). */
export type SearchWindow = { messages: number; tickets: number };
export const DEFAULT_SEARCH_WINDOW: SearchWindow = { messages: 3_000, tickets: 1_000 };

/** bm25 weights per tickets_fts column: ticket_id, account_id, subject, body, customer_name, customer_email. */
const BM25_WEIGHTS = "0.0, 0.0, 10.0, 1.0, 5.0, 5.0";
const SCORE_SCALE = 1_000_000_000;

export class SearchQueryError extends Error {
  override name = "SearchQueryError";
}

/**
 * The FTS5 match expressions for a user's query, one per term (deduplicated), or throws
 * SearchQueryError when nothing in it is searchable.
 */
export function searchTerms(query: string): string[] {
  const terms = new Set<string>();
  for (const raw of query.trim().split(/\s+/)) {
    let word = raw.replace(/"/g, "");
    const prefix = word.endsWith("*");
    word = word.replace(/\*+$/, "").replace(/\*/g, " ");
    if (!/[\p{L}\p{N}]/u.test(word)) continue;
    // A one-character prefix would read most of the index: search the character as a word.
    const letters = word.replace(/[^\p{L}\p{N}]/gu, "");
    terms.add(prefix && letters.length >= 2 ? `"${word}"*` : `"${word}"`);
  }
  if (terms.size === 0) throw new SearchQueryError("the search has no words to look for");
  if (terms.size > MAX_TERMS) throw new SearchQueryError(`a search may have at most ${MAX_TERMS} words`);
  return [...terms];
}

export type TicketPageQuery = {
  accountId: string;
  /** Extra condition on `tickets` (e.g. `viewFilterCondition(...)`); the account scope is always added. */
  where?: SQL | undefined;
  /** Full-text query; when set, only matching tickets are listed. */
  q?: string | undefined;
  /** Defaults to "relevance" with `q`, else "updated". "relevance" needs `q`. */
  sort?: TicketSort | undefined;
  /** Defaults to "desc" (newest, most urgent or most relevant first). */
  order?: SortOrder | undefined;
  /** 1..100. */
  limit: number;
  /** `nextCursor` of the previous page (same query), or absent for the first page. */
  cursor?: string | null | undefined;
  /** Signs and checks cursors (the Worker's AUTH_SECRET). */
  cursorSecret: string;
  /** Defaults to DEFAULT_SEARCH_WINDOW (tests use small ones). */
  window?: SearchWindow | undefined;
};

export type TicketPageRow = { id: string; score: number | null };
export type TicketPage = { rows: TicketPageRow[]; nextCursor: string | null };

/**
 * A search's frozen window, as rowids of tickets_fts: message rows in [mlow, mtop], ticket
 * rows in [tlow, ttop] (negative), and the older all-terms rows in [amlow, mlow) and
 * (ttop, attop]. See searchCtes.
 */
type Window = [mlow: number, mtop: number, tlow: number, ttop: number, amlow: number, attop: number];
type CursorData = {
  s: TicketSort;
  o: SortOrder;
  h: number;
  /** Keyset: the last row's sort keys and id (field sorts). */
  k?: (number | string)[];
  /** Position: rows already returned (relevance). */
  n?: number;
  /** The search window (searches only). */
  w?: Window;
};

const isInt = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value);

function keyCount(sort: TicketSort): number {
  return sort === "priority" ? 3 : 2;
}

const INVALID_CURSOR = "the cursor is not one this API returned";

type After = { keys?: (number | string)[]; offset?: number; window?: Window };

/** Rowid signs of a window: message rows are positive, ticket rows negative (see searchCtes). */
function isWindow(value: unknown): value is Window {
  if (!(Array.isArray(value) && value.length === 6 && value.every(isInt))) return false;
  const [mlow, mtop, tlow, ttop, amlow, attop] = value as Window;
  return mlow >= 1 && mtop >= 0 && tlow <= -1 && ttop <= 0 && amlow >= 1 && attop <= -1;
}

async function decodeCursor(
  cursor: string,
  binding: CursorBinding & { sort: TicketSort; order: SortOrder },
  secret: string,
  queryHash: number,
  searching: boolean,
): Promise<After> {
  const { sort, order } = binding;
  const mismatch = (fields: Record<string, unknown>) =>
    fields["s"] !== sort || fields["o"] !== order || fields["h"] !== queryHash
      ? "the cursor belongs to a different sort, order or search: start again without it"
      : null;
  // Verified means issued for this account, sort, order and search (the MAC covers them).
  const data = (await openCursor(cursor, binding, secret, mismatch)) as CursorData;
  const after: After = {};
  if (sort === "relevance") {
    if (!isInt(data.n) || data.n < 1) throw new CursorError(INVALID_CURSOR);
    after.offset = data.n;
  } else {
    const keys = data.k;
    const valid =
      Array.isArray(keys) && keys.length === keyCount(sort) && keys.slice(0, -1).every(isInt) && typeof keys.at(-1) === "string";
    if (!valid) throw new CursorError(INVALID_CURSOR);
    after.keys = keys;
  }
  if (searching) {
    const window = data.w;
    if (!isWindow(window)) throw new CursorError(INVALID_CURSOR);
    after.window = window;
  }
  return after;
}

const PRIORITY_RANK = sql`(case ${tickets.priority} when 'low' then 0 when 'normal' then 1 when 'high' then 2 when 'urgent' then 3 else 1 end)`;

/** The sort keys before the id, as SQL over `tickets` (and `hits.score` for relevance). */
function sortKeys(sort: TicketSort): SQL[] {
  switch (sort) {
    case "relevance":
      return [sql`hits.score`];
    case "updated":
      return [sql`${tickets.updatedAt}`];
    case "created":
      return [sql`${tickets.createdAt}`];
    case "priority":
      return [PRIORITY_RANK, sql`${tickets.updatedAt}`];
    case "last_message":
      return [sql`coalesce(${tickets.lastMessageAt}, ${tickets.createdAt})`];
  }
}

const raw = (value: number) => sql.raw(String(value));

/**
 * The CTEs of a search: `bounds` (the window, given or found), `matches` (scored rows,
 * MATERIALIZED: FTS5 can only rank a row while it scans its match, so scoring must not be
 * flattened into the aggregate that sums it) and `hits(ticket_id, score)`.
 *
 * The window, in rowid terms (message rows have positive rowids growing with time, ticket
 * rows negative ones growing more negative with time):
 * - mtop / ttop: the newest message / ticket row matching any term when the search began,
 *   so rows written while an agent pages are not ranked (nor change the ranked set);
 * - mlow / tlow: the `window.messages`-th / `window.tickets`-th newest such row (or the
 *   whole range when fewer match);
 * - amlow / attop: for multi-word searches, the same count of newest rows older than
 *   that which contain every word.
 * A window from a cursor is clamped to the same counts below its mtop / ttop: for a cursor
 * this API returned that changes nothing (rows written since are above mtop / ttop).
 */
function searchCtes(terms: string[], size: SearchWindow, given: Window | undefined): SQL {
  const fts = sql.identifier(TICKETS_FTS_TABLE);
  const any = terms.join(" OR ");
  const all = terms.join(" AND ");
  const multi = terms.length > 1;
  // FTS5's `rank` configured once per scan (cheaper than calling bm25() with weights per row).
  const rankIs = sql`and ${fts}.rank match ${`bm25(${BM25_WEIGHTS})`}`;
  const newestMessage = (match: string, below: SQL, offset: number) =>
    sql`(select rowid from ${fts} where ${fts} match ${match} and rowid > 0 ${below} order by rowid desc limit 1 offset ${raw(offset)})`;
  const newestTicket = (match: string, above: SQL, offset: number) =>
    sql`(select rowid from ${fts} where ${fts} match ${match} and rowid < 0 ${above} order by rowid asc limit 1 offset ${raw(offset)})`;
  const [mlow, mtop, tlow, ttop, amlow, attop] = given ?? [null, null, null, null, null, null];
  // Lower bounds are the window's size-th newest rows below the upper ones, or the given
  // bound when that is narrower (max for message rowids, min for negative ticket rowids).
  const bounds = sql`tops as materialized (
      select coalesce(${mtop}, ${newestMessage(any, sql``, 0)}, 0) as mtop,
             coalesce(${ttop}, ${newestTicket(any, sql``, 0)}, 0) as ttop
    ),
    bounds as materialized (
      select max(coalesce(${mlow}, 1), coalesce(${newestMessage(any, sql`and rowid <= (select mtop from tops)`, size.messages - 1)}, 1)) as mlow,
             mtop,
             min(coalesce(${tlow}, -1), coalesce(${newestTicket(any, sql`and rowid >= (select ttop from tops)`, size.tickets - 1)}, -1)) as tlow,
             ttop
      from tops
    ),
    win as materialized (
      select mlow, mtop, tlow, ttop,
        ${multi ? sql`max(coalesce(${amlow}, 1), coalesce(${newestMessage(all, sql`and rowid < (select mlow from bounds)`, size.messages - 1)}, 1))` : sql`1`} as amlow,
        ${multi ? sql`min(coalesce(${attop}, -1), coalesce(${newestTicket(all, sql`and rowid > (select tlow from bounds)`, size.tickets - 1)}, -1))` : sql`-1`} as attop
      from bounds
    )`;
  const scans: SQL[] = [];
  terms.forEach((term, index) => {
    scans.push(
      sql`select ${fts}.rowid as r, ${raw(index)} as term, ${fts}.rank as rank from win cross join ${fts}
          where ${fts} match ${term} ${rankIs} and ${fts}.rowid >= win.mlow and ${fts}.rowid <= win.mtop`,
      sql`select ${fts}.rowid, ${raw(index)}, ${fts}.rank from win cross join ${fts}
          where ${fts} match ${term} ${rankIs} and ${fts}.rowid >= win.ttop and ${fts}.rowid <= win.tlow`,
    );
  });
  if (multi) {
    // Rows older than the window that contain every word count for all of them (-1).
    scans.push(
      sql`select ${fts}.rowid, -1, ${fts}.rank from win cross join ${fts}
          where ${fts} match ${all} ${rankIs} and ${fts}.rowid >= win.amlow and ${fts}.rowid < win.mlow`,
      sql`select ${fts}.rowid, -1, ${fts}.rank from win cross join ${fts}
          where ${fts} match ${all} ${rankIs} and ${fts}.rowid > win.tlow and ${fts}.rowid <= win.attop`,
    );
  }
  return sql`${bounds},
    matches as materialized (${sql.join(scans, sql` union all `)}),
    hits as (
      select coalesce(t.id, g.ticket_id) as ticket_id, cast(round(-sum(matches.rank) * ${raw(SCORE_SCALE)}) as integer) as score
      from matches
        left join tickets t on matches.r < 0 and t.rowid = -matches.r
        left join messages g on matches.r > 0 and g.rowid = matches.r
      group by 1
      ${multi ? sql`having count(distinct matches.term) = ${raw(terms.length)} or min(matches.term) < 0` : sql``}
    )`;
}

/** One page of ticket ids (with their relevance when searching) and the cursor of the next. */
export async function queryTicketPage(db: AnyShardDb, query: TicketPageQuery): Promise<TicketPage> {
  const q = query.q?.trim() ? query.q.trim() : undefined;
  const sort: TicketSort = query.sort ?? (q ? "relevance" : "updated");
  const order: SortOrder = query.order ?? "desc";
  if (sort === "relevance" && !q) throw new SearchQueryError("sorting by relevance needs a search");
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 100) throw new RangeError("limit must be 1..100");
  const size = query.window ?? DEFAULT_SEARCH_WINDOW;
  if (!(Number.isInteger(size.messages) && Number.isInteger(size.tickets) && size.messages >= 1 && size.tickets >= 1)) {
    throw new RangeError("search windows must be positive integers");
  }
  const terms = q ? searchTerms(q) : [];
  const searching = terms.length > 0;
  const queryHash = searching ? fnv1a32(terms.join(" ")) : 0;

  const keys = sortKeys(sort);
  const conditions: SQL[] = [eq(tickets.accountId, query.accountId)];
  if (query.where) conditions.push(query.where);
  const binding = { accountId: query.accountId, sort, order, terms: terms.join(" ") } satisfies CursorBinding;
  const after: After = query.cursor ? await decodeCursor(query.cursor, binding, query.cursorSecret, queryHash, searching) : {};
  if (after.keys) {
    // Keyset: strictly after the previous page's last row, in (keys…, id) order.
    const left = sql.join([...keys, sql`${tickets.id}`], sql`, `);
    const right = sql.join(after.keys.map((value) => sql`${value}`), sql`, `);
    conditions.push(order === "desc" ? sql`(${left}) < (${right})` : sql`(${left}) > (${right})`);
  }
  const offset = after.offset ?? 0;
  const direction = sql.raw(order);
  const orderBy = sql.join([...keys, sql`${tickets.id}`].map((key) => sql`${key} ${direction}`), sql`, `);
  const selectKeys = sql.join(keys.map((key, i) => sql`${key} as ${sql.raw(`k${i}`)}`), sql`, `);

  const statement = searching
    ? sql`with ${searchCtes(terms, size, after.window)}
        select ${tickets.id} as id, hits.score as score, ${selectKeys},
          win.mlow as mlow, win.mtop as mtop, win.tlow as tlow, win.ttop as ttop, win.amlow as amlow, win.attop as attop
        from hits join ${tickets} on ${tickets.id} = hits.ticket_id cross join win
        where ${and(...conditions)}
        order by ${orderBy}
        limit ${query.limit + 1} offset ${offset}`
    : sql`select ${tickets.id} as id, null as score, ${selectKeys}
        from ${tickets}
        where ${and(...conditions)}
        order by ${orderBy}
        limit ${query.limit + 1}`;
  const found = await db.all<Record<string, unknown>>(statement);

  const page = found.slice(0, query.limit);
  const rows = page.map((row) => ({ id: String(row["id"]), score: row["score"] == null ? null : Number(row["score"]) }));
  const last = page.at(-1);
  let nextCursor: string | null = null;
  if (found.length > query.limit && last) {
    const data: CursorData = { s: sort, o: order, h: queryHash };
    // Ranked pages are positions in the ranked list of the frozen window: bm25 scores drift
    // as anything is written to the shard, so a keyset on the score would skip or repeat.
    if (sort === "relevance") data.n = offset + page.length;
    else data.k = [...keys.map((_, i) => Number(last[`k${i}`])), String(last["id"])];
    if (searching) {
      data.w = (["mlow", "mtop", "tlow", "ttop", "amlow", "attop"] as const).map((name) => Number(last[name])) as Window;
    }
    nextCursor = await sealCursor(data, binding, query.cursorSecret);
  }
  return { rows, nextCursor };
}
