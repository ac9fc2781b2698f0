import { KnownAlarm } from "../known-alarm.ts";
import type { Actor, MessageRecord, TicketRecord } from "./ticket-record.ts";

// The room's own SQLite: the current ticket and the outbox of changes not yet on the shard
// and reported to the AccountHub. A change and its outbox entry are written in one
// transaction, so a crash can lose neither one without the other.

export interface OutboundDeliveryRequest {
  id: string;
  messageId: string;
  channel: "email" | "sms";
  /** The address; null = the customer's current email (or phone for SMS), resolved at flush. */
  toAddress: string | null;
  /** Whose address to resolve when `toAddress` is null. */
  customerId?: string;
  subject: string | null;
  body: string;
  /** Which delivery provider sends it (the dev mailbox locally). */
  provider: string;
}

export interface OutboxEntry {
  seq: number;
  version: number;
  /** The ticket before this change; null for the creation. */
  before: TicketRecord | null;
  after: TicketRecord;
  message: MessageRecord | null;
  delivery: OutboundDeliveryRequest | null;
  /** An automatic reply was sent to this customer at this time (rules throttle on it). */
  autoReply?: { customerId: string; at: number } | null;
  /** Who made the change (absent in entries written before actors were recorded). */
  actor?: Actor;
}

export type NewOutboxEntry = Omit<OutboxEntry, "seq">;

interface OutboxRow extends Record<string, SqlStorageValue> {
  seq: number;
  version: number;
  payload: string;
}

/**
 * An outbound delivery the room still owes the shard an outcome for: kept from the commit
 * that made it until the shard says "sent" or "failed", so a provider or shard failure is
 * retried from the room's alarm instead of waiting for the ticket's next change.
 */
export interface OwedDelivery {
  id: string;
  channel: "email" | "sms";
  /** pending: not handed to the provider yet (or it failed); sent / failed: decided, not yet on the shard. */
  state: "pending" | "sent" | "failed";
  attempts: number;
  firstAttemptAt: number | null;
  nextAt: number;
  lastError: string | null;
}

interface OwedDeliveryRow extends Record<string, SqlStorageValue> {
  id: string;
  channel: string;
  state: string;
  attempts: number;
  first_attempt_at: number | null;
  next_at: number;
  last_error: string | null;
}

/**
 * Every commit makes sure the room's alarm fires, in the same storage transaction: if the
 * object dies before its flush (a deploy, an eviction, a crash), the alarm flushes. A quiet
 * room's commit arms it FLUSH_GUARD_MS out; a busy room keeps the alarm it has when that
 * fires within FLUSH_GUARD_LATEST_MS (its tidy-up), so commits write no alarm of their own.
 */
export const FLUSH_GUARD_MS = 5_000;
export const FLUSH_GUARD_LATEST_MS = 30_000;

