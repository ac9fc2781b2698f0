import { env } from "cloudflare:test";
import { openShards, parseShardConfig, type Shard } from "../../schema/shards.ts";

/** Direct access to the test shards, to check what really landed in the record. */
export function testShards(): Shard[] {
  return openShards(parseShardConfig(env));
}

/** The shard holding an account, from the directory on shard 0. */
export async function shardOf(accountId: string): Promise<Shard> {
  const shards = testShards();
  const row = (await shards[0]!.client.execute({ sql: "SELECT shard_index FROM accounts WHERE id = ?", args: [accountId] })).rows[0];
  if (!row) throw new Error(`account ${accountId} is not in the directory`);
  return shards[Number(row.shard_index)]!;
}
