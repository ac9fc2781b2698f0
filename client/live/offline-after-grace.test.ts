import { signal } from "@preact/signals";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { offlineAfterGrace } from "./offline-after-grace.ts";

describe("offlineAfterGrace", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("turns on only after the connection has been down for the whole grace period", () => {
    const settled = signal(true);
    const grace = offlineAfterGrace(settled, 2_000);
    settled.value = false;
    vi.advanceTimersByTime(1_999);
    expect(grace.offline.value).toBe(false);
    vi.advanceTimersByTime(1);
    expect(grace.offline.value).toBe(true);
    settled.value = true;
    expect(grace.offline.value).toBe(false);
    grace.dispose();
  });

  it("shows nothing for a blink: a connection back within the grace period starts it anew", () => {
    const settled = signal(false);
    const grace = offlineAfterGrace(settled, 2_000);
    vi.advanceTimersByTime(1_500);
    settled.value = true;
    settled.value = false;
    vi.advanceTimersByTime(1_500);
    expect(grace.offline.value).toBe(false);
    vi.advanceTimersByTime(500);
    expect(grace.offline.value).toBe(true);
    grace.dispose();
  });

  it("leaves no timer behind once disposed", () => {
    const settled = signal(false);
    const grace = offlineAfterGrace(settled, 2_000);
    grace.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });
});