export class RoomStore {
  private readonly storage: DurableObjectStorage;
  private cached: TicketRecord | null | undefined;
  /**
   * Entries up to here are on the shard and reported, but not deleted yet: the delete rides
   * along with the next commit instead of costing a storage commit of its own per flush.
   * Lost on a restart, which then flushes those entries once more (every statement is
   * idempotent, and the hub ignores versions it has seen).
   */
  private doneThrough = 0;
  /** Entries up to here are deleted from the outbox. */
  private deletedThrough = 0;

  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
    this.alarm = new KnownAlarm(storage);
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS room_ticket (id TEXT PRIMARY KEY, data TEXT NOT NULL)`);
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      version INTEGER NOT NULL,
      payload TEXT NOT NULL)`);
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS room_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    // Messages this room has written, by id: a re-delivered webhook or a retried request
    // carrying the same message id must not add the message twice.
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS room_messages (id TEXT PRIMARY KEY, data TEXT NOT NULL)`);
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS room_deliveries (
      id TEXT PRIMARY KEY,
      channel TEXT NOT NULL,
      outbox_seq INTEGER NOT NULL,
      state TEXT NOT NULL DEFAULT 'pending',
      attempts INTEGER NOT NULL DEFAULT 0,
      first_attempt_at INTEGER,
      next_at INTEGER NOT NULL,
      last_error TEXT)`);
  }

  /** The room's one alarm (see TicketRoom.rearm for what it serves). */
  readonly alarm: KnownAlarm;

  ticket(): TicketRecord | null {
    if (this.cached === undefined) {
      const row = this.storage.sql.exec<{ data: string }>("SELECT data FROM room_ticket LIMIT 1").toArray()[0];
      this.cached = row ? (JSON.parse(row.data) as TicketRecord) : null;
    }
    return this.cached;
  }

  /** Adopts a ticket rebuilt from the shard (nothing to flush: it is already there). */
  adopt(ticket: TicketRecord): void {
    this.storage.sql.exec("INSERT OR REPLACE INTO room_ticket (id, data) VALUES (?, ?)", ticket.id, JSON.stringify(ticket));
    this.cached = ticket;
  }

  /** Commits a change: the new ticket and its outbox entry, atomically. */
  commit(entry: NewOutboxEntry): void {
    this.storage.transactionSync(() => {
      this.deleteDone();
      this.storage.sql.exec(
        "INSERT OR REPLACE INTO room_ticket (id, data) VALUES (?, ?)",
        entry.after.id,
        JSON.stringify(entry.after),
      );
      const { seq } = this.storage.sql.exec<{ seq: number }>(
        "INSERT INTO outbox (version, payload) VALUES (?, ?) RETURNING seq",
        entry.version,
        JSON.stringify({
          before: entry.before,
          after: entry.after,
          message: entry.message,
          delivery: entry.delivery,
          autoReply: entry.autoReply ?? null,
          actor: entry.actor ?? null,
        }),
      ).one();
      if (entry.message) {
        this.storage.sql.exec("INSERT INTO room_messages (id, data) VALUES (?, ?)", entry.message.id, JSON.stringify(entry.message));
      }
      // Due as soon as the flush has put its row on the shard.
      if (entry.delivery) {
        this.storage.sql.exec(
          "INSERT OR IGNORE INTO room_deliveries (id, channel, outbox_seq, next_at) VALUES (?, ?, ?, 0)",
          entry.delivery.id,
          entry.delivery.channel,
          seq,
        );
      }
      const now = Date.now();
      this.alarm.ensureBy(now + FLUSH_GUARD_LATEST_MS, now + FLUSH_GUARD_MS);
    });
    this.cached = entry.after;
  }

  /** Runs several commits as one transaction (one storage commit); commits inside nest as savepoints. */
  transaction<T>(fn: () => T): T {
    return this.storage.transactionSync(fn);
  }

  /**
   * The oldest outbox entries, in commit order: at most `limit`, and no more than `maxBytes`
   * of payload (always at least one), so that a long hold of large messages is flushed in
   * requests the runtime accepts instead of one that fails forever. `more`: entries were left
   * for the next batch (the cap or the byte limit cut it).
   */
  pending(limit: number, maxBytes = Number.POSITIVE_INFINITY): { entries: OutboxEntry[]; more: boolean } {
    const rows = this.storage.sql
      .exec<OutboxRow & { size: number }>(
        "SELECT seq, version, payload, length(CAST(payload AS BLOB)) AS size FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
        this.doneThrough,
        limit,
      )
      .toArray();
    let bytes = 0;
    let take = 0;
    for (const row of rows) {
      if (take > 0 && bytes + row.size > maxBytes) break;
      bytes += row.size;
      take++;
    }
    const entries = rows
      .slice(0, take)
      .map((row) => {
        const payload = JSON.parse(row.payload) as Pick<OutboxEntry, "before" | "after" | "message" | "delivery" | "autoReply"> & {
          actor?: Actor | null;
        };
        return { ...payload, seq: row.seq, version: row.version, actor: payload.actor ?? undefined };
      });
    return { entries, more: take < rows.length || rows.length === limit };
  }

  /** A message this room already wrote, if any. */
  message(id: string): MessageRecord | null {
    const row = this.storage.sql.exec<{ data: string }>("SELECT data FROM room_messages WHERE id = ?", id).toArray()[0];
    return row ? (JSON.parse(row.data) as MessageRecord) : null;
  }

  /** Every message this room wrote, in `seq` order. */
  messages(): MessageRecord[] {
    return this.storage.sql
      .exec<{ data: string }>("SELECT data FROM room_messages")
      .toArray()
      .map((row) => JSON.parse(row.data) as MessageRecord)
      .sort((a, b) => a.seq - b.seq);
  }

  pendingCount(): number {
    return this.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE seq > ?", this.doneThrough).one().n;
  }

  /** Entries through `throughSeq` are on the shard and reported: no longer pending (deleted with the next commit). */
  markDone(throughSeq: number): void {
    this.doneThrough = Math.max(this.doneThrough, throughSeq);
  }

  /** Whether flushed entries still sit in the outbox, waiting for a commit to delete them. */
  hasUndeletedDone(): boolean {
    return this.doneThrough > this.deletedThrough;
  }

  /** Deletes flushed entries with a commit of their own: for a room that has gone quiet. */
  deleteDoneNow(): void {
    if (this.hasUndeletedDone()) this.storage.transactionSync(() => this.deleteDone());
  }

  private deleteDone(): void {
    if (!this.hasUndeletedDone()) return;
    this.storage.sql.exec("DELETE FROM outbox WHERE seq <= ?", this.doneThrough);
    this.deletedThrough = this.doneThrough;
  }

  /** Deliveries whose next step is due and whose row the shard has (their outbox entry is flushed), oldest first. */
  dueDeliveries(now: number, limit: number): OwedDelivery[] {
    return this.storage.sql
      .exec<OwedDeliveryRow>(
        `SELECT * FROM room_deliveries
         WHERE next_at <= ? AND (outbox_seq <= ? OR NOT EXISTS (SELECT 1 FROM outbox WHERE seq = outbox_seq))
         ORDER BY next_at, id LIMIT ?`,
        now,
        this.doneThrough,
        limit,
      )
      .toArray()
      .map((row) => ({
        id: row.id,
        channel: row.channel === "sms" ? "sms" : "email",
        state: row.state === "sent" || row.state === "failed" ? row.state : "pending",
        attempts: row.attempts,
        firstAttemptAt: row.first_attempt_at,
        nextAt: row.next_at,
        lastError: row.last_error,
      }));
  }

  /** When the next owed delivery is due; null when the room owes none. */
  nextDeliveryAt(): number | null {
    return this.storage.sql.exec<{ at: number | null }>("SELECT min(next_at) AS at FROM room_deliveries").one().at;
  }

  updateDelivery(delivery: OwedDelivery): void {
    this.storage.sql.exec(
      "UPDATE room_deliveries SET state = ?, attempts = ?, first_attempt_at = ?, next_at = ?, last_error = ? WHERE id = ?",
      delivery.state,
      delivery.attempts,
      delivery.firstAttemptAt,
      delivery.nextAt,
      delivery.lastError,
      delivery.id,
    );
  }

  /** The shard has the delivery's outcome (or it has no row): the room owes nothing more. */
  settleDelivery(id: string): void {
    this.storage.sql.exec("DELETE FROM room_deliveries WHERE id = ?", id);
  }

  meta(key: string): string | null {
    return this.storage.sql.exec<{ value: string }>("SELECT value FROM room_meta WHERE key = ?", key).toArray()[0]?.value ?? null;
  }

  setMeta(key: string, value: string | null): void {
    if (value === null) this.storage.sql.exec("DELETE FROM room_meta WHERE key = ?", key);
    else this.storage.sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES (?, ?)", key, value);
  }
}
