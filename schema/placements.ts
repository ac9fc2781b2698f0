// Where an account's reads and writes go: the directory's placement, cached per isolate,
// and the write fence on every write (schema/write-fence.ts). Workers-safe (no Node
// built-ins). `worker/shards.ts` adapts it to the Worker's env; the move tests
// (schema/move-account.test.ts) drive this same code from Node, so the write path they
// exercise is the Worker's.
import type { InStatement, ResultSet } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import { lookupAccountPlacement, PLACEMENT_TTL_MS, type AccountPlacement } from "./directory.ts";
import type { Shard } from "./shards.ts";
import * as tables from "./tables.ts";
import { FencedClient, FencedWrite } from "./write-fence.ts";

/** Thrown to writers while their account is being moved between shards; they keep their changes and retry. */
export class AccountMovingError extends Error {
  override name = "AccountMovingError";
}

/** The directory has no such account. */
export class UnknownAccountError extends Error {
  override name = "UnknownAccountError";
}

/** A write the shard refused because the writer's placement is stale (the account moved or is moving). */
export type FencedWriteEvent = { accountId: string; shardIndex: number; epoch: number; replayed: boolean };

export interface PlacementOptions {
  /** How long a looked-up placement is reused (default PLACEMENT_TTL_MS). */
  ttlMs?: number;
  /** How long a fenced single statement waits for the move to finish before giving up (default 2 minutes). */
  replayLimitMs?: number;
  /** Told of every fenced write (default: a console warning; tests use it to see the fence act). */
  onFenced?: (event: FencedWriteEvent) => void;
}

const REPLAY_LIMIT_MS = 120_000;
const REPLAY_FIRST_DELAY_MS = 250;
const REPLAY_MAX_DELAY_MS = 4_000;

type Cached = { placement: AccountPlacement; until: number; writeShard?: { shard: Shard; client: FencedClient } };

/**
 * The placement cache and the shard choice for reads and writes, over one set of open
 * shards (shard 0 holds the directory).
 */
export class AccountPlacements {
  // The directory changes only when an account moves; a short cache keeps a lookup off
  // every request while letting a move take effect within seconds. A fenced write drops
  // the entry at once, so its retry reads the directory.
  private readonly cache = new Map<string, Cached>();
  private readonly shards: readonly Shard[];
  private readonly ttlMs: number;
  private readonly replayLimitMs: number;
  private readonly onFenced: (event: FencedWriteEvent) => void;

  constructor(shards: readonly Shard[], options: PlacementOptions = {}) {
    this.shards = shards;
    this.ttlMs = options.ttlMs ?? PLACEMENT_TTL_MS;
    this.replayLimitMs = options.replayLimitMs ?? REPLAY_LIMIT_MS;
    this.onFenced =
      options.onFenced ??
      ((event) => console.warn(`write fence: account ${event.accountId}'s write with epoch ${event.epoch} refused by shard ${event.shardIndex} (moved or moving)${event.replayed ? "; replaying on the new placement" : ""}`));
  }

  /** The account's placement, from the cache when fresh enough. Throws UnknownAccountError. */
  async placement(accountId: string): Promise<AccountPlacement> {
    return (await this.entry(accountId)).placement;
  }

  /** Drops the cached placement, so the next use reads the directory. */
  forget(accountId: string): void {
    this.cache.delete(accountId);
  }

  /** The shard holding an account's data, for reads (also during a move: the source stays whole). */
  async shardForRead(accountId: string): Promise<Shard> {
    return this.shardAt(accountId, (await this.placement(accountId)).shardIndex);
  }

  /**
   * The shard to write an account's data to, its writes fenced with the placement's epoch;
   * throws AccountMovingError during a move. A fenced batch throws AccountMovingError too
   * (no SQLITE_ code: it is the placement that failed, not a statement).
   */
  async shardForWrite(accountId: string): Promise<Shard> {
    return (await this.writeTarget(accountId)).shard;
  }

  private async entry(accountId: string): Promise<Cached> {
    const now = Date.now();
    const cached = this.cache.get(accountId);
    if (cached && cached.until >= now) return cached;
    const directory = this.shards[0];
    if (!directory) throw new Error("no shard configured");
    const placement = await lookupAccountPlacement(directory.db, accountId);
    if (placement === null) throw new UnknownAccountError(`account ${accountId} is not in the directory`);
    const entry: Cached = { placement, until: now + this.ttlMs };
    this.cache.set(accountId, entry);
    return entry;
  }

  private async writeTarget(accountId: string): Promise<{ shard: Shard; client: FencedClient }> {
    const entry = await this.entry(accountId);
    const { placement } = entry;
    if (placement.movingToShard !== null) throw new AccountMovingError(`account ${accountId} is moving to shard ${placement.movingToShard}`);
    if (!entry.writeShard) {
      const shard = this.shardAt(accountId, placement.shardIndex);
      const client = new FencedClient(shard.client, accountId, placement.writeEpoch, {
        fenced: (cause) => {
          this.fenced(accountId, placement, false);
          return new AccountMovingError(
            `account ${accountId} moved or is moving: shard ${placement.shardIndex} no longer accepts write epoch ${placement.writeEpoch}`,
            { cause },
          );
        },
        replay: (statement) => {
          this.fenced(accountId, placement, true);
          return this.replay(accountId, statement);
        },
      });
      entry.writeShard = { shard: { index: shard.index, client, db: drizzle(client, { schema: tables }) }, client };
    }
    return entry.writeShard;
  }

  private fenced(accountId: string, placement: AccountPlacement, replayed: boolean): void {
    // Only drop the entry the fenced writer used; a newer one may already be cached.
    if (this.cache.get(accountId)?.placement === placement) this.forget(accountId);
    this.onFenced({ accountId, shardIndex: placement.shardIndex, epoch: placement.writeEpoch, replayed });
  }

  /**
   * A fenced single statement, run again on the account's placement once the move is over
   * (looked up afresh each time: a cached "moving" placement would outlive the move).
   */
  private async replay(accountId: string, statement: InStatement): Promise<ResultSet> {
    const deadline = Date.now() + this.replayLimitMs;
    for (let delay = REPLAY_FIRST_DELAY_MS; ; delay = Math.min(delay * 2, REPLAY_MAX_DELAY_MS)) {
      this.forget(accountId);
      try {
        return await (await this.writeTarget(accountId)).client.executeOnce(statement);
      } catch (error) {
        if (!(error instanceof AccountMovingError || error instanceof FencedWrite)) throw error;
        if (Date.now() + delay > deadline) {
          throw new AccountMovingError(`account ${accountId} is still moving after ${this.replayLimitMs} ms; the write was not made`, { cause: error });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  private shardAt(accountId: string, index: number): Shard {
    const shard = this.shards[index];
    if (!shard) throw new Error(`account ${accountId} is placed on shard ${index}, which is not configured`);
    return shard;
  }
}
