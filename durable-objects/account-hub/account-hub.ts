import { DurableObject } from "cloudflare:workers";
import * as Y from "yjs";
import { AGENT_AWARENESS_FIELDS, InboxDoc, MAX_CLIENT_FRAME_BYTES } from "../protocol/index.ts";
import { AgentIdentity, IDENTITY_HEADER } from "../worker/auth/identity.ts";
import type { Env } from "../worker/env.ts";
import { DocStore } from "./live/doc-store.ts";
import { BadMessageError, LiveRoom, type LiveRoomPolicy } from "./live/live-room.ts";
import { attachIdentity, peerFor } from "./socket-peer.ts";
import type { TicketChangeReport } from "./ticket-room/room-api.ts";
import type { TicketRecord } from "./ticket-room/ticket-record.ts";

/**
 * One per account (`idFromName(accountId)`): the account's live inbox. It owns the `inbox`
 * Yjs document (server-written only) and relays the awareness of every agent tab. Sockets
 * are hibernatable: identity lives in each socket's attachment, the document in SQLite, and
 * nothing here sets a timer.
 */
export class AccountHub extends DurableObject<Env> {
  private readonly doc = new Y.Doc();
  private readonly store: DocStore;
  private readonly room: LiveRoom<AgentIdentity>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new DocStore(ctx.storage, "inbox");
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS ticket_index (
      ticket_id TEXT PRIMARY KEY, version INTEGER NOT NULL, ticket TEXT NOT NULL)`);
    this.store.load(this.doc);
    this.room = new LiveRoom(this.doc, inboxPolicy);
    // Every server-side change is persisted, then sent to every socket.
    this.doc.on("update", (update: Uint8Array, origin: unknown) => {
      if (origin === this.store) return;
      this.store.append(this.doc, update);
      this.room.broadcastDocUpdate(update, this.peers());
    });
    // Woken from hibernation with sockets still open: awareness lived only in memory.
    const sockets = ctx.getWebSockets();
    if (sockets.length > 0) this.room.queryAwareness(sockets.map((ws) => peerFor<AgentIdentity>(ws)));
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade") !== "websocket") {
      return Response.json({ error: { code: "UPGRADE_REQUIRED", message: "expected a WebSocket upgrade" } }, { status: 426 });
    }
    const identity = AgentIdentity.parse(JSON.parse(request.headers.get(IDENTITY_HEADER) ?? "null"));
    const pair = new WebSocketPair();
    const server = pair[1];
    this.ctx.acceptWebSocket(server, [identity.agentId]);
    attachIdentity(server, identity);
    this.recordAgent(identity);
    this.room.welcome(peerFor(server));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /**
   * Ticket rooms' changes, reported by the AccountWriter once on the shard (many tickets per
   * call, one storage transaction). Reports are applied per ticket
   * only when newer than what the hub holds, so duplicates and out-of-order arrivals are
   * harmless; live counts (next step) are derived from this index.
   */
  async reportTicketChanges(changes: TicketChangeReport<TicketRecord>[]): Promise<void> {
    this.ctx.storage.transactionSync(() => {
      for (const change of changes) this.indexTicket(change);
    });
  }

  private indexTicket(change: TicketChangeReport<TicketRecord>): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO ticket_index (ticket_id, version, ticket) VALUES (?, ?, ?)
       ON CONFLICT (ticket_id) DO UPDATE SET version = excluded.version, ticket = excluded.ticket
       WHERE excluded.version > ticket_index.version`,
      change.ticketId,
      change.version,
      JSON.stringify(change.after),
    );
  }

  /** The newest version of a ticket the hub has been told about (tests, diagnostics). */
  async reportedVersion(ticketId: string): Promise<number | null> {
    const row = this.ctx.storage.sql
      .exec<{ version: number }>("SELECT version FROM ticket_index WHERE ticket_id = ?", ticketId)
      .toArray()[0];
    return row?.version ?? null;
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const peer = peerFor<AgentIdentity>(ws);
    if (typeof message === "string") {
      peer.close("BAD_MESSAGE");
      return;
    }
    if (message.byteLength > MAX_CLIENT_FRAME_BYTES) {
      peer.close("MESSAGE_TOO_BIG");
      return;
    }
    try {
      this.room.handleFrame(peer, new Uint8Array(message), () => this.peers());
    } catch (error) {
      if (!(error instanceof BadMessageError)) throw error;
      console.warn(`inbox: bad frame from agent ${peer.identity.agentId}: ${error.message}`);
      this.room.removePeer(peer, this.peers(ws));
      peer.close("BAD_MESSAGE");
    }
  }

  override webSocketClose(ws: WebSocket): void {
    this.room.removePeer(peerFor<AgentIdentity>(ws), this.peers(ws));
  }

  override webSocketError(ws: WebSocket): void {
    this.room.removePeer(peerFor<AgentIdentity>(ws), this.peers(ws));
  }

  /** Agents of this account who have ever connected, for names in presence lists. */
  private recordAgent(identity: AgentIdentity): void {
    const agents = this.doc.getMap<{ name: string; role: string }>(InboxDoc.agents);
    const known = agents.get(identity.agentId);
    if (known?.name === identity.name && known.role === identity.role) return;
    agents.set(identity.agentId, { name: identity.name, role: identity.role });
  }

  private peers(except?: WebSocket) {
    return this.ctx
      .getWebSockets()
      .filter((ws) => ws !== except)
      .map((ws) => peerFor<AgentIdentity>(ws));
  }
}

/** The inbox is written by the hub alone; a tab may describe only its own agent. */
const inboxPolicy: LiveRoomPolicy<AgentIdentity> = {
  mayWrite: () => false,
  mayPublishAwareness(state, identity) {
    if (typeof state !== "object" || state === null || Array.isArray(state)) return false;
    const fields = state as Record<string, unknown>;
    // `{}` is what a stock y-websocket client publishes before it sets anything: it
    // describes no one, so it is harmless.
    if (Object.keys(fields).length === 0) return true;
    if (!Object.keys(fields).every((key) => (AGENT_AWARENESS_FIELDS as readonly string[]).includes(key))) return false;
    if (fields.agentId !== identity.agentId) return false;
    if (typeof fields.name !== "string" || fields.name.length > 200) return false;
    return [fields.viewing, fields.typing].every(
      (value) => value === undefined || value === null || (typeof value === "string" && value.length <= 100),
    );
  },
};
