// What a ticket room does after one attempt to hand an outbound email or SMS to its provider:
// pure, so the schedule is tested without a runtime (delivery-retry.test.ts). The room keeps
// each delivery in its own storage from the commit that made it until the shard records its
// outcome, and retries from its alarm.

/** The first retry waits this long, then the wait doubles… */
export const DELIVERY_RETRY_BASE_MS = 2_000;
/** …up to this. */
export const DELIVERY_RETRY_MAX_MS = 10 * 60_000;
/** A delivery still failing this long after its first attempt is given up and marked failed. */
export const DELIVERY_GIVE_UP_MS = 24 * 60 * 60_000;

export type AttemptOutcome = { ok: true } | { ok: false; retryable: boolean; error: string };

export interface DeliveryAttempts {
  /** Attempts made before this one. */
  attempts: number;
  /** When the first attempt was made (epoch ms). */
  firstAttemptAt: number;
}

export type NextStep =
  | { kind: "sent" }
  | { kind: "retry"; at: number; attempts: number; error: string }
  | { kind: "give-up"; attempts: number; error: string };

/** The wait before attempt number `attempts + 1`, after `attempts` failures. */
export function retryDelay(attempts: number): number {
  return Math.min(DELIVERY_RETRY_MAX_MS, DELIVERY_RETRY_BASE_MS * 2 ** Math.max(0, Math.min(attempts - 1, 20)));
}

/** Sent; retried later with backoff; or given up (the provider refused for good, or it kept failing too long). */
export function nextStep(before: DeliveryAttempts, outcome: AttemptOutcome, now: number): NextStep {
  if (outcome.ok) return { kind: "sent" };
  const attempts = before.attempts + 1;
  if (!outcome.retryable) return { kind: "give-up", attempts, error: outcome.error };
  const at = now + retryDelay(attempts);
  if (at - before.firstAttemptAt > DELIVERY_GIVE_UP_MS) return { kind: "give-up", attempts, error: outcome.error };
  return { kind: "retry", at, attempts, error: outcome.error };
}

/** The internal note a room adds to the thread when it gives a reply up, so agents see it. */
export function failureNote(channel: "email" | "sms", toAddress: string | null, attempts: number, error: string): string {
  const what = channel === "email" ? "This email reply" : "This SMS reply";
  const to = toAddress ? ` to ${toAddress}` : "";
  const tries = attempts === 1 ? "1 attempt" : `${attempts} attempts`;
  return `${what}${to} could not be delivered (${tries}; last error: ${error.slice(0, 300)}). The customer has not received it.`;
}
