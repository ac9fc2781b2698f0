// Node-side migrator: applies schema/migrations (drizzle-kit output plus the hand-written
// FTS migration) to every shard. Idempotent: drizzle records applied migrations in the
// `__drizzle_migrations` table of each shard and skips them on the next run.
// Not Workers-safe (node:url, the node build of @libsql/client); not re-exported by index.ts.
import { fileURLToPath } from "node:url";
import { createClient } from "@libsql/client";
import type { Client } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import type { ShardConnection } from "./shards.ts";

/** Absolute path of the migrations folder. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL("./migrations/", import.meta.url));

export type ShardMigrationResult = {
  url: string;
  /** Migrations applied by this run (0 when the shard was already up to date). */
  applied: number;
  /** Migrations recorded on the shard after this run. */
  total: number;
};

async function countApplied(client: Client): Promise<number> {
  const table = await client.execute(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'",
  );
  if (table.rows.length === 0) return 0;
  const result = await client.execute("SELECT count(*) AS n FROM __drizzle_migrations");
  return Number(result.rows[0]?.["n"] ?? 0);
}

/** Brings one shard up to date. */
export async function migrateShard(shard: ShardConnection): Promise<ShardMigrationResult> {
  const client = createClient(shard.authToken ? { url: shard.url, authToken: shard.authToken } : { url: shard.url });
  try {
    const before = await countApplied(client);
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
    const total = await countApplied(client);
    return { url: shard.url, applied: total - before, total };
  } catch (error) {
    throw new Error(`migrating shard ${shard.url} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  } finally {
    client.close();
  }
}

/** Applies the migrations folder to every shard, one after another, in order. */
export async function migrateShards(shards: readonly ShardConnection[]): Promise<ShardMigrationResult[]> {
  const results: ShardMigrationResult[] = [];
  for (const shard of shards) results.push(await migrateShard(shard));
  return results;
}
