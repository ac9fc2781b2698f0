import { afterEach, describe, expect, it } from "vitest";
import { type ActivitySource, type IdleTracker, browserActivity, createIdleTracker, syncIdle } from "./idle.ts";
import { FakeBroadcastHub, FakeTimers } from "./test-support.ts";

const MINUTE = 60_000;
const trackers: IdleTracker[] = [];
afterEach(() => {
  for (const tracker of trackers.splice(0)) tracker.destroy();
});

/** An activity source the test fires by hand. */
function manualActivity(): { source: ActivitySource; fire(): void } {
  let listener: (() => void) | null = null;
  return {
    source: (onActivity) => {
      listener = onActivity;
      return () => {
        listener = null;
      };
    },
    fire: () => listener?.(),
  };
}

function browser() {
  const timers = new FakeTimers();
  const hub = new FakeBroadcastHub();
  const tab = (name: string, idleMinutes = 10) => {
    const activity = manualActivity();
    const tracker = createIdleTracker({
      idleMinutes,
      name: "inbox:acct-1:agent-ana",
      channel: hub.factory(name),
      activity: activity.source,
      timers,
      now: timers.now,
    });
    trackers.push(tracker);
    const flips: boolean[] = [];
    tracker.idle.subscribe((idle) => flips.push(idle));
    return { tracker, activity, flips };
  };
  /** Advances the clock minute by minute, delivering channel messages in between. */
  const pass = (ms: number, step = 1_000): void => {
    for (let elapsed = 0; elapsed < ms; elapsed += step) {
      timers.advance(Math.min(step, ms - elapsed));
      hub.flush();
    }
  };
  return { timers, hub, tab, pass };
}

describe("idle", () => {
  it("becomes idle after the idle time without activity, and not before", () => {
    const b = browser();
    const { tracker } = b.tab("A", 10);
    b.pass(10 * MINUTE - 1_000);
    expect(tracker.idle.get()).toBe(false);
    b.pass(1_000);
    expect(tracker.idle.get()).toBe(true);
  });

  it("activity postpones it, and the next activity ends it at once", () => {
    const b = browser();
    const { tracker, activity, flips } = b.tab("A", 10);
    b.pass(9 * MINUTE);
    activity.fire();
    b.pass(9 * MINUTE);
    expect(tracker.idle.get()).toBe(false);
    b.pass(1 * MINUTE);
    expect(tracker.idle.get()).toBe(true);
    activity.fire();
    expect(tracker.idle.get()).toBe(false);
    expect(flips).toEqual([true, false]);
  });

  it("counts activity in any tab of the browser: a background tab is not idle while another one is used", () => {
    const b = browser();
    const front = b.tab("front");
    const back = b.tab("back");
    for (let minute = 0; minute < 30; minute++) {
      front.activity.fire();
      b.pass(MINUTE);
    }
    expect(front.tracker.idle.get()).toBe(false);
    expect(back.tracker.idle.get()).toBe(false);
    expect(back.flips).toEqual([]);

    // Everyone stops: both go idle; activity in one tab wakes both at once.
    b.pass(11 * MINUTE);
    expect([front.tracker.idle.get(), back.tracker.idle.get()]).toEqual([true, true]);
    back.activity.fire();
    b.hub.flush();
    expect([front.tracker.idle.get(), back.tracker.idle.get()]).toEqual([false, false]);
  });

  it("shares activity with other tabs at most every few seconds while active, but at once after idle", () => {
    const b = browser();
    const { activity } = b.tab("A", 1);
    b.tab("B", 1);
    b.hub.flush();
    const posts = () => b.hub.log.filter((m) => m.tab === "A").length;
    const start = posts();
    for (let i = 0; i < 100; i++) {
      activity.fire();
      b.pass(100, 100);
    } // 10 s of constant activity
    expect(posts() - start).toBeLessThanOrEqual(3);
    expect(posts() - start).toBeGreaterThanOrEqual(2);
    b.pass(2 * MINUTE);
    const beforeWake = posts();
    activity.fire();
    expect(posts()).toBe(beforeWake + 1);
  });

  it("takes a new idle time at runtime", () => {
    const b = browser();
    const { tracker } = b.tab("A", 10);
    b.pass(6 * MINUTE);
    tracker.setIdleMinutes(5);
    expect(tracker.idle.get()).toBe(true);
    tracker.setIdleMinutes(15);
    expect(tracker.idle.get()).toBe(false);
    b.pass(9 * MINUTE);
    expect(tracker.idle.get()).toBe(true);
    expect(() => tracker.setIdleMinutes(0)).toThrow(RangeError);
  });

  it("reports idle on waking from a sleep longer than the idle time", () => {
    const b = browser();
    const { tracker } = b.tab("A", 10);
    b.pass(MINUTE);
    b.timers.sleep(60 * MINUTE); // timers paused, wall clock moves
    b.pass(15_000);
    expect(tracker.idle.get()).toBe(true);
  });

  it("syncIdle writes the flag into this tab's awareness state on changes only", () => {
    const b = browser();
    const { tracker, activity } = b.tab("A", 1);
    const patches: Array<{ idle: boolean }> = [];
    const stop = syncIdle(tracker, (patch) => patches.push(patch));
    b.pass(30_000);
    activity.fire();
    b.pass(2 * MINUTE);
    activity.fire();
    stop();
    b.pass(2 * MINUTE);
    expect(patches).toEqual([{ idle: false }, { idle: true }, { idle: false }]);
  });
});

describe("browserActivity", () => {
  it("counts keys, pointer presses and focus; throttles pointer moves; ignores visibility and blur", () => {
    const target = new EventTarget();
    let now = 0;
    const seen: number[] = [];
    const stop = browserActivity(target, { now: () => now, throttleMs: 1_000 })(() => seen.push(now));
    for (const type of ["keydown", "pointerdown", "focus"]) target.dispatchEvent(new Event(type));
    expect(seen).toHaveLength(3);
    for (let i = 0; i < 20; i++) {
      now += 50;
      target.dispatchEvent(new Event(i % 2 === 0 ? "pointermove" : "wheel"));
    }
    expect(seen).toHaveLength(4); // one per second at most
    for (const type of ["visibilitychange", "blur", "pagehide"]) target.dispatchEvent(new Event(type));
    expect(seen).toHaveLength(4);
    stop();
    target.dispatchEvent(new Event("keydown"));
    expect(seen).toHaveLength(4);
  });
});
