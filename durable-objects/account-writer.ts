import { DurableObject } from "cloudflare:workers";
import type { InStatement } from "@libsql/client/web";
import type { Env } from "../worker/env.ts";
import { accountHub } from "../worker/live/hub.ts";
import { accountShardForWrite } from "../worker/shards.ts";
import type { TicketChangeReport } from "./ticket-room/room-api.ts";
import type { TicketRecord } from "./ticket-room/ticket-record.ts";
import { KnownAlarm } from "./known-alarm.ts";

/** One ticket room's flush: its outbox entries as shard statements, and what to tell the hub. */
export interface RoomFlush {
  statements: InStatement[];
  report: TicketChangeReport<TicketRecord>;
}

/**
 * A shard request carries whole room flushes up to about this many statements. Bigger
 * requests amortise more, but a request body of megabytes takes long to upload from a busy
 * isolate and the next one cannot start meanwhile; a few hundred statements is the knee.
 */
const MAX_STATEMENTS_PER_WRITE = 500;
/** …and about this many bytes of statements: a room flush is at most ~1 MB, messages up to 100,000 characters. */
const MAX_BYTES_PER_WRITE = 4_000_000;
/**
 * Shard requests in flight at once: the next one uploads while the shard runs the current
 * one (the shard serialises the writes themselves). Per ticket, order is kept by the room,
 * which has at most one flush at a time.
 */
const WRITES_IN_FLIGHT = 2;

/** Reports sent to the hub per call. */
const REPORTS_PER_CALL = 200;
/**
 * After this many failures in a row the oldest report is sent alone; if it still fails while
 * the next one alone succeeds, the hub is up and that report is what it refuses: it is set
 * aside (kept, with the error) so it cannot hold every later report back.
 */
const ISOLATE_AFTER_FAILURES = 3;
/** Reports the hub did not take are retried from the alarm: this long after the first failure, doubling… */
const REPORT_RETRY_BASE_MS = 1_000;
/** …up to this. */
const REPORT_RETRY_MAX_MS = 30_000;

