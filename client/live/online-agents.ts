import type { AgentAwarenessState } from "../../protocol/index.ts";

export interface OnlineAgent {
  agentId: string;
  name: string;
  /** How many tabs (awareness clients) the agent has open. */
  tabs: number;
}

function isAgentState(state: unknown): state is AgentAwarenessState {
  if (typeof state !== "object" || state === null) return false;
  const { agentId, name } = state as Record<string, unknown>;
  return typeof agentId === "string" && agentId !== "" && typeof name === "string";
}

/** Distinct agents among awareness states (one per agent, however many tabs), sorted by name. */
export function onlineAgents(states: ReadonlyMap<number, unknown>): OnlineAgent[] {
  const byId = new Map<string, OnlineAgent>();
  for (const state of states.values()) {
    if (!isAgentState(state)) continue;
    const known = byId.get(state.agentId);
    if (known) known.tabs += 1;
    else byId.set(state.agentId, { agentId: state.agentId, name: state.name, tabs: 1 });
  }
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name) || a.agentId.localeCompare(b.agentId));
}
