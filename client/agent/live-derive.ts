// What the agent app shows, derived from the inbox document and awareness: pure functions,
// so the rules (whose count, who collides, who is online) are tested without a browser.

import {
  type AgentAwarenessState,
  type AgentPresence,
  effectiveAvailability,
  type EffectiveAvailability,
  type InboxAgent,
  type InboxNotification,
  type InboxView,
  viewCountKey,
} from "../../protocol/index.ts";

export interface SidebarView {
  id: string;
  name: string;
  position: number;
  ownerAgentId: string | null;
  count: number;
}

/** The views this agent sees (shared ones and their own), in order, each with the agent's count. */
export function sidebarViews(views: ReadonlyMap<string, InboxView>, counts: ReadonlyMap<string, number>, me: string): SidebarView[] {
  return [...views]
    .filter(([, view]) => view.ownerAgentId === null || view.ownerAgentId === me)
    .map(([id, view]) => ({
      id,
      name: view.name,
      position: view.position,
      ownerAgentId: view.ownerAgentId,
      count: counts.get(viewCountKey(id, view.perAgent, me)) ?? 0,
    }))
    .sort((a, b) => a.position - b.position || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

export interface TicketActivity {
  /** Other agents with the ticket open, by agent id (once each, however many tabs). */
  viewing: string[];
  /** Other agents typing a reply on it. */
  typing: string[];
}

function isAgentState(state: unknown): state is AgentAwarenessState {
  return typeof state === "object" && state !== null && typeof (state as { agentId?: unknown }).agentId === "string";
}

/** Who else is on which ticket: collision markers in lists and the bar on an open ticket. */
export function ticketActivity(states: ReadonlyMap<number, unknown>, me: string): Map<string, TicketActivity> {
  const byTicket = new Map<string, { viewing: Set<string>; typing: Set<string> }>();
  const entry = (ticketId: string) => {
    let found = byTicket.get(ticketId);
    if (!found) byTicket.set(ticketId, (found = { viewing: new Set(), typing: new Set() }));
    return found;
  };
  for (const state of states.values()) {
    if (!isAgentState(state) || state.agentId === me) continue;
    if (typeof state.viewing === "string") entry(state.viewing).viewing.add(state.agentId);
    if (typeof state.typing === "string") entry(state.typing).typing.add(state.agentId);
  }
  return new Map(
    [...byTicket].map(([ticketId, { viewing, typing }]) => [ticketId, { viewing: [...viewing].sort(), typing: [...typing].sort() }]),
  );
}

export interface Teammate {
  agentId: string;
  name: string;
  availability: EffectiveAvailability;
}

/** Agents with a live socket, once each, with how they show (available, busy, away). */
export function onlineTeammates(agents: ReadonlyMap<string, InboxAgent>, presence: ReadonlyMap<string, AgentPresence>): Teammate[] {
  return [...presence]
    .filter(([, entry]) => entry.online)
    .map(([agentId, entry]) => ({ agentId, name: agents.get(agentId)?.name ?? "Agent", availability: effectiveAvailability(entry) }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.agentId.localeCompare(b.agentId));
}

export function unreadCount(notifications: readonly InboxNotification[], readUpTo: number): number {
  return notifications.filter((notification) => notification.seq > readUpTo).length;
}

/** The tab title: the unread count first, so it shows in a crowded tab strip. */
export function pageTitle(unread: number, base = "Helpdesk"): string {
  return unread > 0 ? `(${unread}) ${base}` : base;
}

/** One line for a notification, as the bell list and the desktop notification say it. */
export function notificationText(notification: InboxNotification, viewName: (viewId: string) => string | undefined): string {
  switch (notification.kind) {
    case "new_ticket": {
      const view = notification.viewId === null ? undefined : viewName(notification.viewId);
      return view ? `New ticket in ${view}: ${notification.subject}` : `New ticket: ${notification.subject}`;
    }
    case "assigned":
      return `Assigned to you: ${notification.subject}`;
    case "customer_reply":
      return `Customer replied: ${notification.subject}`;
  }
}