interface Waiting {
  flush: RoomFlush;
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * One per account (`idFromName(accountId)`): carries the ticket rooms' flushes to the
 * account's shard, many rooms per shard request, and reports what landed to the account's
 * hub, many tickets per report.
 *
 * Why: a room flushes a handful of messages at a time, and a shard request's fixed cost
 * (HTTP, transaction, commit) dwarfs a row's; across a busy account's rooms the flushes that
 * arrive while one write is in flight go out together in the next one. A room keeps its
 * outbox until `write` resolves, so a writer that dies mid-request only makes its callers
 * retry (every statement is idempotent).
 *
 * Persistence never waits on the hub: once the shard has a batch, its reports are stored
 * here (with an alarm behind them, in the same transaction), the rooms are answered, and the
 * reports go to the hub oldest first, retried from the alarm while the hub fails. The hub's
 * periodic check against the shard stays as the safety net.
 */
export class AccountWriter extends DurableObject<Env> {
  private waiting: Waiting[] = [];
  private inFlight = 0;
  /** Since this instance started (tests, diagnostics). */
  private readonly counters = { flushes: 0, shardRequests: 0 };
  private readonly nextAlarm: KnownAlarm;
  private reporting: Promise<void> | null = null;
  private reportAgain = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS pending_reports (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      account_id TEXT NOT NULL,
      payload TEXT NOT NULL)`);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS writer_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    // Reports the hub refused alone while it took others (diagnostics; the hub's periodic
    // check against the shard repairs the counts they would have changed).
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS refused_reports (
      seq INTEGER PRIMARY KEY, account_id TEXT NOT NULL, payload TEXT NOT NULL, error TEXT NOT NULL, at INTEGER NOT NULL)`);
    this.nextAlarm = new KnownAlarm(ctx.storage);
    void ctx.blockConcurrencyWhile(() => this.nextAlarm.load());
  }

  /** Resolves once the flush is on the shard (its report is queued for the hub); rejects otherwise. */
  write(accountId: string, flush: RoomFlush): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.counters.flushes++;
      this.waiting.push({ flush, bytes: statementBytes(flush), resolve, reject });
      this.drain(accountId);
    });
  }

  /** Sends the queued reports now; resolves with how many are still queued (tests, diagnostics). */
  async deliverReports(): Promise<number> {
    await this.sendQueuedReports();
    return this.queuedReports();
  }

  /** Retries the reports the hub has not taken. */
  override async alarm(): Promise<void> {
    this.nextAlarm.fired();
    await this.sendQueuedReports();
  }

  /** Flushes received and shard requests made since this instance started. */
  async stats(): Promise<{ flushes: number; shardRequests: number }> {
    return { ...this.counters };
  }

  /** Starts shard requests for what is waiting, up to WRITES_IN_FLIGHT at once. */
  private drain(accountId: string): void {
    while (this.inFlight < WRITES_IN_FLIGHT && this.waiting.length > 0) {
      const batch = this.takeBatch();
      this.inFlight++;
      void this.writeTogether(accountId, batch).finally(() => {
        this.inFlight--;
        this.drain(accountId);
      });
    }
  }

  /** Whole flushes, oldest first, up to the size limits (always at least one). */
  private takeBatch(): Waiting[] {
    let statements = 0;
    let bytes = 0;
    let count = 0;
    for (const waiting of this.waiting) {
      const tooMany = statements + waiting.flush.statements.length > MAX_STATEMENTS_PER_WRITE;
      if (count > 0 && (tooMany || bytes + waiting.bytes > MAX_BYTES_PER_WRITE)) break;
      statements += waiting.flush.statements.length;
      bytes += waiting.bytes;
      count++;
    }
    return this.waiting.splice(0, count);
  }

  private async writeTogether(accountId: string, batch: Waiting[]): Promise<void> {
    try {
      // During an account move this throws: the rooms hold their outboxes until the switch.
      const shard = await accountShardForWrite(this.env, accountId);
      try {
        this.counters.shardRequests++;
        await shard.client.batch(batch.flatMap((waiting) => waiting.flush.statements), "write");
      } catch (error) {
        if (batch.length === 1 || !isStatementError(error)) throw error;
        // One room's statements failed the whole transaction: write each room alone, so
        // only the one at fault waits for a retry and every other room's changes land.
        for (const waiting of batch) await this.writeTogether(accountId, [waiting]);
        return;
      }
      this.queueReports(accountId, batch.map((waiting) => waiting.flush.report));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    for (const waiting of batch) waiting.resolve();
    this.ctx.waitUntil(this.sendQueuedReports());
  }

  /** Stores reports for the hub, with the alarm that retries them armed in the same transaction. */
  private queueReports(accountId: string, reports: RoomFlush["report"][]): void {
    this.ctx.storage.transactionSync(() => {
      for (const report of reports) {
        this.ctx.storage.sql.exec("INSERT INTO pending_reports (account_id, payload) VALUES (?, ?)", accountId, JSON.stringify(report));
      }
      this.nextAlarm.armBy(Date.now() + REPORT_RETRY_MAX_MS);
    });
  }

  private queuedReports(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM pending_reports").one().n;
  }

  /** Sends queued reports to the hub, oldest first, one sender at a time (the hub applies them in order). */
  private sendQueuedReports(): Promise<void> {
    this.reportAgain = true;
    this.reporting ??= (async () => {
      try {
        while (this.reportAgain) {
          this.reportAgain = false;
          await this.sendAllQueued();
        }
      } finally {
        this.reporting = null;
      }
    })();
    return this.reporting;
  }

  private queued(limit: number, afterSeq = 0): QueuedReport[] {
    return this.ctx.storage.sql
      .exec<QueuedReport>("SELECT seq, account_id, payload FROM pending_reports WHERE seq > ? ORDER BY seq LIMIT ?", afterSeq, limit)
      .toArray();
  }

  private send(rows: QueuedReport[]): Promise<void> {
    return this.sendReports(rows[0]!.account_id, rows.map((row) => JSON.parse(row.payload) as RoomFlush["report"]));
  }

  private async sendAllQueued(): Promise<void> {
    for (;;) {
      const isolating = Number(this.meta("report_failures") ?? "0") >= ISOLATE_AFTER_FAILURES;
      const rows = this.queued(isolating ? 1 : REPORTS_PER_CALL);
      const last = rows.at(-1);
      if (!last) {
        this.setMeta("report_failures", null);
        this.nextAlarm.clear();
        return;
      }
      try {
        await this.send(rows);
      } catch (error) {
        if (isolating && (await this.setAsideIfRefused(last, error))) continue;
        const failures = Number(this.meta("report_failures") ?? "0") + 1;
        this.setMeta("report_failures", String(failures));
        const delay = Math.min(REPORT_RETRY_MAX_MS, REPORT_RETRY_BASE_MS * 2 ** Math.min(failures - 1, 10));
        console.warn(`account writer: the hub did not take ${rows.length} reports (${failures}x), retrying in ${delay} ms:`, String(error));
        this.nextAlarm.clear();
        this.nextAlarm.armBy(Date.now() + delay);
        return;
      }
      this.ctx.storage.sql.exec("DELETE FROM pending_reports WHERE seq <= ?", last.seq);
      if (isolating) this.setMeta("report_failures", null);
    }
  }

  /**
   * The oldest report failed alone: sends the next one alone. If the hub takes it, the hub is
   * up and refuses that report: it is set aside. True when the queue moved on.
   */
  private async setAsideIfRefused(refused: QueuedReport, error: unknown): Promise<boolean> {
    const next = this.queued(1, refused.seq);
    if (next.length === 0) return false;
    try {
      await this.send(next);
    } catch {
      return false;
    }
    console.error(`account writer: the hub refuses report ${refused.seq} alone while it takes others; set aside:`, String(error));
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec(
        "INSERT OR REPLACE INTO refused_reports (seq, account_id, payload, error, at) VALUES (?, ?, ?, ?, ?)",
        refused.seq,
        refused.account_id,
        refused.payload,
        String(error).slice(0, 1_000),
        Date.now(),
      );
      this.ctx.storage.sql.exec("DELETE FROM pending_reports WHERE seq IN (?, ?)", refused.seq, next[0]!.seq);
      this.setMeta("report_failures", null);
    });
    return true;
  }

  /** Hands reports to the account's hub (a seam for fault-injection tests). */
  protected async sendReports(accountId: string, reports: RoomFlush["report"][]): Promise<void> {
    await accountHub(this.env, accountId).reportTicketChanges(reports);
  }

  private meta(key: string): string | null {
    return this.ctx.storage.sql.exec<{ value: string }>("SELECT value FROM writer_meta WHERE key = ?", key).toArray()[0]?.value ?? null;
  }

  private setMeta(key: string, value: string | null): void {
    if (value === null) this.ctx.storage.sql.exec("DELETE FROM writer_meta WHERE key = ?", key);
    else this.ctx.storage.sql.exec("INSERT OR REPLACE INTO writer_meta (key, value) VALUES (?, ?)", key, value);
  }
}

interface QueuedReport extends Record<string, SqlStorageValue> {
  seq: number;
  account_id: string;
  payload: string;
}

/** About how many bytes a flush's statements take on the wire (their SQL and text arguments). */
function statementBytes(flush: RoomFlush): number {
  let bytes = 0;
  for (const statement of flush.statements) {
    if (typeof statement === "string") {
      bytes += statement.length;
      continue;
    }
    bytes += statement.sql.length;
    const args = statement.args ?? [];
    for (const arg of Array.isArray(args) ? args : Object.values(args)) bytes += typeof arg === "string" ? arg.length : 8;
  }
  return bytes;
}

/** The shard refused a statement (constraint, SQL error), as opposed to being unreachable. */
function isStatementError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_");
}
