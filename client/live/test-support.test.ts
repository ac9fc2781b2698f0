import { describe, expect, it } from "vitest";
import { onlineAgents } from "./test-support.ts";

describe("onlineAgents", () => {
  it("lists each agent once, however many tabs, sorted by name", () => {
    const states = new Map<number, unknown>([
      [1, { agentId: "b", name: "Ben" }],
      [2, { agentId: "a", name: "Ana", viewing: "t-1" }],
      [3, { agentId: "b", name: "Ben", typing: "t-2" }],
      [4, {}],
      [5, { agentId: 7, name: "not a string id" }],
      [6, null],
    ]);
    expect(onlineAgents(states)).toEqual([
      { agentId: "a", name: "Ana", tabs: 1 },
      { agentId: "b", name: "Ben", tabs: 2 },
    ]);
  });

  it("is empty without agent states", () => {
    expect(onlineAgents(new Map())).toEqual([]);
  });
});
