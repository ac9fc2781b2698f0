import type { TicketRecord } from "../ticket-room/ticket-record.ts";
import type { IndexedState, WaitingTicket } from "./assignment.ts";
import { capacityKind, type CapacityKind } from "./assignment.ts";

// The hub's own SQLite: the newest version of every ticket of the account it has been told
// about (counts, routing and notifications are derived from it), and a few values that must
// survive a restart. Columns the hub queries are stored beside the ticket's JSON.

export class HubStore {
  private readonly sql: SqlStorage;

  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
    // The first version of the hub kept a narrower index under another name.
    this.sql.exec("DROP TABLE IF EXISTS ticket_index");
    this.sql.exec(`CREATE TABLE IF NOT EXISTS hub_tickets (
      ticket_id TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      status TEXT NOT NULL,
      channel TEXT NOT NULL,
      priority TEXT NOT NULL,
      team_id TEXT,
      assignee_id TEXT,
      created_at INTEGER NOT NULL,
      data TEXT NOT NULL)`);
    this.sql.exec("CREATE INDEX IF NOT EXISTS hub_tickets_waiting ON hub_tickets (status, assignee_id, team_id)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS hub_tickets_assignee ON hub_tickets (assignee_id, status)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS hub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  }

  ticket(ticketId: string): TicketRecord | null {
    const row = this.sql.exec<{ data: string }>("SELECT data FROM hub_tickets WHERE ticket_id = ?", ticketId).toArray()[0];
    return row ? (JSON.parse(row.data) as TicketRecord) : null;
  }

  version(ticketId: string): number | null {
    const row = this.sql.exec<{ version: number }>("SELECT version FROM hub_tickets WHERE ticket_id = ?", ticketId).toArray()[0];
    return row?.version ?? null;
  }

  /** What routing needs of a ticket, without parsing it. */
  indexedState(ticketId: string): IndexedState | null {
    const row = this.sql
      .exec<{ version: number; status: string; assignee_id: string | null }>(
        "SELECT version, status, assignee_id FROM hub_tickets WHERE ticket_id = ?",
        ticketId,
      )
      .toArray()[0];
    return row ? { version: row.version, status: row.status, assigneeId: row.assignee_id } : null;
  }

  /** Stores the ticket unless the hub already has this version or a newer one. */
  put(ticket: TicketRecord): void {
    this.sql.exec(
      `INSERT INTO hub_tickets (ticket_id, version, status, channel, priority, team_id, assignee_id, created_at, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (ticket_id) DO UPDATE SET version = excluded.version, status = excluded.status, channel = excluded.channel,
         priority = excluded.priority, team_id = excluded.team_id, assignee_id = excluded.assignee_id,
         created_at = excluded.created_at, data = excluded.data
       WHERE excluded.version > hub_tickets.version`,
      ticket.id,
      ticket.version,
      ticket.status,
      ticket.channel,
      ticket.priority,
      ticket.teamId,
      ticket.assigneeId,
      ticket.createdAt,
      JSON.stringify(ticket),
    );
  }

  /** Every ticket, one at a time (an account may have many: never all in memory at once). */
  *tickets(): Generator<TicketRecord> {
    for (const row of this.sql.exec<{ data: string }>("SELECT data FROM hub_tickets")) yield JSON.parse(row.data) as TicketRecord;
  }

  ticketCount(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM hub_tickets").one().n;
  }

  /** Open tickets routed to a team and assigned to nobody. */
  waitingTickets(): WaitingTicket[] {
    return this.sql
      .exec<{ ticket_id: string; team_id: string; channel: string; priority: string; created_at: number }>(
        `SELECT ticket_id, team_id, channel, priority, created_at FROM hub_tickets
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
      "SELECT assignee_id, channel, count(*) AS n FROM hub_tickets WHERE status = 'open' AND assignee_id IS NOT NULL GROUP BY assignee_id, channel",
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
      .exec<{ ticket_id: string }>("SELECT ticket_id FROM hub_tickets WHERE assignee_id = ? AND status = 'open' AND channel = 'chat'", agentId)
      .toArray()
      .map((row) => row.ticket_id);
  }

  meta<T>(key: string): T | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM hub_meta WHERE key = ?", key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : null;
  }

  setMeta(key: string, value: unknown): void {
    this.sql.exec("INSERT OR REPLACE INTO hub_meta (key, value) VALUES (?, ?)", key, JSON.stringify(value));
  }
}
