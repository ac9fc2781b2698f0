import * as Y from "yjs";
import {
  AgentDoc,
  effectiveAvailability,
  InboxDoc,
  MAX_NOTIFICATIONS_PER_AGENT,
  type AgentPresence,
  type InboxAgent,
  type InboxNotification,
  type InboxView,
  viewCountKey,
} from "../../protocol/index.ts";
import { AGENT_ROUTING_DEFAULTS } from "../../schema/values.ts";
import type { AgentIdentity } from "../../worker/auth/identity.ts";
import type { HubAgent } from "./hub-config.ts";
import type { NotificationDraft } from "./notifications.ts";
import { isPerAgent, type CountedView } from "./view-counts.ts";

// Writes to the server-owned inbox document (roots in protocol/index.ts InboxDoc). Every
// function writes only what changed, so an unchanged state sends nothing to any socket.

function setIfChanged<T>(map: Y.Map<T>, key: string, value: T): void {
  const current = map.get(key);
  if (current !== undefined && JSON.stringify(current) === JSON.stringify(value)) return;
  map.set(key, value);
}

/** Makes a map hold exactly `entries` (missing keys deleted). */
function replaceEntries<T>(map: Y.Map<T>, entries: Map<string, T>): void {
  for (const key of [...map.keys()]) if (!entries.has(key)) map.delete(key);
  for (const [key, value] of entries) setIfChanged(map, key, value);
}

/** The account's agents; followed views are listed only where shared (private ones go to the owner's document). */
export function writeAgents(doc: Y.Doc, agents: readonly HubAgent[], views: readonly CountedView[]): void {
  const shared = new Set(views.filter((view) => view.ownerAgentId === null).map((view) => view.id));
  const entries = new Map<string, InboxAgent>(
    agents.map((agent) => [
      agent.id,
      {
        name: agent.name,
        role: agent.role,
        idleAwayMinutes: agent.idleAwayMinutes,
        followedViewIds: agent.followedViewIds.filter((viewId) => shared.has(viewId)),
        capacity: agent.capacity,
      },
    ]),
  );
  replaceEntries(doc.getMap<InboxAgent>(InboxDoc.agents), entries);
}

/** An agent who connected but is not (yet) in the configuration: listed with default settings. */
export function ensureAgent(doc: Y.Doc, identity: Pick<AgentIdentity, "agentId" | "name" | "role">): void {
  const agents = doc.getMap<InboxAgent>(InboxDoc.agents);
  if (agents.has(identity.agentId)) return;
  agents.set(identity.agentId, {
    name: identity.name,
    role: identity.role,
    idleAwayMinutes: AGENT_ROUTING_DEFAULTS.idleAwayMinutes,
    followedViewIds: [],
    capacity: { chat: AGENT_ROUTING_DEFAULTS.chatCapacity, other: AGENT_ROUTING_DEFAULTS.ticketCapacity },
  });
}

/** Writes `views` (InboxDoc.views, or AgentDoc.views: the same shape); the caller chooses which views. */
export function writeViews(doc: Y.Doc, views: readonly CountedView[]): void {
  const entries = new Map<string, InboxView>(
    views.map((view) => [view.id, { name: view.name, position: view.position, ownerAgentId: view.ownerAgentId, perAgent: isPerAgent(view) }]),
  );
  replaceEntries(doc.getMap<InboxView>(InboxDoc.views), entries);
}

/** Sets an agent's presence; `since` moves only when the effective availability changes. */
export function writePresence(doc: Y.Doc, agentId: string, next: Omit<AgentPresence, "since">, now: number): boolean {
  const map = doc.getMap<AgentPresence>(InboxDoc.presence);
  const current = map.get(agentId);
  if (current && current.online === next.online && current.status === next.status && current.idle === next.idle) return false;
  const moved = !current || effectiveAvailability(current) !== effectiveAvailability(next);
  map.set(agentId, { ...next, since: moved ? now : current.since });
  return true;
}

