import type { TicketRecord } from "../ticket-room/ticket-record.ts";
import type { IndexedState, WaitingTicket } from "./assignment.ts";
import { capacityKind, type CapacityKind } from "./assignment.ts";
import type { CountEntry } from "./view-counts.ts";

// The hub's own SQLite: an index of every ticket of the account at the newest version it has
// been told about, the count keys each ticket adds one to (so a count moves by per-ticket
// deltas, and the counts are the sum of the rows by construction), when each next leaves a
// time-windowed view (ordered, so an expiry reads only the tickets expiring), and a few
// values that must survive a restart. A closed ticket no view can count keeps its version
// and routing columns only (`data` NULL).

/** A row of the index without the ticket's details: no JSON to parse. */
export interface IndexedTicket extends IndexedState {
  channel: TicketRecord["channel"];
  priority: TicketRecord["priority"];
  teamId: string | null;
  countKeys: string[];
  hasDetails: boolean;
}

type IndexRow = {
  ticket_id: string;
  version: number;
  status: string;
  channel: string;
  priority: string;
  team_id: string | null;
  assignee_id: string | null;
  count_keys: string;
  has_details: number;
};

const ROW_COLUMNS = "ticket_id, version, status, channel, priority, team_id, assignee_id, count_keys, data IS NOT NULL AS has_details";

