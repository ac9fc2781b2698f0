import * as Y from "yjs";
import {
  MAX_DRAFT_CHARS,
  MAX_TICKET_AWARENESS_CHARS,
  TICKET_AWARENESS_BURST,
  TICKET_AWARENESS_FIELDS,
  TICKET_AWARENESS_PER_SECOND,
  TicketDoc,
} from "../../protocol/ticket-doc.ts";
import type { AgentIdentity } from "../../worker/auth/identity.ts";
import { DocStore } from "../live/doc-store.ts";
import { LiveRoom, type LivePeer, type LiveRoomPolicy } from "../live/live-room.ts";
import { isDraftOnlyUpdate } from "./draft-guard.ts";

// The live side of a ticket room: its `ticket` document (protocol/ticket-doc.ts), the
// sockets' sync and awareness through LiveRoom, and the document's storage in the room's
// SQLite. The room writes thread and meta (ticket-doc.ts); agents co-edit the draft.

const DOC_NAME = "ticket";
/**
 * Agents' draft edits are persisted merged, this long after the first unsaved one: a storage
 * commit per keystroke would hold every relayed frame behind an fsync (output gates). A room
 * that dies meanwhile loses nothing that reached another agent: every client re-sends what
 * the room lacks when it syncs again.
 */
const PERSIST_DRAFT_AFTER_MS = 250;
/**
 * Agents' draft edits go out at once when the room has relayed none for this long; those
 * arriving within the window after a send go out together at its end, merged into one frame
 * per socket. At 10 agents typing, a frame then carries several keystrokes: the runtime's
 * cost is per frame sent (ARCHITECTURE.md, "Measured on these machines").
 */
const RELAY_WINDOW_MS = 15;

/** The origin of the room's own writes, so the update handler can tell them from a socket's. */
export const ROOM_ORIGIN = Symbol("ticket-room");

export class TicketLive {
  readonly doc: Y.Doc;
  readonly room: LiveRoom<AgentIdentity>;
  private readonly store: DocStore;
  private readonly peers: () => LivePeer<AgentIdentity>[];
  private readonly onDraftAuthor: (agentId: string) => void;
  private unsaved: Uint8Array[] = [];
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  private unrelayed: { update: Uint8Array; from: LivePeer<AgentIdentity> }[] = [];
  private relayTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    storage: DurableObjectStorage,
    peers: () => LivePeer<AgentIdentity>[],
    onDraftAuthor: (agentId: string) => void,
  ) {
    this.store = new DocStore(storage, DOC_NAME);
    this.peers = peers;
    this.onDraftAuthor = onDraftAuthor;
    this.doc = new Y.Doc();
    this.store.load(this.doc);
    this.room = new LiveRoom(this.doc, ticketPolicy(this.doc));
    this.doc.on("update", (update: Uint8Array, origin: unknown) => this.onUpdate(update, origin));
  }

  /** Whether the room has a stored document (it is created when the first socket opens). */
  static stored(storage: DurableObjectStorage): boolean {
    return new DocStore(storage, DOC_NAME).exists();
  }

  /** A server-side change to thread or meta: applied, stored in the caller's transaction, sent to every socket. */
  write(change: (doc: Y.Doc) => void): void {
    this.doc.transact(() => change(this.doc), ROOM_ORIGIN);
  }

  /** Stores draft edits not stored yet (before the last socket goes, or the room tidies up). */
  saveNow(): void {
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    const updates = this.unsaved;
    this.unsaved = [];
    if (updates.length > 0) this.store.append(this.doc, updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates));
  }

  private onUpdate(update: Uint8Array, origin: unknown): void {
    if (origin === this.store) return; // loading from storage
    if (origin === ROOM_ORIGIN || origin === null || origin === undefined) {
      this.store.append(this.doc, update);
      this.room.broadcastDocUpdate(update, this.peers());
      return;
    }
    // An agent's draft edit (the guard admitted it): relay now or with the window, store soon.
    const peer = origin as LivePeer<AgentIdentity>;
    this.relay(update, peer);
    this.onDraftAuthor(peer.identity.agentId);
    this.unsaved.push(update);
    this.saveTimer ??= setTimeout(() => this.saveNow(), PERSIST_DRAFT_AFTER_MS);
  }

  private relay(update: Uint8Array, from: LivePeer<AgentIdentity>): void {
    if (this.relayTimer !== null) {
      this.unrelayed.push({ update, from });
      return;
    }
    this.room.broadcastDocUpdate(update, this.peers(), from);
    this.relayTimer = setTimeout(() => this.relayWindowEnded(), RELAY_WINDOW_MS);
  }

  private relayWindowEnded(): void {
    const queued = this.unrelayed;
    this.unrelayed = [];
    if (queued.length === 0) {
      this.relayTimer = null;
      return;
    }
    const merged = queued.length === 1 ? queued[0]!.update : Y.mergeUpdates(queued.map((entry) => entry.update));
    // A socket gets the merged frame unless every edit in it is its own (an own edit coming
    // back is harmless: Yjs ignores what it has).
    const senders = new Set(queued.map((entry) => entry.from));
    this.room.broadcastDocUpdate(merged, this.peers(), senders.size === 1 ? queued[0]!.from : undefined);
    this.relayTimer = setTimeout(() => this.relayWindowEnded(), RELAY_WINDOW_MS);
  }
}

function ticketPolicy(doc: Y.Doc): LiveRoomPolicy<AgentIdentity> {
  const draft = doc.getText(TicketDoc.draft);
  return {
    // The draft's size bounds what an update may add: bytes never undercount characters.
    mayWrite: (update) => draft.length + update.byteLength <= MAX_DRAFT_CHARS * 4 && isDraftOnlyUpdate(doc, update),
    mayPublishAwareness: (state, identity) => isOwnTicketAwareness(state, identity),
    sameOwner: (a, b) => a.accountId === b.accountId && a.agentId === b.agentId,
    awarenessRate: { perSecond: TICKET_AWARENESS_PER_SECOND, burst: TICKET_AWARENESS_BURST },
  };
}

/** An agent may describe only themselves, with known fields of the right types. */
export function isOwnTicketAwareness(state: unknown, identity: AgentIdentity): boolean {
  if (typeof state !== "object" || state === null || Array.isArray(state)) return false;
  const record = state as Record<string, unknown>;
  if (!Object.keys(record).every((key) => (TICKET_AWARENESS_FIELDS as readonly string[]).includes(key))) return false;
  if (record.agentId !== identity.agentId) return false;
  if (typeof record.name !== "string" || record.name.length > 200) return false;
  if (record.color !== undefined && (typeof record.color !== "string" || !/^#[0-9a-fA-F]{6}$/.test(record.color))) return false;
  if (record.typing !== undefined && typeof record.typing !== "boolean") return false;
  if (record.mode !== undefined && record.mode !== "reply" && record.mode !== "note") return false;
  if (record.cursor !== undefined && record.cursor !== null) {
    const cursor = record.cursor as Record<string, unknown>;
    if (typeof cursor !== "object" || Array.isArray(cursor) || !("anchor" in cursor) || !("head" in cursor) || Object.keys(cursor).length !== 2) return false;
  }
  return JSON.stringify(state).length <= MAX_TICKET_AWARENESS_CHARS;
}
