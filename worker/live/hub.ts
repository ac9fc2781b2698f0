import type { Env } from "../env.ts";

/** The account's AccountHub (its live inbox). */
export function accountHub(env: Env, accountId: string) {
  return env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(accountId));
}

/**
 * Tells the hub that configuration it derives live state from (views, agents' routing
 * settings, follows) changed on the shard. The write has landed; if the hub cannot be told
 * now, its periodic check against the shard catches up, so the caller's answer stands.
 */
export async function configChanged(env: Env, accountId: string): Promise<void> {
  try {
    await accountHub(env, accountId).reloadConfig(accountId);
  } catch (error) {
    console.warn(`account ${accountId}: the hub could not reload its configuration now`, String(error));
  }
}
