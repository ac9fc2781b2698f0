import { DurableObject } from "cloudflare:workers";
import type { InStatement } from "@libsql/client/web";
import type { Env } from "../worker/env.ts";
import { accountHub } from "../worker/live/hub.ts";
import { accountShardForWrite } from "../worker/shards.ts";
import type { TicketChangeReport } from "./ticket-room/room-api.ts";
import type { TicketRecord } from "./ticket-room/ticket-record.ts";

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
/**
 * Shard requests in flight at once: the next one uploads while the shard runs the current
 * one (the shard serialises the writes themselves). Per ticket, order is kept by the room,
 * which has at most one flush at a time.
 */
const WRITES_IN_FLIGHT = 2;

interface Waiting {
  flush: RoomFlush;
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
 * arrive while one write is in flight go out together in the next one. Nothing here is
 * durable and nothing needs to be: a room keeps its outbox until `write` resolves, so a
 * writer that dies mid-request only makes its callers retry (every statement is idempotent).
 */
export class AccountWriter extends DurableObject<Env> {
  private waiting: Waiting[] = [];
  private inFlight = 0;
  /** Since this instance started (tests, diagnostics). */
  private readonly counters = { flushes: 0, shardRequests: 0 };

  /** Resolves once the flush is on the shard and the hub has its report; rejects otherwise. */
  write(accountId: string, flush: RoomFlush): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.counters.flushes++;
      this.waiting.push({ flush, resolve, reject });
      this.drain(accountId);
    });
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

  /** Whole flushes, oldest first, up to the size limit (always at least one). */
  private takeBatch(): Waiting[] {
    let statements = 0;
    let count = 0;
    for (const waiting of this.waiting) {
      if (count > 0 && statements + waiting.flush.statements.length > MAX_STATEMENTS_PER_WRITE) break;
      statements += waiting.flush.statements.length;
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
      await accountHub(this.env, accountId).reportTicketChanges(batch.map((waiting) => waiting.flush.report));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    for (const waiting of batch) waiting.resolve();
  }
}

/** The shard refused a statement (constraint, SQL error), as opposed to being unreachable. */
function isStatementError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_");
}
