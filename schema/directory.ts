// The shard directory: which shard holds an account, and which account an agent's login
// email belongs to. The directory tables (`accounts`, `agent_logins`) exist on every
// shard (one schema) but are only read and written on SHARD 0: pass shard 0's database
// as `directoryDb`. Workers-safe (pure drizzle, no Node built-ins).
//
// New accounts are placed by a stable hash of their id (`placeAccount`), and the result is
// stored in `accounts.shard_index`; after that the stored value is the truth, so an
// account can be moved to another shard later by copying its rows and updating
// `shard_index` (`moveAccount`), and adding shards does not move existing accounts.
import { eq } from "drizzle-orm";
import type { AnyShardDb } from "./shards.ts";
import { accounts, agentLogins } from "./tables.ts";

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a over the UTF-8 bytes of `text`, as an unsigned integer. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

function assertShardCount(shardCount: number): void {
  if (!Number.isInteger(shardCount) || shardCount < 1) {
    throw new RangeError(`shardCount must be a positive integer, got ${shardCount}`);
  }
}

/** The shard a new account goes to: FNV-1a(accountId) mod shardCount. Stable across runs. */
export function placeAccount(accountId: string, shardCount: number): number {
  assertShardCount(shardCount);
  return fnv1a32(accountId) % shardCount;
}

/** The shard index recorded for an account, or null if the account is unknown. */
export async function lookupAccountShard(directoryDb: AnyShardDb, accountId: string): Promise<number | null> {
  const rows = await directoryDb
    .select({ shardIndex: accounts.shardIndex })
    .from(accounts)
    .where(eq(accounts.id, accountId))
    .limit(1);
  return rows[0]?.shardIndex ?? null;
}

/**
 * How long a reader may keep a placement it looked up. A mover waits longer than this after
 * marking an account, so that no writer still uses the old placement when the copy starts.
 */
export const PLACEMENT_TTL_MS = 10_000;

/**
 * Where an account lives, whether it is being moved (writers then hold their changes), and
 * the write epoch its shard accepts (schema/write-fence.ts).
 */
export type AccountPlacement = { shardIndex: number; movingToShard: number | null; writeEpoch: number };

/** Where an account lives, and whether it is being moved (writers then hold their changes). */
export async function lookupAccountPlacement(directoryDb: AnyShardDb, accountId: string): Promise<AccountPlacement | null> {
  const rows = await directoryDb
    .select({ shardIndex: accounts.shardIndex, movingToShard: accounts.movingToShard, writeEpoch: accounts.writeEpoch })
    .from(accounts)
    .where(eq(accounts.id, accountId))
    .limit(1);
  return rows[0] ?? null;
}

/** Marks an account as moving to `shardIndex` (or clears the mark with null). Returns false if unknown. */
export async function markAccountMoving(directoryDb: AnyShardDb, accountId: string, shardIndex: number | null): Promise<boolean> {
  const marked = await directoryDb
    .update(accounts)
    .set({ movingToShard: shardIndex })
    .where(eq(accounts.id, accountId))
    .returning({ id: accounts.id });
  return marked.length > 0;
}

/**
 * Records an account in the directory at its placed shard and returns the account's shard
 * index. Idempotent: if the account is already registered nothing changes and its
 * recorded shard index (which may differ after a move) is returned.
 */
export async function registerAccount(
  directoryDb: AnyShardDb,
  account: { id: string; name: string; createdAt?: number },
  shardCount: number,
): Promise<number> {
  const shardIndex = placeAccount(account.id, shardCount);
  await directoryDb
    .insert(accounts)
    .values({
      id: account.id,
      name: account.name,
      shardIndex,
      ...(account.createdAt === undefined ? {} : { createdAt: account.createdAt }),
    })
    .onConflictDoNothing({ target: accounts.id });
  const recorded = await lookupAccountShard(directoryDb, account.id);
  if (recorded === null) throw new Error(`account ${account.id} was not recorded in the directory`);
  return recorded;
}

/**
 * Points an account at a shard (after its rows have been copied there) and clears the
 * moving mark; with `writeEpoch`, also the epoch that shard accepts for it (the mover sets
 * it on the shard first). Returns false if unknown.
 */
export async function moveAccount(directoryDb: AnyShardDb, accountId: string, shardIndex: number, writeEpoch?: number): Promise<boolean> {
  if (!Number.isInteger(shardIndex) || shardIndex < 0) {
    throw new RangeError(`shardIndex must be a non-negative integer, got ${shardIndex}`);
  }
  const moved = await directoryDb
    .update(accounts)
    .set(writeEpoch === undefined ? { shardIndex, movingToShard: null } : { shardIndex, movingToShard: null, writeEpoch })
    .where(eq(accounts.id, accountId))
    .returning({ id: accounts.id });
  return moved.length > 0;
}

/** Emails are matched case-insensitively: stored and looked up trimmed and lowercase. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export type Login = { accountId: string; agentId: string };

/** The account and agent an email logs in as, or null. */
export async function findLogin(directoryDb: AnyShardDb, email: string): Promise<Login | null> {
  const rows = await directoryDb
    .select({ accountId: agentLogins.accountId, agentId: agentLogins.agentId })
    .from(agentLogins)
    .where(eq(agentLogins.email, normalizeEmail(email)))
    .limit(1);
  return rows[0] ?? null;
}

export class LoginTakenError extends Error {
  override name = "LoginTakenError";
}

/**
 * Makes `email` log in as the given agent. Idempotent for the same agent; throws
 * LoginTakenError if the email already belongs to a different agent (emails are globally
 * unique logins across all accounts).
 */
export async function registerLogin(
  directoryDb: AnyShardDb,
  login: { email: string; accountId: string; agentId: string },
): Promise<Login> {
  const email = normalizeEmail(login.email);
  await directoryDb
    .insert(agentLogins)
    .values({ email, accountId: login.accountId, agentId: login.agentId })
    .onConflictDoNothing({ target: agentLogins.email });
  const existing = await findLogin(directoryDb, email);
  if (existing === null) throw new Error(`login ${email} was not recorded in the directory`);
  if (existing.accountId !== login.accountId || existing.agentId !== login.agentId) {
    throw new LoginTakenError(`the email ${email} is already used by another agent`);
  }
  return existing;
}

/** Removes a login (e.g. when an agent is deleted or changes email). Returns false if absent. */
export async function removeLogin(directoryDb: AnyShardDb, email: string): Promise<boolean> {
  const removed = await directoryDb
    .delete(agentLogins)
    .where(eq(agentLogins.email, normalizeEmail(email)))
    .returning({ email: agentLogins.email });
  return removed.length > 0;
}