export class HubStore {
  private readonly sql: SqlStorage;
  /** Ticket JSON documents parsed since this instance started (tests: the work is not a full scan). */
  parsed = 0;
  private deletedTagIds: Set<string> | null = null;

  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS hub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    // Earlier versions kept indexes without count keys under other names: rebuild from the shard.
    const old = this.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('ticket_index', 'hub_tickets')").toArray();
    if (old.length > 0) {
      this.sql.exec("DROP TABLE IF EXISTS ticket_index");
      this.sql.exec("DROP TABLE IF EXISTS hub_tickets");
      this.sql.exec("DELETE FROM hub_meta WHERE key IN ('index_built', 'recount_due', 'recounted_at', 'window_expiry', 'build')");
    }
    this.sql.exec(`CREATE TABLE IF NOT EXISTS hub_index (
      ticket_id TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      status TEXT NOT NULL,
      channel TEXT NOT NULL,
      priority TEXT NOT NULL,
      team_id TEXT,
      assignee_id TEXT,
      created_at INTEGER NOT NULL,
      count_keys TEXT NOT NULL,
      window_exit INTEGER,
      data TEXT)`);
    this.sql.exec("CREATE INDEX IF NOT EXISTS hub_index_waiting ON hub_index (status, assignee_id, team_id)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS hub_index_assignee ON hub_index (assignee_id, status)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS hub_index_window ON hub_index (window_exit) WHERE window_exit IS NOT NULL");
    this.sql.exec("CREATE TABLE IF NOT EXISTS hub_ticket_tags (tag_id TEXT NOT NULL, ticket_id TEXT NOT NULL, PRIMARY KEY (tag_id, ticket_id)) WITHOUT ROWID");
    this.sql.exec("CREATE TABLE IF NOT EXISTS hub_deleted_tags (tag_id TEXT PRIMARY KEY) WITHOUT ROWID");
    this.sql.exec("CREATE TABLE IF NOT EXISTS hub_counts (key TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID");
  }

  // --- the index ----------------------------------------------------------------------------

  indexed(ticketId: string): IndexedTicket | null {
    const row = this.sql.exec<IndexRow>(`SELECT ${ROW_COLUMNS} FROM hub_index WHERE ticket_id = ?`, ticketId).toArray()[0];
    return row ? indexedTicket(row) : null;
  }

  /** What routing needs of a ticket, without parsing it. */
  indexedState(ticketId: string): IndexedState | null {
    const row = this.sql
      .exec<{ version: number; status: string; assignee_id: string | null }>("SELECT version, status, assignee_id FROM hub_index WHERE ticket_id = ?", ticketId)
      .toArray()[0];
    return row ? { version: row.version, status: row.status, assigneeId: row.assignee_id } : null;
  }

  /** The ticket with its details (null also when they were not kept). */
  ticket(ticketId: string): TicketRecord | null {
    const row = this.sql.exec<{ data: string | null }>("SELECT data FROM hub_index WHERE ticket_id = ?", ticketId).toArray()[0];
    return row?.data ? this.parse(row.data) : null;
  }

  version(ticketId: string): number | null {
    const row = this.sql.exec<{ version: number }>("SELECT version FROM hub_index WHERE ticket_id = ?", ticketId).toArray()[0];
    return row?.version ?? null;
  }

  /** Writes the ticket's row (the caller has checked the version) and its tags. */
  write(ticket: TicketRecord, entry: CountEntry): void {
    this.sql.exec(
      `INSERT INTO hub_index (ticket_id, version, status, channel, priority, team_id, assignee_id, created_at, count_keys, window_exit, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (ticket_id) DO UPDATE SET version = excluded.version, status = excluded.status, channel = excluded.channel,
         priority = excluded.priority, team_id = excluded.team_id, assignee_id = excluded.assignee_id, created_at = excluded.created_at,
         count_keys = excluded.count_keys, window_exit = excluded.window_exit, data = excluded.data`,
      ticket.id,
      ticket.version,
      ticket.status,
      ticket.channel,
      ticket.priority,
      ticket.teamId,
      ticket.assigneeId,
      ticket.createdAt,
      JSON.stringify(entry.keys),
      entry.windowExit,
      entry.keepDetails ? JSON.stringify(ticket) : null,
    );
    this.sql.exec("DELETE FROM hub_ticket_tags WHERE ticket_id = ?", ticket.id);
    // Only tickets some view may count need their tags found again (a tag's deletion).
    if (entry.keepDetails) for (const tagId of ticket.tagIds) this.sql.exec("INSERT OR IGNORE INTO hub_ticket_tags (tag_id, ticket_id) VALUES (?, ?)", tagId, ticket.id);
  }

  /** A page of the tickets whose details are kept, by id (a recount walks them page by page). */
  ticketPage(afterId: string, limit: number): TicketRecord[] {
    return this.sql
      .exec<{ data: string }>("SELECT data FROM hub_index WHERE ticket_id > ? AND data IS NOT NULL ORDER BY ticket_id LIMIT ?", afterId, limit)
      .toArray()
      .map((row) => this.parse(row.data));
  }

  /** How many rows keep their details (tests, diagnostics). */
  detailedCount(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM hub_index WHERE data IS NOT NULL").one().n;
  }

  /** Whether some closed tickets are kept without details. */
  hasCompactRows(): boolean {
    return this.sql.exec("SELECT 1 FROM hub_index WHERE data IS NULL LIMIT 1").toArray().length > 0;
  }

  /** Closed tickets no view can count any more: details dropped (their counts are already none). */
  compactClosed(): void {
    this.sql.exec("DELETE FROM hub_ticket_tags WHERE ticket_id IN (SELECT ticket_id FROM hub_index WHERE status = 'closed' AND data IS NOT NULL)");
    this.sql.exec("UPDATE hub_index SET data = NULL, count_keys = '[]', window_exit = NULL WHERE status = 'closed' AND data IS NOT NULL");
  }

  /** Tickets whose window runs out by `now`, earliest first, with their details. */
  windowExits(now: number, limit: number): TicketRecord[] {
    return this.sql
      .exec<{ data: string }>("SELECT data FROM hub_index WHERE window_exit IS NOT NULL AND window_exit <= ? AND data IS NOT NULL ORDER BY window_exit LIMIT ?", now, limit)
      .toArray()
      .map((row) => this.parse(row.data));
  }

  nextWindowExit(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT min(window_exit) AS at FROM hub_index").one().at;
  }

  ticketCount(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM hub_index").one().n;
  }

  /** Open tickets routed to a team and assigned to nobody. */
  waitingTickets(): WaitingTicket[] {
    return this.sql
      .exec<{ ticket_id: string; team_id: string; channel: string; priority: string; created_at: number }>(
        `SELECT ticket_id, team_id, channel, priority, created_at FROM hub_index
         WHERE status = 'open' AND assignee_id IS NULL AND team_id IS NOT NULL`,
      )
      .toArray()
      .map((row) => ({
        id: row.ticket_id,
        teamId: row.team_id,
        channel: row.channel as WaitingTicket["channel"],
        priority: row.priority as WaitingTicket["priority"],
        createdAt: row.created_at,
      }));
  }

  /** Open tickets per assignee, chats apart. */
  openLoads(): Map<string, Record<CapacityKind, number>> {
    const loads = new Map<string, Record<CapacityKind, number>>();
    const rows = this.sql.exec<{ assignee_id: string; channel: string; n: number }>(
      "SELECT assignee_id, channel, count(*) AS n FROM hub_index WHERE status = 'open' AND assignee_id IS NOT NULL GROUP BY assignee_id, channel",
    );
    for (const row of rows) {
      const load = loads.get(row.assignee_id) ?? { chat: 0, other: 0 };
      load[capacityKind(row.channel as WaitingTicket["channel"])] += row.n;
      loads.set(row.assignee_id, load);
    }
    return loads;
  }

  /** Open chats assigned to this agent. */
  openChatsOf(agentId: string): string[] {
    return this.sql
      .exec<{ ticket_id: string }>("SELECT ticket_id FROM hub_index WHERE assignee_id = ? AND status = 'open' AND channel = 'chat'", agentId)
      .toArray()
      .map((row) => row.ticket_id);
  }

  // --- tags ---------------------------------------------------------------------------------

  /** The distinct tag ids on indexed tickets: one index seek per tag, not a scan of every row. */
  indexedTagIds(): string[] {
    return this.sql
      .exec<{ id: string }>(
        `WITH RECURSIVE t(id) AS (
           SELECT min(tag_id) FROM hub_ticket_tags
           UNION ALL SELECT (SELECT min(tag_id) FROM hub_ticket_tags WHERE tag_id > t.id) FROM t WHERE t.id IS NOT NULL)
         SELECT id FROM t WHERE id IS NOT NULL`,
      )
      .toArray()
      .map((row) => row.id);
  }

  ticketsTagged(tagId: string): TicketRecord[] {
    return this.sql
      .exec<{ data: string }>("SELECT i.data FROM hub_ticket_tags g JOIN hub_index i ON i.ticket_id = g.ticket_id WHERE g.tag_id = ? AND i.data IS NOT NULL", tagId)
      .toArray()
      .map((row) => this.parse(row.data));
  }

  /** Tag ids deleted from the account; tag ids are never reused, so a late report carrying one is stripped. */
  deletedTags(): ReadonlySet<string> {
    this.deletedTagIds ??= new Set(this.sql.exec<{ tag_id: string }>("SELECT tag_id FROM hub_deleted_tags").toArray().map((row) => row.tag_id));
    return this.deletedTagIds;
  }

  markTagsDeleted(tagIds: readonly string[]): void {
    for (const tagId of tagIds) this.sql.exec("INSERT OR IGNORE INTO hub_deleted_tags (tag_id) VALUES (?)", tagId);
    this.deletedTagIds = null;
  }

  // --- counts -------------------------------------------------------------------------------

  addCounts(delta: ReadonlyMap<string, number>): void {
    for (const [key, by] of delta) {
      this.sql.exec("INSERT INTO hub_counts (key, n) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET n = n + excluded.n", key, by);
    }
    if (delta.size > 0) this.sql.exec("DELETE FROM hub_counts WHERE n = 0");
  }

  replaceCounts(counts: ReadonlyMap<string, number>): void {
    this.sql.exec("DELETE FROM hub_counts");
    this.addCounts(counts);
  }

  counts(): Map<string, number> {
    return new Map(this.sql.exec<{ key: string; n: number }>("SELECT key, n FROM hub_counts").toArray().map((row) => [row.key, row.n]));
  }

  // --- meta ---------------------------------------------------------------------------------

  meta<T>(key: string): T | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM hub_meta WHERE key = ?", key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : null;
  }

  setMeta(key: string, value: unknown): void {
    this.sql.exec("INSERT OR REPLACE INTO hub_meta (key, value) VALUES (?, ?)", key, JSON.stringify(value));
  }

  private parse(data: string): TicketRecord {
    this.parsed += 1;
    return JSON.parse(data) as TicketRecord;
  }
}

function indexedTicket(row: IndexRow): IndexedTicket {
  return {
    version: row.version,
    status: row.status,
    channel: row.channel as IndexedTicket["channel"],
    priority: row.priority as IndexedTicket["priority"],
    teamId: row.team_id,
    assigneeId: row.assignee_id,
    countKeys: JSON.parse(row.count_keys) as string[],
    hasDetails: row.has_details === 1,
  };
}
