import { and, asc, eq, isNull } from "drizzle-orm";
import { customers, ID_PREFIXES, type Customer } from "../../schema/tables.ts";
import type { Shard } from "../../schema/shards.ts";

// Customers are not ticket-owned (no room writes them): the Worker finds or creates them
// directly on the account's shard. A new customer's id is derived from the account and the
// address, so two requests racing to create the same customer (two webhooks for one new
// sender) insert the same row and both end up with it, instead of two look-alike customers.
//
// Pass the shard from `accountShardForWrite` (POST /api/tickets and the channel webhooks
// do): its writes carry the account's write fence, so an insert made with a placement that
// an account move has retired fails on the old shard and is replayed on the new one,
// instead of landing behind the move's copy (schema/write-fence.ts).

export type CustomerContact = Pick<Customer, "id" | "accountId" | "email" | "name" | "phone">;

/** Emails match case-insensitively: stored trimmed and lowercase. */
export function normalizeCustomerEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Digits with a leading "+", separators dropped: "+1 (555) 010-00" → "+155501000". */
export function normalizePhone(phone: string): string {
  return phone.trim().replace(/[\s().-]/g, "");
}

/** E.164-ish: "+", a non-zero digit, 7 to 15 digits in all. */
export const E164 = /^\+[1-9]\d{6,14}$/;

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** `<prefix>_` + 24 hex characters (96 bits) of SHA-256 over the parts: a stable id. */
export async function derivedId(kind: keyof typeof ID_PREFIXES, ...parts: string[]): Promise<string> {
  return `${ID_PREFIXES[kind]}_${(await sha256Hex(parts.join("\u0000"))).slice(0, 24)}`;
}

async function findBy(shard: Shard, accountId: string, field: "email" | "phone", value: string): Promise<CustomerContact | undefined> {
  const column = field === "email" ? customers.email : customers.phone;
  return shard.db
    .select({ id: customers.id, accountId: customers.accountId, email: customers.email, name: customers.name, phone: customers.phone })
    .from(customers)
    .where(and(eq(customers.accountId, accountId), eq(column, value)))
    .orderBy(asc(customers.createdAt), asc(customers.id))
    .get();
}

async function findOrCreate(
  shard: Shard,
  accountId: string,
  field: "email" | "phone",
  value: string,
  name: string | undefined,
): Promise<CustomerContact> {
  const existing = await findBy(shard, accountId, field, value);
  if (existing) {
    if (existing.name === null && name) {
      // Learn the name the first time the customer gives one.
      await shard.db.update(customers).set({ name })
        .where(and(eq(customers.accountId, accountId), eq(customers.id, existing.id), isNull(customers.name)));
      return { ...existing, name };
    }
    return existing;
  }
  const id = await derivedId("customer", accountId, field, value);
  await shard.db
    .insert(customers)
    .values({ id, accountId, email: field === "email" ? value : null, phone: field === "phone" ? value : null, name: name ?? null })
    .onConflictDoNothing({ target: customers.id });
  const created = await findBy(shard, accountId, field, value);
  if (created) return created;
  return { id, accountId, email: field === "email" ? value : null, phone: field === "phone" ? value : null, name: name ?? null };
}

/** The account's customer with this email, created if new. */
export function findOrCreateCustomer(shard: Shard, accountId: string, email: string, name: string | undefined): Promise<CustomerContact> {
  return findOrCreate(shard, accountId, "email", normalizeCustomerEmail(email), name);
}

/** The account's customer with this phone number (normalised, see normalizePhone), created if new. */
export function findOrCreateCustomerByPhone(shard: Shard, accountId: string, phone: string, name?: string): Promise<CustomerContact> {
  return findOrCreate(shard, accountId, "phone", normalizePhone(phone), name);
}
