import { describe, expect, it } from "vitest";
import { AWARENESS_PUBLISH_INTERVAL_MS, createThrottledState } from "./throttled-state.ts";
import { FakeTimers } from "./test-support.ts";

interface State {
  name: string;
  typing: boolean;
  cursor: { anchor: number; head: number } | null;
}

function setup() {
  const timers = new FakeTimers();
  const published: State[] = [];
  const state = createThrottledState<State>({
    initial: { name: "Ana", typing: false, cursor: null },
    publish: (next) => published.push(next),
    timers,
  });
  return { timers, published, state };
}

describe("createThrottledState", () => {
  it("publishes the first change at once, and the changes of the next interval together at its end", () => {
    const { timers, published, state } = setup();
    state.patch({ typing: true, cursor: { anchor: 1, head: 1 } });
    expect(published).toEqual([{ name: "Ana", typing: true, cursor: { anchor: 1, head: 1 } }]);
    for (let i = 2; i <= 20; i++) state.patch({ cursor: { anchor: i, head: i } });
    expect(published).toHaveLength(1);
    timers.advance(AWARENESS_PUBLISH_INTERVAL_MS - 1);
    expect(published).toHaveLength(1);
    timers.advance(1);
    expect(published).toHaveLength(2);
    expect(published[1]).toEqual({ name: "Ana", typing: true, cursor: { anchor: 20, head: 20 } });
    expect(state.current).toEqual(published[1]);
  });

  it("never publishes more than once per interval while changes keep coming", () => {
    const { timers, published, state } = setup();
    // A keystroke every 10 ms for 2 seconds.
    for (let t = 0; t < 2_000; t += 10) {
      state.patch({ cursor: { anchor: t, head: t } });
      timers.advance(10);
    }
    expect(published.length).toBeLessThanOrEqual(2_000 / AWARENESS_PUBLISH_INTERVAL_MS + 1);
    timers.advance(AWARENESS_PUBLISH_INTERVAL_MS);
    // The last state always gets out.
    expect(published.at(-1)?.cursor).toEqual({ anchor: 1_990, head: 1_990 });
  });

  it("publishes nothing for a patch that changes nothing, nor at the end of a quiet interval", () => {
    const { timers, published, state } = setup();
    state.patch({ typing: false, cursor: null });
    expect(published).toEqual([]);
    state.patch({ typing: true });
    state.patch({ typing: false });
    expect(published).toHaveLength(1);
    timers.advance(AWARENESS_PUBLISH_INTERVAL_MS);
    // Typing went back to false after the publish: that goes out too.
    expect(published).toHaveLength(2);
    expect(published[1]?.typing).toBe(false);
    timers.advance(AWARENESS_PUBLISH_INTERVAL_MS * 5);
    expect(published).toHaveLength(2);
    expect(timers.pendingCount).toBe(0);
    // After a quiet interval the next change goes at once again.
    state.patch({ name: "Ana B." });
    expect(published).toHaveLength(3);
  });

  it("drops a change pending at destroy", () => {
    const { timers, published, state } = setup();
    state.patch({ typing: true });
    state.patch({ typing: false });
    state.destroy();
    timers.advance(AWARENESS_PUBLISH_INTERVAL_MS);
    state.patch({ typing: true });
    expect(published).toHaveLength(1);
  });
});
