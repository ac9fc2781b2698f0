// Bridges the browser's shared inbox connection (one socket per browser, client/live) to
// signals for the UI: connection state and banners, the live views and counts, teammates'
// presence, who views or types on which ticket, and this agent's notifications. The agent's
// private views come over a second shared connection, to their own `agent` document (no
// other agent syncs it); the UI sees both documents' views and counts as one.

import { type ReadonlySignal, batch, computed, effect, signal } from "@preact/signals";
import * as Y from "yjs";
import { AGENT_ROUTING_DEFAULTS } from "../../schema/values.ts";
import {
  AgentDoc,
  type AgentPresence,
  type CloseReasonName,
  InboxDoc,
  type InboxAgent,
  type InboxNotification,
  type InboxView,
  LivePath,
} from "../../protocol/index.ts";
import { type LiveState, createIdleTracker, createTypingIndicator, liveSocketUrl, offlineAfterGrace, openSharedLive, syncIdle } from "../live/index.ts";
import { type SidebarView, type Teammate, type TicketActivity, onlineTeammates, sidebarViews, ticketActivity, unreadCount } from "./live-derive.ts";
import type { Session } from "./session.ts";

export interface LiveStore {
  readonly state: ReadonlySignal<LiveState>;
  readonly stopReason: ReadonlySignal<CloseReasonName | null>;
  /** True once the connection has been down for longer than the grace period. */
  readonly offline: ReadonlySignal<boolean>;
  /** This tab holds the browser's socket (and shows desktop notifications). */
  readonly isLeader: ReadonlySignal<boolean>;
  /** The inbox document has arrived at least once. */
  readonly synced: ReadonlySignal<boolean>;
  readonly agents: ReadonlySignal<ReadonlyMap<string, InboxAgent>>;
  /** null until the inbox document has views. */
  readonly views: ReadonlySignal<SidebarView[] | null>;
  readonly teammates: ReadonlySignal<Teammate[]>;
  readonly myPresence: ReadonlySignal<AgentPresence | null>;
  readonly activity: ReadonlySignal<ReadonlyMap<string, TicketActivity>>;
  /** This agent's notifications, oldest first. */
  readonly notifications: ReadonlySignal<readonly InboxNotification[]>;
  readonly readUpTo: ReadonlySignal<number>;
  readonly unread: ReadonlySignal<number>;
  setViewing(ticketId: string | null): void;
  keystroke(ticketId: string): void;
  stopTyping(): void;
  reconnectNow(): void;
  dispose(): void;
}

/** How long a connection may be down before the UI says so. */
export const OFFLINE_GRACE_MS = 2_000;

function mapOf<T>(doc: Y.Doc, root: string): Map<string, T> {
  return new Map(doc.getMap<T>(root).entries());
}


