import type { Shard } from "../../schema/shards.ts";
import type { BusinessHours } from "../../schema/tables.ts";
import type { StoredRule } from "../../worker/rules/engine.ts";

// What the rules engine needs besides the ticket: the account's rules and business hours,
// and the customer (for conditions and templates). Read from the shard and kept for a
// short while, so a busy ticket does not read its account's rules on every message; a
// stale copy is used while the shard is unreachable rather than skipping automation.

const FRESH_FOR_MS = 30_000;

export interface RuleContext {
  rules: StoredRule[];
  businessHours: BusinessHours;
  timeZone: string;
  customer: { id: string; email: string | null; name: string | null; phone: string | null };
}

export class RuleContextCache {
  private cached: { key: string; context: RuleContext; at: number } | null = null;

  async get(shard: () => Promise<Shard>, accountId: string, customerId: string): Promise<RuleContext | null> {
    const key = `${accountId}:${customerId}`;
    const now = Date.now();
    if (this.cached?.key === key && now - this.cached.at < FRESH_FOR_MS) return this.cached.context;
    try {
      const context = await load(await shard(), accountId, customerId);
      this.cached = { key, context, at: now };
      return context;
    } catch (error) {
      console.warn(`rules: cannot load the rules of ${accountId}`, String(error));
      return this.cached?.key === key ? this.cached.context : null;
    }
  }
}

async function load(shard: Shard, accountId: string, customerId: string): Promise<RuleContext> {
  const [rules, settings, customer] = await shard.client.batch(
    [
      {
        sql: "SELECT id, name, event, conditions, actions, position, enabled FROM rules WHERE account_id = ? AND enabled = 1",
        args: [accountId],
      },
      { sql: "SELECT time_zone, business_hours FROM account_settings WHERE account_id = ?", args: [accountId] },
      { sql: "SELECT id, email, name, phone FROM customers WHERE id = ? AND account_id = ?", args: [customerId, accountId] },
    ],
    "read",
  );
  const parse = (text: unknown): unknown => {
    try {
      return JSON.parse(String(text));
    } catch {
      return null; // The engine skips a rule whose stored JSON no longer validates.
    }
  };
  const settingsRow = settings?.rows[0];
  const customerRow = customer?.rows[0];
  const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
  return {
    rules: (rules?.rows ?? []).map((row) => ({
      id: String(row.id),
      name: String(row.name),
      event: row.event as StoredRule["event"],
      conditions: parse(row.conditions) as StoredRule["conditions"],
      actions: parse(row.actions) as StoredRule["actions"],
      position: Number(row.position),
      enabled: true,
    })),
    businessHours: (settingsRow ? parse(settingsRow.business_hours) : {}) as BusinessHours,
    timeZone: settingsRow ? String(settingsRow.time_zone) : "UTC",
    customer: {
      id: customerId,
      email: text(customerRow?.email),
      name: text(customerRow?.name),
      phone: text(customerRow?.phone),
    },
  };
}

/** When this customer last got an automatic reply (only read when a rule wants to send one). */
export async function lastAutoReplyAt(shard: Shard, accountId: string, customerId: string): Promise<number | null> {
  const result = await shard.client.execute({
    sql: "SELECT last_sent_at FROM auto_reply_log WHERE account_id = ? AND customer_id = ?",
    args: [accountId, customerId],
  });
  const row = result.rows[0];
  return row ? Number(row.last_sent_at) : null;
}
