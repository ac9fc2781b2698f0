// Where an account's reads and writes go: the directory's placement, cached per isolate.
// Workers-safe (no Node built-ins). `worker/shards.ts` adapts it to the Worker's env; the
// move tests (schema/move-account.test.ts) drive this same code from Node, so the write
// path they exercise is the Worker's.
import { lookupAccountPlacement, PLACEMENT_TTL_MS, type AccountPlacement } from "./directory.ts";
import type { Shard } from "./shards.ts";

/** Thrown to writers while their account is being moved between shards; they keep their changes and retry. */
export class AccountMovingError extends Error {
  override name = "AccountMovingError";
}

/** The directory has no such account. */
export class UnknownAccountError extends Error {
  override name = "UnknownAccountError";
}

export interface PlacementOptions {
  /** How long a looked-up placement is reused (default PLACEMENT_TTL_MS). */
  ttlMs?: number;
}

/**
 * The placement cache and the shard choice for reads and writes, over one set of open
 * shards (shard 0 holds the directory).
 */
export class AccountPlacements {
  // The directory changes only when an account moves; a short cache keeps a lookup off
  // every request while letting a move take effect within seconds.
  private readonly cache = new Map<string, { placement: AccountPlacement; until: number }>();
  private readonly ttlMs: number;
  private readonly shards: readonly Shard[];

  constructor(shards: readonly Shard[], options: PlacementOptions = {}) {
    this.shards = shards;
    this.ttlMs = options.ttlMs ?? PLACEMENT_TTL_MS;
  }

  /** The account's placement, from the cache when fresh enough. Throws UnknownAccountError. */
  async placement(accountId: string): Promise<AccountPlacement> {
    const now = Date.now();
    const cached = this.cache.get(accountId);
    if (cached && cached.until >= now) return cached.placement;
    const directory = this.shards[0];
    if (!directory) throw new Error("no shard configured");
    const placement = await lookupAccountPlacement(directory.db, accountId);
    if (placement === null) throw new UnknownAccountError(`account ${accountId} is not in the directory`);
    this.cache.set(accountId, { placement, until: now + this.ttlMs });
    return placement;
  }

  /** Drops the cached placement, so the next use reads the directory. */
  forget(accountId: string): void {
    this.cache.delete(accountId);
  }

  /** The shard holding an account's data, for reads (also during a move: the source stays whole). */
  async shardForRead(accountId: string): Promise<Shard> {
    return this.shardAt(accountId, (await this.placement(accountId)).shardIndex);
  }

  /** The shard to write an account's data to; throws AccountMovingError during a move. */
  async shardForWrite(accountId: string): Promise<Shard> {
    const placement = await this.placement(accountId);
    if (placement.movingToShard !== null) throw new AccountMovingError(`account ${accountId} is moving to shard ${placement.movingToShard}`);
    return this.shardAt(accountId, placement.shardIndex);
  }

  private shardAt(accountId: string, index: number): Shard {
    const shard = this.shards[index];
    if (!shard) throw new Error(`account ${accountId} is placed on shard ${index}, which is not configured`);
    return shard;
  }
}
