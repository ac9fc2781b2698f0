import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import type { Shard } from "../../schema/shards.ts";
import { accountSettings } from "../../schema/tables.ts";
import { constantTimeEqual } from "../auth/password.ts";
import type { Env } from "../env.ts";
import { ApiError } from "../http/errors.ts";
import { accountShard, accountShardForWrite } from "../shards.ts";

// Inbound webhooks (`POST /webhooks/:accountId/...`) carry the account's shared secret in
// `Authorization: Bearer <secret>` or `X-Webhook-Secret: <secret>` (or as the Basic-auth
// password, see presentedSecret). An unknown account, a
// missing secret and a wrong one all get the same 401, so the endpoint never tells whether
// an account exists. Secrets are cached briefly per isolate (a rotated secret takes effect
// within SECRET_TTL_MS).

export type WebhookEnv = {
  Bindings: Env;
  Variables: { webhookAccountId: string; webhookShard: Shard };
};

const SECRET_TTL_MS = 30_000;
/** Unknown accounts are remembered for less time, so a new account works promptly. */
const UNKNOWN_TTL_MS = 5_000;
const CACHE_LIMIT = 1_000;
const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,64}$/;

type Cached = { secret: Uint8Array | null; until: number };
const cache = new Map<string, Cached>();

/** Compared against when the account is unknown, so that path does the same work. */
const DECOY_SECRET = new TextEncoder().encode("decoy-webhook-secret-never-matches-anything-0000");

function unauthorized(): ApiError {
  return new ApiError(401, "UNAUTHORIZED", "a valid webhook secret is required");
}

/**
 * The secret the request presents, or "" when none: `Authorization: Bearer <secret>`,
 * `X-Webhook-Secret: <secret>`, or HTTP Basic with the secret as the password (for senders
 * that cannot set headers but take credentials in the URL, as Twilio does:
 * `https://any:<secret>@host/webhooks/<account>/sms`).
 */
export function presentedSecret(headers: { header(name: string): string | undefined }): string {
  const authorization = (headers.header("Authorization") ?? "").trim();
  const bearer = /^Bearer[ \t]+(.+)$/i.exec(authorization);
  if (bearer?.[1]) return bearer[1].trim();
  const basic = /^Basic[ \t]+([A-Za-z0-9+/=]+)$/i.exec(authorization);
  if (basic?.[1]) {
    try {
      const decoded = new TextDecoder().decode(Uint8Array.from(atob(basic[1]), (char) => char.charCodeAt(0)));
      const colon = decoded.indexOf(":");
      if (colon !== -1) return decoded.slice(colon + 1);
    } catch {
      return "";
    }
  }
  return headers.header("X-Webhook-Secret")?.trim() ?? "";
}

async function lookup(env: Env, accountId: string): Promise<Cached> {
  const now = Date.now();
  const hit = cache.get(accountId);
  if (hit && hit.until > now) return hit;
  let row: { secret: string } | undefined;
  try {
    const shard = await accountShard(env, accountId);
    row = await shard.db
      .select({ secret: accountSettings.webhookSecret })
      .from(accountSettings)
      .where(eq(accountSettings.accountId, accountId))
      .get();
  } catch (error) {
    // The directory's "account not found" is a 401 like any other; a store that does not
    // answer is a 503, which webhook senders retry.
    if (error instanceof ApiError && error.status === 404) return remember(accountId, { secret: null, until: now + UNKNOWN_TTL_MS });
    if (error instanceof ApiError) throw error;
    console.error(`webhook secret lookup for ${accountId} failed`, error);
    throw new ApiError(503, "UNAVAILABLE", "the account store is unreachable; try again shortly");
  }
  const secret = row?.secret ? new TextEncoder().encode(row.secret) : null;
  return remember(accountId, { secret, until: now + (secret ? SECRET_TTL_MS : UNKNOWN_TTL_MS) });
}

function remember(accountId: string, entry: Cached): Cached {
  cache.delete(accountId);
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(accountId, entry);
  return entry;
}

/** Forgets cached secrets (tests, or after rotating a secret in this isolate). */
export function forgetWebhookSecrets(): void {
  cache.clear();
}

/** Requires the account's webhook secret; sets `webhookAccountId` and `webhookShard`. */
export const requireWebhookSecret = createMiddleware<WebhookEnv>(async (c, next) => {
  const accountId = c.req.param("accountId") ?? "";
  const presented = new TextEncoder().encode(presentedSecret(c.req));
  if (!ACCOUNT_ID.test(accountId)) throw unauthorized();
  const known = await lookup(c.env, accountId);
  const matches = constantTimeEqual(presented, known.secret ?? DECOY_SECRET);
  if (!known.secret || presented.length === 0 || !matches) throw unauthorized();
  c.set("webhookAccountId", accountId);
  // Placement has its own short cache (an account may move between shards).
  c.set("webhookShard", await accountShardForWrite(c.env, accountId));
  await next();
});