export function createLiveStore({ token, agent }: Session, graceMs = OFFLINE_GRACE_MS): LiveStore {
  const name = `helpdesk-inbox:${agent.accountId}:${agent.id}`;
  const live = openSharedLive({ name, url: () => liveSocketUrl(location.href, LivePath.inbox, token), localState: { agentId: agent.id, name: agent.name } });
  // Publishes no awareness: the hub refuses any on this document.
  const own = openSharedLive({ name: `${name}:agent`, url: () => liveSocketUrl(location.href, LivePath.agent, token), localState: null });
  const me = agent.id;

  const initial = live.status.get();
  const state = signal<LiveState>(initial.state);
  const stopReason = signal<CloseReasonName | null>(initial.stopReason);
  const synced = signal(initial.synced);
  const everSynced = signal(initial.synced);
  const isLeader = signal(live.isLeader.get());

  const sharedAgents = signal<ReadonlyMap<string, InboxAgent>>(new Map());
  const views = signal<ReadonlyMap<string, InboxView>>(new Map());
  const counts = signal<ReadonlyMap<string, number>>(new Map());
  const ownViews = signal<ReadonlyMap<string, InboxView>>(new Map());
  const ownCounts = signal<ReadonlyMap<string, number>>(new Map());
  const ownFollowed = signal<readonly string[]>([]);
  const presence = signal<ReadonlyMap<string, AgentPresence>>(new Map());
  const notifications = signal<readonly InboxNotification[]>([]);
  const readUpTo = signal(0);
  const activity = signal<ReadonlyMap<string, TicketActivity>>(new Map());

  const unsubscribeStatus = live.status.subscribe((status) =>
    batch(() => {
      state.value = status.state;
      stopReason.value = status.stopReason;
      synced.value = status.synced;
      if (status.synced) everSynced.value = true;
    }),
  );
  const unsubscribeLeader = live.isLeader.subscribe((leader) => (isLeader.value = leader));

  // The document is small (tens of entries per root) and the hub sends its writes at most
  // every 20 ms, merged: re-reading every root per update is cheap. Each read makes new Maps,
  // so whatever is derived from them recomputes then too.
  const readDoc = (): void =>
    batch(() => {
      const doc = live.doc;
      sharedAgents.value = mapOf<InboxAgent>(doc, InboxDoc.agents);
      views.value = mapOf<InboxView>(doc, InboxDoc.views);
      counts.value = mapOf<number>(doc, InboxDoc.counts);
      presence.value = mapOf<AgentPresence>(doc, InboxDoc.presence);
      notifications.value = doc.getMap<Y.Array<InboxNotification>>(InboxDoc.notifications).get(me)?.toArray() ?? [];
      readUpTo.value = doc.getMap<number>(InboxDoc.notificationsRead).get(me) ?? 0;
      if (doc.getMap(InboxDoc.agents).size > 0) everSynced.value = true;
    });
  live.doc.on("update", readDoc);
  readDoc();

  const readOwnDoc = (): void =>
    batch(() => {
      ownViews.value = mapOf<InboxView>(own.doc, AgentDoc.views);
      ownCounts.value = mapOf<number>(own.doc, AgentDoc.counts);
      ownFollowed.value = [...own.doc.getMap<boolean>(AgentDoc.followedViews).keys()];
    });
  own.doc.on("update", readOwnDoc);
  readOwnDoc();

  // The inbox lists only shared follows; this agent's private ones come from their own document.
  const agents = computed<ReadonlyMap<string, InboxAgent>>(() => {
    const mine = sharedAgents.value.get(me);
    if (!mine || ownFollowed.value.length === 0) return sharedAgents.value;
    const merged = new Map(sharedAgents.value);
    merged.set(me, { ...mine, followedViewIds: [...mine.followedViewIds, ...ownFollowed.value] });
    return merged;
  });
  const allViews = computed(() => new Map([...views.value, ...ownViews.value]));
  const allCounts = computed(() => new Map([...counts.value, ...ownCounts.value]));

  const readAwareness = (): void => {
    activity.value = ticketActivity(live.awareness.getStates(), me);
  };
  live.awareness.on("change", readAwareness);
  readAwareness();

  // Idle time is the agent's setting, from the document; activity in any tab counts.
  const idle = createIdleTracker({ idleMinutes: agents.peek().get(me)?.idleAwayMinutes ?? AGENT_ROUTING_DEFAULTS.idleAwayMinutes, name: `${name}:activity` });
  const stopIdleSync = syncIdle(idle, (fields) => live.patchLocalState(fields));
  const disposeIdleMinutes = effect(() => {
    const minutes = agents.value.get(me)?.idleAwayMinutes;
    if (minutes !== undefined) idle.setIdleMinutes(minutes);
  });
  const typing = createTypingIndicator({ publish: (ticketId) => live.patchLocalState({ typing: ticketId }) });

  // "Up" means a completed handshake, not merely an open socket: a server that accepts and
  // then closes at once must not keep resetting the grace period.
  const up = computed(() => state.value === "stopped" || (state.value === "connected" && synced.value));
  const grace = offlineAfterGrace(up, graceMs);

  return {
    state,
    stopReason,
    offline: grace.offline,
    isLeader,
    synced: everSynced,
    agents,
    views: computed(() => (allViews.value.size === 0 && !everSynced.value ? null : sidebarViews(allViews.value, allCounts.value, me))),
    teammates: computed(() => onlineTeammates(agents.value, presence.value)),
    myPresence: computed(() => presence.value.get(me) ?? null),
    activity,
    notifications,
    readUpTo,
    unread: computed(() => unreadCount(notifications.value, readUpTo.value)),
    setViewing(ticketId) {
      if (ticketId === null) typing.clear();
      live.patchLocalState({ viewing: ticketId });
    },
    keystroke: (ticketId) => typing.keystroke(ticketId),
    stopTyping: () => typing.clear(),
    reconnectNow: () => live.reconnectNow(),
    dispose() {
      grace.dispose();
      disposeIdleMinutes();
      unsubscribeStatus();
      unsubscribeLeader();
      stopIdleSync();
      idle.destroy();
      typing.destroy();
      live.doc.off("update", readDoc);
      live.awareness.off("change", readAwareness);
      live.destroy();
      own.doc.off("update", readOwnDoc);
      own.destroy();
    },
  };
}
