import { describe, expect, it } from "vitest";
import { initials, money, relativeTime } from "./format.ts";

const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);

describe("relativeTime", () => {
  it("counts minutes, hours and days", () => {
    expect(relativeTime(NOW - 10_000, NOW)).toBe("just now");
    expect(relativeTime(NOW + 10_000, NOW)).toBe("just now");
    expect(relativeTime(NOW - 5 * 60_000, NOW)).toBe("5 min ago");
    expect(relativeTime(NOW - 3 * 3_600_000, NOW)).toBe("3 h ago");
    expect(relativeTime(NOW - 2 * 86_400_000, NOW)).toBe("2 d ago");
  });

  it("falls back to a date after a week", () => {
    const text = relativeTime(NOW - 30 * 86_400_000, NOW);
    expect(text).not.toMatch(/ago/);
    expect(text).toMatch(/16|May/);
  });
});

describe("money and initials", () => {
  it("formats cents with the currency", () => {
    expect(money(12_345, "USD")).toMatch(/123[.,]45/);
    expect(money(100, "not-a-currency")).toBe("1.00 not-a-currency");
  });

  it("takes up to two initials", () => {
    expect(initials("Ana Lopez")).toBe("AL");
    expect(initials("jo.smith@example.com")).toBe("JS");
    expect(initials("")).toBe("");
  });
});
