// `npm run migrate`: applies the migrations to every shard in SHARD_URLS / SHARD_TOKENS.
//   SHARD_URLS=file:.data/shard-0.db,file:.data/shard-1.db npm run migrate
import { migrateShards } from "./migrate.ts";
import { parseShardConfig, ShardConfigError } from "./shards.ts";

try {
  const shards = parseShardConfig(process.env);
  const results = await migrateShards(shards);
  for (const [index, result] of results.entries()) {
    console.log(
      `shard ${index} (${result.url}): ${result.applied === 0 ? "up to date" : `applied ${result.applied}`}, ${result.total} migrations in total`,
    );
  }
} catch (error) {
  console.error(error instanceof ShardConfigError ? `migrate: ${error.message}` : error);
  process.exitCode = 1;
}
