// The live room of the ticket on screen: its `ticket` document (protocol/ticket-doc.ts) over
// a socket of its own (one per ticket, opened by the tab showing it, closed when it leaves;
// not through the shared inbox connection), the co-edited draft, also kept in this browser
// (IndexedDB, per account and ticket) so text typed offline or in a tab that crashed merges
// when the ticket opens again, and this agent's awareness on it: colour, reply or note mode,
// typing, cursor (published at most every 200 ms).

import { type ReadonlySignal, batch, computed, signal } from "@preact/signals";
import { IndexeddbPersistence } from "y-indexeddb";
import type { Awareness } from "y-protocols/awareness";
import * as Y from "yjs";
import { type CloseReasonName, LivePath } from "../../protocol/index.ts";
import { type ThreadMessage, type TicketAwarenessState, TicketDoc, type TicketMeta } from "../../protocol/ticket-doc.ts";
import { LiveConnection, type LiveState, createThrottledState, createTypingIndicator, liveSocketUrl, offlineAfterGrace } from "../live/index.ts";
import type { SendKind } from "./ticket-store.ts";

export type DraftCursor = NonNullable<TicketAwarenessState["cursor"]>;

/** Another tab on this ticket, as its awareness shows it. */
export interface TicketPeer {
  clientId: number;
  agentId: string;
  name: string;
  color: string;
  typing: boolean;
  mode: SendKind;
  cursor: DraftCursor | null;
}

export interface TicketLive {
  readonly doc: Y.Doc;
  readonly draft: Y.Text;
  readonly awareness: Awareness;
  /** This tab's colour for its cursor (others see it). */
  readonly color: string;
  readonly state: ReadonlySignal<LiveState>;
  /** Connected and synced: the document is current. */
  readonly up: ReadonlySignal<boolean>;
  /** Down for longer than the grace period. */
  readonly offline: ReadonlySignal<boolean>;
  readonly stopReason: ReadonlySignal<CloseReasonName | null>;
  /** The room's thread, once this page's socket has synced; null before (the HTTP load shows). */
  readonly thread: ReadonlySignal<readonly ThreadMessage[] | null>;
  readonly meta: ReadonlySignal<Partial<TicketMeta> | null>;
  readonly draftText: ReadonlySignal<string>;
  /** Other tabs on this ticket (this agent's other tabs included), oldest client id first. */
  readonly peers: ReadonlySignal<readonly TicketPeer[]>;
  readonly mode: ReadonlySignal<SendKind>;
  setMode(mode: SendKind): void;
  setCursor(cursor: DraftCursor | null): void;
  keystroke(): void;
  stopTyping(): void;
  /** Resolves true once the room has every draft edit this tab sent (see LiveConnection.flush). */
  flush(): Promise<boolean>;
  reconnectNow(): void;
  dispose(): void;
}

export interface TicketLiveOptions {
  token: string;
  accountId: string;
  agentId: string;
  name: string;
  ticketId: string;
  mode?: SendKind;
  graceMs: number;
}

/** Cursor colours that read on white, with white text on them. */
const COLORS = ["#d9480f", "#1971c2", "#2f9e44", "#ae3ec9", "#c2255c", "#0c8599", "#e67700", "#5f3dc4"];

/** The same agent gets the same colour in every tab and on every ticket. */
export function agentColor(agentId: string): string {
  let hash = 0;
  for (let i = 0; i < agentId.length; i++) hash = (hash * 31 + agentId.charCodeAt(i)) >>> 0;
  return COLORS[hash % COLORS.length]!;
}

function isPeerState(state: unknown): state is TicketAwarenessState {
  if (typeof state !== "object" || state === null) return false;
  const record = state as Record<string, unknown>;
  return typeof record.agentId === "string" && typeof record.name === "string";
}

function readPeers(awareness: Awareness): TicketPeer[] {
  const peers: TicketPeer[] = [];
  for (const [clientId, state] of awareness.getStates()) {
    if (clientId === awareness.clientID || !isPeerState(state)) continue;
    const cursor = state.cursor;
    peers.push({
      clientId,
      agentId: state.agentId,
      name: state.name,
      color: typeof state.color === "string" ? state.color : agentColor(state.agentId),
      typing: state.typing === true,
      mode: state.mode === "note" ? "note" : "reply",
      cursor: typeof cursor === "object" && cursor !== null && "anchor" in cursor && "head" in cursor ? cursor : null,
    });
  }
  return peers.sort((a, b) => a.clientId - b.clientId);
}

