import { describe, expect, it } from "vitest";
import { DELIVERY_GIVE_UP_MS, DELIVERY_RETRY_BASE_MS, DELIVERY_RETRY_MAX_MS, failureNote, nextStep, retryDelay } from "./delivery-retry.ts";

describe("the delivery retry schedule", () => {
  it("backs off exponentially from the base to the cap", () => {
    expect(retryDelay(1)).toBe(DELIVERY_RETRY_BASE_MS);
    expect(retryDelay(2)).toBe(DELIVERY_RETRY_BASE_MS * 2);
    expect(retryDelay(3)).toBe(DELIVERY_RETRY_BASE_MS * 4);
    expect(retryDelay(50)).toBe(DELIVERY_RETRY_MAX_MS);
  });

  it("retries a retryable failure, counting attempts", () => {
    const step = nextStep({ attempts: 2, firstAttemptAt: 0 }, { ok: false, retryable: true, error: "503" }, 1_000);
    expect(step).toEqual({ kind: "retry", at: 1_000 + retryDelay(3), attempts: 3, error: "503" });
  });

  it("gives up at once when the provider refuses for good", () => {
    expect(nextStep({ attempts: 0, firstAttemptAt: 0 }, { ok: false, retryable: false, error: "bad address" }, 5)).toEqual({
      kind: "give-up",
      attempts: 1,
      error: "bad address",
    });
  });

  it("gives up when the next retry would fall past the give-up time", () => {
    const first = 1_000_000;
    const late = first + DELIVERY_GIVE_UP_MS - 1_000;
    expect(nextStep({ attempts: 30, firstAttemptAt: first }, { ok: false, retryable: true, error: "timeout" }, late).kind).toBe("give-up");
    expect(nextStep({ attempts: 1, firstAttemptAt: first }, { ok: false, retryable: true, error: "timeout" }, first + 1).kind).toBe("retry");
  });

  it("is sent on success, whatever came before", () => {
    expect(nextStep({ attempts: 9, firstAttemptAt: 0 }, { ok: true }, 1)).toEqual({ kind: "sent" });
  });

  it("says in the note what was not delivered, where to, and why", () => {
    const note = failureNote("email", "pat@example.com", 4, "421 try later");
    expect(note).toContain("email reply to pat@example.com");
    expect(note).toContain("4 attempts");
    expect(note).toContain("421 try later");
  });
});
