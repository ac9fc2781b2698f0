import { openShards, parseShardConfig, type Shard } from "../schema/shards.ts";
import { lookupAccountShard } from "../schema/directory.ts";
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

// The directory changes only when an account moves; a short cache keeps a lookup off
// every request while letting a move take effect within seconds.
const PLACEMENT_TTL_MS = 10_000;
const placements = new Map<string, { index: number; until: number }>();

/** The shard holding an account's data. */
export async function accountShard(env: Env, accountId: string): Promise<Shard> {
  const now = Date.now();
  let index = placements.get(accountId);
  if (!index || index.until < now) {
    const found = await lookupAccountShard(directoryShard(env).db, accountId);
    if (found === null) throw new ApiError(404, "NOT_FOUND", "account not found");
    index = { index: found, until: now + PLACEMENT_TTL_MS };
    placements.set(accountId, index);
  }
  const shard = shardsOf(env)[index.index];
  if (!shard) throw new Error(`account ${accountId} is placed on shard ${index.index}, which is not configured`);
  return shard;
}