/** Opens the room of `ticketId`; dispose() closes it. */
export function createTicketLive(options: TicketLiveOptions): TicketLive {
  const { ticketId } = options;
  const doc = new Y.Doc();
  const draft = doc.getText(TicketDoc.draft);
  const threadArray = doc.getArray<ThreadMessage>(TicketDoc.thread);
  const metaMap = doc.getMap<unknown>(TicketDoc.meta);
  const color = agentColor(options.agentId);
  const mode = signal<SendKind>(options.mode ?? "reply");
  const initial: TicketAwarenessState = {
    agentId: options.agentId,
    name: options.name,
    color,
    typing: false,
    mode: mode.peek(),
    cursor: null,
  };

  // Text typed while the socket was down, or before a crash, waits here for the next sync.
  const stored = typeof indexedDB === "undefined" ? null : new IndexeddbPersistence(`helpdesk-draft:${options.accountId}:${ticketId}`, doc);

  const connection = new LiveConnection<TicketAwarenessState>({
    url: () => liveSocketUrl(location.href, `${LivePath.tickets}/${encodeURIComponent(ticketId)}`, options.token),
    doc,
    writable: true,
    localState: initial,
    onPermissionDenied: (reason) => console.warn(`ticket ${ticketId}: the room refused an update (${reason})`),
  });
  const published = createThrottledState<TicketAwarenessState>({
    initial,
    publish: (next) => connection.setLocalState(next),
  });
  const typing = createTypingIndicator({ publish: (id) => published.patch({ typing: id !== null }) });

  const state = signal<LiveState>(connection.state);
  const stopReason = signal<CloseReasonName | null>(connection.stopReason);
  const synced = signal(connection.status.synced);
  const everSynced = signal(false);
  const unsubscribe = connection.subscribe((status) =>
    batch(() => {
      state.value = status.state;
      stopReason.value = status.stopReason;
      synced.value = status.synced;
      if (status.synced) everSynced.value = true;
    }),
  );

  const threadValue = signal<readonly ThreadMessage[]>(threadArray.toArray());
  const metaValue = signal<Partial<TicketMeta>>(metaMap.toJSON() as Partial<TicketMeta>);
  const draftText = signal(draft.toString());
  const peers = signal<readonly TicketPeer[]>([]);
  const onThread = (): void => void (threadValue.value = threadArray.toArray());
  const onMeta = (): void => void (metaValue.value = metaMap.toJSON() as Partial<TicketMeta>);
  const onDraft = (): void => void (draftText.value = draft.toString());
  const onAwareness = (): void => void (peers.value = readPeers(connection.awareness));
  threadArray.observe(onThread);
  metaMap.observe(onMeta);
  draft.observe(onDraft);
  connection.awareness.on("change", onAwareness);

  const up = computed(() => state.value === "connected" && synced.value);
  // As for the inbox: the banner waits out a grace period, and a stopped socket shows its own.
  const grace = offlineAfterGrace(computed(() => up.value || state.value === "stopped"), options.graceMs);

  connection.connect();

  return {
    doc,
    draft,
    awareness: connection.awareness,
    color,
    state,
    up,
    offline: grace.offline,
    stopReason,
    // What the IndexedDB copy holds of the thread may be old: the document speaks once synced.
    thread: computed(() => (everSynced.value ? threadValue.value : null)),
    meta: computed(() => (everSynced.value ? metaValue.value : null)),
    draftText,
    peers,
    mode,
    setMode(next) {
      mode.value = next;
      published.patch({ mode: next });
    },
    setCursor(cursor) {
      published.patch({ cursor });
    },
    keystroke: () => typing.keystroke(ticketId),
    stopTyping: () => typing.clear(),
    flush: () => connection.flush(),
    reconnectNow: () => connection.reconnectNow(),
    dispose() {
      grace.dispose();
      unsubscribe();
      typing.destroy();
      published.destroy();
      threadArray.unobserve(onThread);
      metaMap.unobserve(onMeta);
      draft.unobserve(onDraft);
      connection.awareness.off("change", onAwareness);
      connection.destroy();
      // Nothing left to merge later: do not keep a database per ticket ever opened (but only
      // once the stored copy was read: an empty draft before that says nothing).
      if (stored !== null) void (stored.synced && draft.length === 0 ? stored.clearData() : stored.destroy());
      connection.awareness.destroy();
      doc.destroy();
    },
  };
}
