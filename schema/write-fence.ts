// The write fence: every write to an account's shard carries the write epoch of the
// placement the writer looked up, checked by the shard in the same transaction as the
// write (migration `*_write_fence.sql`: a view whose INSTEAD OF trigger aborts with
// WRITE_FENCED unless `account_epochs` holds that epoch). A move sets the source's epoch to
// a new one before it copies, so a writer still holding the old placement cannot write
// behind the copy: its whole batch fails and it retries against the new placement.
// Workers-safe (no Node built-ins).
import type { Client, InArgs, InStatement, Replicated, ResultSet, Transaction, TransactionMode } from "@libsql/client/web";

/** The message the fence aborts with. */
export const WRITE_FENCED = "WRITE_FENCED";

/** The statement that fails the transaction unless this shard accepts `epoch` for the account. */
export function writeFenceStatement(accountId: string, epoch: number): InStatement {
  return { sql: "INSERT INTO write_fence (account_id, epoch) VALUES (?, ?)", args: [accountId, epoch] };
}

/** Sets the epoch a shard accepts for an account (one statement, so one transaction). */
export function setAccountEpochStatement(accountId: string, epoch: number): InStatement {
  return {
    sql: "INSERT INTO account_epochs (account_id, epoch) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET epoch = excluded.epoch",
    args: [accountId, epoch],
  };
}

/** True if the shard refused the write because of the fence (the error or any cause). */
export function isWriteFenced(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof Error && current.message.includes(WRITE_FENCED)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

type BatchItem = InStatement | [string, InArgs?];

function sqlOf(item: BatchItem): string {
  if (typeof item === "string") return item;
  if (Array.isArray(item)) return item[0];
  return item.sql;
}

/** Statements that cannot write pass unfenced (a fence makes any request a write transaction). */
function isRead(item: BatchItem): boolean {
  return /^\s*select\b/i.test(sqlOf(item));
}

export interface FenceHandlers {
  /** The error to throw when a batch or transaction is fenced (the cause is the shard's error). */
  fenced(cause: unknown): Error;
  /**
   * Runs a single fenced statement again once the account's new placement is known. Safe
   * for any statement: the fence rolled the first attempt back, so nothing of it landed.
   */
  replay(statement: InStatement, cause: unknown): Promise<ResultSet>;
}

/**
 * A client whose writes carry the fence: `batch` and `migrate` start with the fence
 * statement (and run as a write transaction), `execute` of a write runs as
 * `batch([fence, statement], "write")`, and an interactive write transaction executes the
 * fence first. Reads pass through. A fenced batch throws `handlers.fenced(...)` (its
 * callers already retry a move); a fenced single statement is replayed on the new
 * placement, so callers that write one statement (a delivery's status, a new customer)
 * need no retry of their own.
 */
export class FencedClient implements Client {
  readonly inner: Client;
  readonly accountId: string;
  readonly epoch: number;
  private readonly handlers: FenceHandlers;

  constructor(inner: Client, accountId: string, epoch: number, handlers: FenceHandlers) {
    this.inner = inner;
    this.accountId = accountId;
    this.epoch = epoch;
    this.handlers = handlers;
  }

  get closed(): boolean {
    return this.inner.closed;
  }

  get protocol(): string {
    return this.inner.protocol;
  }

  private fence(): InStatement {
    return writeFenceStatement(this.accountId, this.epoch);
  }

  execute(stmt: InStatement): Promise<ResultSet>;
  execute(sql: string, args?: InArgs): Promise<ResultSet>;
  async execute(stmt: InStatement, args?: InArgs): Promise<ResultSet> {
    const statement: InStatement = typeof stmt === "string" && args !== undefined ? { sql: stmt, args } : stmt;
    if (isRead(statement)) return this.inner.execute(statement);
    try {
      return await this.executeOnce(statement);
    } catch (error) {
      if (!(error instanceof FencedWrite)) throw error;
      return this.handlers.replay(statement, error.cause);
    }
  }

  /** One fenced attempt of a write; throws FencedWrite (not replayed) if the fence fails. */
  async executeOnce(statement: InStatement): Promise<ResultSet> {
    try {
      const results = await this.inner.batch([this.fence(), statement], "write");
      return results[1]!;
    } catch (error) {
      if (isWriteFenced(error)) throw new FencedWrite(error);
      throw error;
    }
  }

  async batch(stmts: BatchItem[], mode?: TransactionMode): Promise<ResultSet[]> {
    if (stmts.every(isRead)) return this.inner.batch(stmts, mode);
    try {
      return (await this.inner.batch([this.fence(), ...stmts], "write")).slice(1);
    } catch (error) {
      if (isWriteFenced(error)) throw this.handlers.fenced(error);
      throw error;
    }
  }

  async migrate(stmts: InStatement[]): Promise<ResultSet[]> {
    try {
      return (await this.inner.migrate([this.fence(), ...stmts])).slice(1);
    } catch (error) {
      if (isWriteFenced(error)) throw this.handlers.fenced(error);
      throw error;
    }
  }

  transaction(mode?: TransactionMode): Promise<Transaction>;
  transaction(): Promise<Transaction>;
  async transaction(mode?: TransactionMode): Promise<Transaction> {
    if (mode === "read") return this.inner.transaction(mode);
    const transaction = await this.inner.transaction("write");
    try {
      await transaction.execute(this.fence());
    } catch (error) {
      transaction.close();
      if (isWriteFenced(error)) throw this.handlers.fenced(error);
      throw error;
    }
    return transaction;
  }

  /** Unfenceable (no statement boundaries we control): refused on a write shard. */
  async executeMultiple(_sql: string): Promise<void> {
    throw new Error("executeMultiple is not available on an account's write shard (it cannot carry the write fence); use batch");
  }

  sync(): Promise<Replicated> {
    return this.inner.sync();
  }

  close(): void {
    this.inner.close();
  }

  reconnect(): void {
    this.inner.reconnect();
  }
}

/** A single statement's fenced attempt failed; `cause` is the shard's error. */
export class FencedWrite extends Error {
  override name = "FencedWrite";
  constructor(cause: unknown) {
    super(WRITE_FENCED, { cause });
  }
}
