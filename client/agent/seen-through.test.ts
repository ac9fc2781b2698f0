import { describe, expect, it } from "vitest";
import { createSeenThrough } from "./seen-through.ts";

describe("createSeenThrough", () => {
  it("counts what is rendered while the tab is visible", () => {
    const seen = createSeenThrough(true);
    expect(seen.seq).toBe(0);
    seen.rendered(3);
    expect(seen.seq).toBe(3);
    seen.rendered(5);
    expect(seen.seq).toBe(5);
    // A re-render of an older thread (the HTTP answer after the live one) never goes back.
    seen.rendered(4);
    expect(seen.seq).toBe(5);
  });

  it("does not count a message that arrives while the tab is hidden, until the tab is shown", () => {
    const seen = createSeenThrough(true);
    seen.rendered(2);
    seen.visibility(false);
    seen.rendered(3);
    expect(seen.seq).toBe(2);
    seen.shown(3);
    expect(seen.seq).toBe(2);
    seen.visibility(true);
    expect(seen.seq).toBe(3);
  });

  it("starts hidden in a background tab", () => {
    const seen = createSeenThrough(false);
    seen.rendered(7);
    expect(seen.seq).toBe(0);
    seen.visibility(true);
    expect(seen.seq).toBe(7);
  });

  it("counts messages shown in the warning while visible", () => {
    const seen = createSeenThrough(true);
    seen.rendered(2);
    seen.shown(4);
    expect(seen.seq).toBe(4);
    seen.shown(3);
    expect(seen.seq).toBe(4);
  });
});
