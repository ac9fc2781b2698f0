// Moves an account to another shard while its ticket rooms keep accepting writes.
//
// 1. Mark the account as moving in the directory. Writers that look the placement up from
//    now on hold their changes (ticket rooms keep their outboxes; the Worker answers 503).
// 2. Wait out the Workers' placement cache (settleMs), so most writers that looked up the
//    placement before the mark have finished. This is only to spare them a failed write:
//    correctness comes from the fence in step 3.
// 3. Retire the source: in one transaction, set the source shard's write epoch for the
//    account to a new epoch (schema/write-fence.ts). From that commit on, every write
//    batch that carries the old epoch (a slow writer still holding the old placement)
//    fails whole on the source; it either committed before this step, and is copied, or
//    fails and is retried against the new placement.
// 4. Copy every row of the account, table by table in foreign-key order, into the target
//    (after clearing any leftovers of an earlier, interrupted attempt), and set the
//    target's epoch to the new one. Index rows are not copied (FTS rowids are per shard):
//    the target's search triggers index what is copied.
// 5. Verify the copy by content: every table's rows of the account, hashed row by row, must
//    match between source and target (a count would miss an update: a newer ticket
//    version, a delivery marked sent). On a mismatch, or any failure after step 3, the
//    account stays on the source: the directory gets the new epoch for it (the one the
//    source now accepts), the mark is cleared, and the move fails; run it again.
// 6. Switch the directory to the target with the new epoch and clear the mark: held
//    writes go to the new shard.
// The source keeps its copy (reads may still hit it until caches expire); delete it
// later by hand if space matters.
//
// Node-side (the node build of @libsql/client, node:crypto); not Workers-safe.
import { createHash } from "node:crypto";
import { createClient, type Client, type InStatement, type Row } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { lookupAccountPlacement, markAccountMoving, moveAccount, PLACEMENT_TTL_MS } from "./directory.ts";
import type { AnyShardDb, ShardConnection } from "./shards.ts";
import { setAccountEpochStatement } from "./write-fence.ts";

/** Account-owned tables, parents before children. The directory tables are not moved. */
export const ACCOUNT_TABLES = [
  "agents",
  "teams",
  "team_members",
  "customers",
  "tags",
  "tickets",
  "messages",
  "ticket_tags",
  "views",
  "view_follows",
  "macros",
  "rules",
  "help_articles",
  "guidance",
  "ai_settings",
  "orders",
  "billable_interactions",
  "account_settings",
  "outbound_deliveries",
  "auto_reply_log",
] as const;

const COPY_BATCH = 200;

export interface MoveOptions {
  /**
   * How long to let writers that cached the placement before the mark finish (the Worker's
   * PLACEMENT_TTL_MS plus margin). Spares them a fenced write; 0 is safe.
   */
  settleMs?: number;
  log?: (line: string) => void;
  /** Runs between the copy and the verification (tests play a late writer here). */
  afterCopy?: () => Promise<void>;
}

export interface MoveReport {
  accountId: string;
  from: number;
  to: number;
  rows: Record<string, number>;
  /** The write epoch the account has on its shard after the move. */
  writeEpoch: number;
}

/** The copy on the target does not match the source; the account stays where it was. */
export class MoveVerificationError extends Error {
  override name = "MoveVerificationError";
}

export async function moveAccountToShard(
  shards: readonly ShardConnection[],
  accountId: string,
  target: number,
  options: MoveOptions = {},
): Promise<MoveReport> {
  const log = options.log ?? (() => {});
  const clients = shards.map((shard) => createClient(shard.authToken ? { url: shard.url, authToken: shard.authToken } : { url: shard.url }));
  try {
    const directory = drizzle(clients[0]!);
    const placement = await lookupAccountPlacement(directory, accountId);
    if (!placement) throw new Error(`account ${accountId} is not in the directory`);
    if (!clients[target]) throw new Error(`there is no shard ${target} (shards: 0..${clients.length - 1})`);
    const from = placement.shardIndex;
    if (from === target) {
      log(`account ${accountId} already lives on shard ${target}`);
      return { accountId, from, to: target, rows: {}, writeEpoch: placement.writeEpoch };
    }
    // A re-run after an interrupted move reads the same epoch and picks the same new one.
    const epoch = placement.writeEpoch + 1;

    await markAccountMoving(directory, accountId, target);
    log(`marked ${accountId} as moving ${from} → ${target}; waiting for writers to settle`);
    await new Promise((resolve) => setTimeout(resolve, options.settleMs ?? PLACEMENT_TTL_MS + 5_000));
    const source = clients[from]!;
    const destination = clients[target]!;
    try {
      await source.execute(setAccountEpochStatement(accountId, epoch));
      log(`shard ${from} now refuses writes of ${accountId} with an epoch below ${epoch}`);
      await clearAccount(destination, accountId, epoch);
      const rows: Record<string, number> = {};
      for (const table of ACCOUNT_TABLES) {
        rows[table] = await copyTable(source, destination, table, accountId);
        log(`copied ${rows[table]} rows of ${table}`);
      }
      await options.afterCopy?.();
      for (const table of ACCOUNT_TABLES) {
        const [a, b] = await Promise.all([tableDigest(source, table, accountId), tableDigest(destination, table, accountId)]);
        if (a.rows !== b.rows || a.digest !== b.digest) {
          throw new MoveVerificationError(
            `verification failed: ${table} of ${accountId} differs between shard ${from} (${a.rows} rows) and shard ${target} (${b.rows} rows)` +
              (a.rows === b.rows ? " in content" : "") +
              `; the account stays on shard ${from}`,
          );
        }
      }
      log(`verified every table's content`);
      await moveAccount(directory, accountId, target, epoch);
      log(`switched ${accountId} to shard ${target}`);
      return { accountId, from, to: target, rows, writeEpoch: epoch };
    } catch (error) {
      await stayOnSource(directory, source, accountId, from, epoch, error);
      throw error;
    }
  } finally {
    for (const client of clients) client.close();
  }
}