export function readPresence(doc: Y.Doc, agentId: string): AgentPresence | undefined {
  return doc.getMap<AgentPresence>(InboxDoc.presence).get(agentId);
}

/** Adds `delta` to the counts; a count that reaches zero is removed (missing reads as 0). */
export function applyCountDelta(doc: Y.Doc, delta: ReadonlyMap<string, number>): void {
  const counts = doc.getMap<number>(InboxDoc.counts);
  for (const [key, by] of delta) {
    const next = (counts.get(key) ?? 0) + by;
    if (next === 0) counts.delete(key);
    else counts.set(key, next);
  }
}

export function replaceCounts(doc: Y.Doc, counts: Map<string, number>): void {
  replaceEntries(doc.getMap<number>(InboxDoc.counts), counts);
}

export function readCounts(doc: Y.Doc): Map<string, number> {
  return new Map(doc.getMap<number>(InboxDoc.counts).entries());
}

/** Appends to each agent's list (numbered per agent) and keeps the newest ones only. */
export function pushNotifications(doc: Y.Doc, drafts: readonly NotificationDraft[], now: number): void {
  if (drafts.length === 0) return;
  const lists = doc.getMap<Y.Array<InboxNotification>>(InboxDoc.notifications);
  for (const draft of drafts) {
    let list = lists.get(draft.agentId);
    if (!list) {
      list = new Y.Array<InboxNotification>();
      lists.set(draft.agentId, list);
    }
    const seq = (list.length > 0 ? list.get(list.length - 1).seq : 0) + 1;
    list.push([{ seq, kind: draft.kind, ticketId: draft.ticketId, subject: draft.subject, viewId: draft.viewId, at: now }]);
    if (list.length > MAX_NOTIFICATIONS_PER_AGENT) list.delete(0, list.length - MAX_NOTIFICATIONS_PER_AGENT);
  }
}

/** Marks an agent's notifications read up to `seq` (never backwards). */
export function markNotificationsRead(doc: Y.Doc, agentId: string, seq: number): void {
  const read = doc.getMap<number>(InboxDoc.notificationsRead);
  if ((read.get(agentId) ?? 0) < seq) read.set(agentId, seq);
}

/** The views every agent may see. */
export function sharedViews(views: readonly CountedView[]): CountedView[] {
  return views.filter((view) => view.ownerAgentId === null);
}

export function privateViewsOf(views: readonly CountedView[], agentId: string): CountedView[] {
  return views.filter((view) => view.ownerAgentId === agentId);
}

/** Count keys of private views → their owner: those counts go to the owner's document only. */
export function privateCountKeys(views: readonly CountedView[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const view of views) {
    // A private view is counted for its owner alone (see countKeysOf), under one key.
    if (view.ownerAgentId !== null) keys.set(viewCountKey(view.id, isPerAgent(view), view.ownerAgentId), view.ownerAgentId);
  }
  return keys;
}

/** Splits counts (or count moves) into the shared ones and each owner's private ones. */
export function splitCounts(
  counts: ReadonlyMap<string, number>,
  privateKeys: ReadonlyMap<string, string>,
): { shared: Map<string, number>; byOwner: Map<string, Map<string, number>> } {
  const shared = new Map<string, number>();
  const byOwner = new Map<string, Map<string, number>>();
  for (const [key, n] of counts) {
    const owner = privateKeys.get(key);
    if (owner === undefined) {
      shared.set(key, n);
      continue;
    }
    let own = byOwner.get(owner);
    if (!own) byOwner.set(owner, (own = new Map()));
    own.set(key, n);
  }
  return { shared, byOwner };
}

/** The private views an agent follows (AgentDoc.followedViews). */
export function writeFollowedViews(doc: Y.Doc, viewIds: readonly string[]): void {
  replaceEntries(doc.getMap<boolean>(AgentDoc.followedViews), new Map(viewIds.map((viewId) => [viewId, true])));
}
