import { openShards, parseShardConfig, type Shard } from "../schema/shards.ts";
import { AccountPlacements, UnknownAccountError } from "../schema/placements.ts";
import { AccountMovingError } from "./account-moving.ts";
import { ApiError } from "./http/errors.ts";
import type { Env } from "./env.ts";

// Shard connections are opened once per isolate and configuration; each query is a plain
// HTTP request, so sharing them between requests holds no I/O across requests.

let opened: { key: string; shards: Shard[]; placements: AccountPlacements } | undefined;

function openedFor(env: Pick<Env, "SHARD_URLS" | "SHARD_TOKENS">): { shards: Shard[]; placements: AccountPlacements } {
  const key = `${env.SHARD_URLS}|${env.SHARD_TOKENS ?? ""}`;
  if (opened?.key !== key) {
    const shards = openShards(parseShardConfig(env));
    opened = { key, shards, placements: new AccountPlacements(shards) };
  }
  return opened;
}

export function shardsOf(env: Pick<Env, "SHARD_URLS" | "SHARD_TOKENS">): Shard[] {
  return openedFor(env).shards;
}

/** Shard 0 holds the directory (accounts, logins). */
export function directoryShard(env: Env): Shard {
  const shard = shardsOf(env)[0];
  if (!shard) throw new Error("no shard configured");
  return shard;
}

/** An unknown account is a 404 at the edge. */
async function orNotFound<T>(lookup: Promise<T>): Promise<T> {
  try {
    return await lookup;
  } catch (error) {
    if (error instanceof UnknownAccountError) throw new ApiError(404, "NOT_FOUND", "account not found");
    throw error;
  }
}

/** The shard holding an account's data, for reads (also during a move: the source stays whole). */
export function accountShard(env: Env, accountId: string): Promise<Shard> {
  return orNotFound(openedFor(env).placements.shardForRead(accountId));
}

export { AccountMovingError };

/**
 * The shard to write an account's data to; throws AccountMovingError during a move. Its
 * writes carry the account's write fence (schema/write-fence.ts): a batch written with a
 * placement a move has since retired fails whole with AccountMovingError (no SQLITE_ code,
 * so the AccountWriter rejects it for a retry instead of splitting it), and a single write
 * statement is replayed on the new placement once the move is over.
 */
export function accountShardForWrite(env: Env, accountId: string): Promise<Shard> {
  return orNotFound(openedFor(env).placements.shardForWrite(accountId));
}
