import { openShards, parseShardConfig, type Shard } from "../schema/shards.ts";
import { lookupAccountPlacement, PLACEMENT_TTL_MS, type AccountPlacement } from "../schema/directory.ts";
import { AccountMovingError } from "./account-moving.ts";
import { ApiError } from "./http/errors.ts";
import type { Env } from "./env.ts";

// Shard connections are opened once per isolate and configuration; each query is a plain
// HTTP request, so sharing them between requests holds no I/O across requests.

let opened: { key: string; shards: Shard[] } | undefined;

export function shardsOf(env: Pick<Env, "SHARD_URLS" | "SHARD_TOKENS">): Shard[] {
  const key = `${env.SHARD_URLS}|${env.SHARD_TOKENS ?? ""}`;
  if (opened?.key !== key) opened = { key, shards: openShards(parseShardConfig(env)) };
  return opened.shards;
}

/** Shard 0 holds the directory (accounts, logins). */
export function directoryShard(env: Env): Shard {
  const shard = shardsOf(env)[0];
  if (!shard) throw new Error("no shard configured");
  return shard;
}

// The directory changes only when an account moves; a short cache (PLACEMENT_TTL_MS) keeps
// a lookup off every request while letting a move take effect within seconds.
const placements = new Map<string, { placement: AccountPlacement; until: number }>();

async function placementOf(env: Env, accountId: string): Promise<AccountPlacement> {
  const now = Date.now();
  const cached = placements.get(accountId);
  if (cached && cached.until >= now) return cached.placement;
  const placement = await lookupAccountPlacement(directoryShard(env).db, accountId);
  if (placement === null) throw new ApiError(404, "NOT_FOUND", "account not found");
  placements.set(accountId, { placement, until: now + PLACEMENT_TTL_MS });
  return placement;
}

function shardAt(env: Env, accountId: string, index: number): Shard {
  const shard = shardsOf(env)[index];
  if (!shard) throw new Error(`account ${accountId} is placed on shard ${index}, which is not configured`);
  return shard;
}

/** The shard holding an account's data, for reads (also during a move: the source stays whole). */
export async function accountShard(env: Env, accountId: string): Promise<Shard> {
  return shardAt(env, accountId, (await placementOf(env, accountId)).shardIndex);
}

export { AccountMovingError };

/** The shard to write an account's data to; throws AccountMovingError during a move. */
export async function accountShardForWrite(env: Env, accountId: string): Promise<Shard> {
  const placement = await placementOf(env, accountId);
  if (placement.movingToShard !== null) throw new AccountMovingError(`account ${accountId} is moving to shard ${placement.movingToShard}`);
  return shardAt(env, accountId, placement.shardIndex);
}
