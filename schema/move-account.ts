// Moves an account to another shard while its ticket rooms keep accepting writes.
//
// 1. Mark the account as moving in the directory. Ticket rooms then hold their outboxes
//    (their flush refuses to write while the mark is set) and keep accepting changes.
// 2. Wait out the Workers' placement cache, so no writer still uses the old placement.
// 3. Copy every row of the account, table by table in foreign-key order, into the target
//    (after clearing any leftovers of an earlier, interrupted attempt). Index rows are not
//    copied (FTS rowids are per shard): the target's search triggers index what is copied.
// 4. Verify row counts table by table; on a mismatch, clear the mark and fail.
// 5. Switch the directory and clear the mark: the held outboxes flush to the new shard.
// The source keeps its copy (reads may still hit it until caches expire); delete it
// later by hand if space matters.
//
// Node-side (the node build of @libsql/client); not Workers-safe.
import { createClient, type Client, type InStatement } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { lookupAccountPlacement, markAccountMoving, moveAccount, PLACEMENT_TTL_MS } from "./directory.ts";
import type { ShardConnection } from "./shards.ts";

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
  /** How long writers may keep a cached placement (the Worker's PLACEMENT_TTL_MS plus margin). */
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
      return { accountId, from, to: target, rows: {} };
    }

    await markAccountMoving(directory, accountId, target);
    log(`marked ${accountId} as moving ${from} → ${target}; waiting for writers to settle`);
    await new Promise((resolve) => setTimeout(resolve, options.settleMs ?? PLACEMENT_TTL_MS + 5_000));
    try {
      const source = clients[from]!;
      const destination = clients[target]!;
      await clearAccount(destination, accountId);
      const rows: Record<string, number> = {};
      for (const table of ACCOUNT_TABLES) {
        rows[table] = await copyTable(source, destination, table, accountId);
        log(`copied ${rows[table]} rows of ${table}`);
      }
      await options.afterCopy?.();
      for (const table of ACCOUNT_TABLES) {
        const [a, b] = await Promise.all([countRows(source, table, accountId), countRows(destination, table, accountId)]);
        if (a !== b) throw new Error(`verification failed: ${table} has ${a} rows on shard ${from} but ${b} on shard ${target}`);
      }
      await moveAccount(directory, accountId, target);
      log(`switched ${accountId} to shard ${target}`);
      return { accountId, from, to: target, rows };
    } catch (error) {
      await markAccountMoving(directory, accountId, null);
      throw error;
    }
  } finally {
    for (const client of clients) client.close();
  }
}

async function countRows(client: Client, table: string, accountId: string): Promise<number> {
  const result = await client.execute({ sql: `SELECT count(*) AS n FROM "${table}" WHERE account_id = ?`, args: [accountId] });
  return Number(result.rows[0]?.n ?? 0);
}

/** Removes the account's rows from a shard, children first. */
async function clearAccount(client: Client, accountId: string): Promise<void> {
  const statements: InStatement[] = [
    { sql: "DELETE FROM tickets_fts WHERE account_id = ?", args: [accountId] },
    ...[...ACCOUNT_TABLES].reverse().map((table) => ({ sql: `DELETE FROM "${table}" WHERE account_id = ?`, args: [accountId] })),
  ];
  await client.batch(statements, "write");
}

/** Copies one table's rows of the account in rowid pages; returns how many were copied. */
async function copyTable(source: Client, destination: Client, table: string, accountId: string): Promise<number> {
  let copied = 0;
  let lastRowid = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const page = await source.execute({
      sql: `SELECT rowid AS __rowid, * FROM "${table}" WHERE account_id = ? AND rowid > ? ORDER BY rowid LIMIT ?`,
      args: [accountId, lastRowid, COPY_BATCH],
    });
    if (page.rows.length === 0) return copied;
    const columns = page.columns.filter((column) => column !== "__rowid");
    const insert = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;
    await destination.batch(
      page.rows.map((row) => ({ sql: insert, args: columns.map((column) => row[column] ?? null) })),
      "write",
    );
    copied += page.rows.length;
    lastRowid = Number(page.rows.at(-1)!.__rowid);
  }
}