/**
 * After a failed move the account stays on the source, reopened for writers under the new
 * epoch (whether or not the retire step committed, the source is made to accept exactly
 * that epoch, then the directory hands it out). If the source cannot be reached, the
 * account is left marked moving, so writers keep holding their changes until a re-run.
 */
async function stayOnSource(directory: AnyShardDb, source: Client, accountId: string, from: number, epoch: number, cause: unknown): Promise<void> {
  try {
    await source.execute(setAccountEpochStatement(accountId, epoch));
  } catch (error) {
    throw new Error(
      `moving ${accountId} failed (${cause instanceof Error ? cause.message : String(cause)}) and shard ${from} could not be reopened ` +
        `(${error instanceof Error ? error.message : String(error)}): the account stays marked moving; run the move again`,
      { cause },
    );
  }
  try {
    await moveAccount(directory, accountId, from, epoch);
  } catch (error) {
    throw new Error(
      `moving ${accountId} failed (${cause instanceof Error ? cause.message : String(cause)}) and the directory could not be reset ` +
        `(${error instanceof Error ? error.message : String(error)}): the account stays marked moving; run the move again`,
      { cause },
    );
  }
}

/**
 * Removes the account's rows from a shard, children first, and sets the epoch the shard
 * will accept once the directory points at it (nothing hands that epoch out before).
 */
async function clearAccount(client: Client, accountId: string, epoch: number): Promise<void> {
  const statements: InStatement[] = [
    { sql: "DELETE FROM tickets_fts WHERE account_id = ?", args: [accountId] },
    ...[...ACCOUNT_TABLES].reverse().map((table) => ({ sql: `DELETE FROM "${table}" WHERE account_id = ?`, args: [accountId] })),
    setAccountEpochStatement(accountId, epoch),
  ];
  await client.batch(statements, "write");
}

/** One table's rows of the account, a page at a time in rowid order (rowid itself left out). */
async function* tablePages(client: Client, table: string, accountId: string): AsyncGenerator<{ columns: string[]; rows: Row[] }> {
  let lastRowid = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const page = await client.execute({
      sql: `SELECT rowid AS __rowid, * FROM "${table}" WHERE account_id = ? AND rowid > ? ORDER BY rowid LIMIT ?`,
      args: [accountId, lastRowid, COPY_BATCH],
    });
    if (page.rows.length === 0) return;
    yield { columns: page.columns.filter((column) => column !== "__rowid"), rows: page.rows };
    lastRowid = Number(page.rows.at(-1)!.__rowid);
  }
}

/** Copies one table's rows of the account in rowid pages; returns how many were copied. */
async function copyTable(source: Client, destination: Client, table: string, accountId: string): Promise<number> {
  let copied = 0;
  for await (const { columns, rows } of tablePages(source, table, accountId)) {
    const insert = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;
    await destination.batch(
      rows.map((row) => ({ sql: insert, args: columns.map((column) => row[column] ?? null) })),
      "write",
    );
    copied += rows.length;
  }
  return copied;
}

/**
 * A table's rows of the account as (count, digest): every row's columns hashed (SHA-256 of
 * a canonical JSON), the hashes summed modulo 2^128. The sum does not depend on row order,
 * so each shard is read in its own rowid order (rowids differ between shards).
 */
async function tableDigest(client: Client, table: string, accountId: string): Promise<{ rows: number; digest: string }> {
  const modulus = 1n << 128n;
  let sum = 0n;
  let count = 0;
  for await (const { columns, rows } of tablePages(client, table, accountId)) {
    for (const row of rows) {
      const values = columns.map((column) => canonical(row[column] ?? null));
      const hash = createHash("sha256").update(JSON.stringify([columns, values])).digest("hex");
      sum = (sum + BigInt(`0x${hash.slice(0, 32)}`)) % modulus;
    }
    count += rows.length;
  }
  return { rows: count, digest: sum.toString(16) };
}

/** A column value as JSON-safe text that tells the types apart (1 vs "1", blobs by content). */
function canonical(value: unknown): unknown {
  if (value === null || typeof value === "string" || typeof value === "number") return value;
  if (typeof value === "bigint") return { int: value.toString() };
  if (value instanceof ArrayBuffer) return { blob: Buffer.from(value).toString("hex") };
  if (ArrayBuffer.isView(value)) return { blob: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex") };
  return { other: String(value) };
}
