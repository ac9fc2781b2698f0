// Names for the people in a ticket: agents from the inbox document (every agent of the
// account), you from the session; one the document does not list is "Another agent".

import type { InboxAgent } from "../../protocol/index.ts";
import type { CustomerRef, Message } from "./inbox-api.ts";
import type { Session } from "./session.ts";

export interface AgentNames {
  meId: string;
  name(agentId: string): string;
}

export function agentNames(session: Session, agents: ReadonlyMap<string, InboxAgent>): AgentNames {
  const byId = new Map([...agents].map(([agentId, agent]) => [agentId, agent.name]));
  byId.set(session.agent.id, session.agent.name);
  return {
    meId: session.agent.id,
    name: (agentId) => byId.get(agentId) ?? "Another agent",
  };
}

export function customerName(customer: CustomerRef | null): string {
  return customer?.name || customer?.email || "Customer";
}

export function authorName(message: Message, customer: CustomerRef | null, agents: AgentNames): string {
  switch (message.authorKind) {
    case "customer":
      return customerName(customer);
    case "agent":
      if (!message.authorId) return "Agent";
      return message.authorId === agents.meId ? `${agents.name(message.authorId)} (you)` : agents.name(message.authorId);
    case "ai":
      return "AI Agent";
    case "system":
      return "System";
  }
}
