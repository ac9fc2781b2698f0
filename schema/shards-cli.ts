// `npm run shards -- move <accountId> <shardIndex>`: moves an account to another shard
// (see move-account.ts) using SHARD_URLS / SHARD_TOKENS.
import { parseArgs } from "node:util";
import { moveAccountToShard } from "./move-account.ts";
import { parseShardConfig, ShardConfigError } from "./shards.ts";

const usage = "usage: npm run shards -- move <accountId> <shardIndex>   (with SHARD_URLS set)";
const { positionals } = parseArgs({ allowPositionals: true, options: {} });
const [command, accountId, targetText] = positionals;
const target = Number(targetText);
if (command !== "move" || !accountId || !Number.isInteger(target) || target < 0) {
  console.error(usage);
  process.exit(2);
}

try {
  const shards = parseShardConfig(process.env);
  const report = await moveAccountToShard(shards, accountId, target, { log: (line) => console.log(line) });
  const total = Object.values(report.rows).reduce((sum, n) => sum + n, 0);
  console.log(`moved ${accountId} from shard ${report.from} to shard ${report.to} (${total} rows copied, every table verified by content; write epoch ${report.writeEpoch})`);
} catch (error) {
  console.error(error instanceof ShardConfigError ? `shards: ${error.message}` : `shards: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
}
