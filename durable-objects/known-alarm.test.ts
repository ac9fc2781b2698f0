import { describe, expect, it } from "vitest";
import { KnownAlarm } from "./known-alarm.ts";

/** The part of DurableObjectStorage KnownAlarm uses, refusing a time <= 0 as workerd does. */
function storage() {
  const calls: number[] = [];
  let alarm: number | null = null;
  const fake = {
    calls,
    async getAlarm() {
      return alarm;
    },
    async setAlarm(at: number) {
      if (at <= 0) throw new TypeError("setAlarm() cannot be called with an alarm time <= 0");
      calls.push(at);
      alarm = at;
    },
    async deleteAlarm() {
      alarm = null;
    },
  };
  return fake;
}

describe("KnownAlarm", () => {
  it("arms a time already past (0: due at once) as now, never as a time the runtime refuses", async () => {
    const fake = storage();
    const alarm = new KnownAlarm(fake as unknown as DurableObjectStorage);
    const before = Date.now();
    alarm.armBy(0);
    await Promise.resolve();
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]).toBeGreaterThanOrEqual(before);
    expect(alarm.get()).toBe(fake.calls[0]);
  });

  it("moves the alarm only earlier with armBy, and leaves one due by `latest` alone with ensureBy", () => {
    const fake = storage();
    const alarm = new KnownAlarm(fake as unknown as DurableObjectStorage);
    const now = Date.now();
    alarm.armBy(now + 10_000);
    alarm.armBy(now + 20_000);
    expect(alarm.get()).toBe(now + 10_000);
    alarm.ensureBy(now + 30_000, now + 5_000);
    expect(alarm.get()).toBe(now + 10_000);
    alarm.ensureBy(now + 8_000, now + 5_000);
    expect(alarm.get()).toBe(now + 5_000);
    expect(fake.calls).toEqual([now + 10_000, now + 5_000]);
  });
});
