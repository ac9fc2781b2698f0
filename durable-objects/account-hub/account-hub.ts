import { DurableObject } from "cloudflare:workers";
import * as Y from "yjs";
import {
  AGENT_AWARENESS_FIELDS,
  AWARENESS_BURST,
  AWARENESS_PER_SECOND,
  effectiveAvailability,
  Keepalive,
  KEEPALIVE_QUERY_PARAM,
  LivePath,
  MAX_CLIENT_FRAME_BYTES,
  MessageType,
  type AgentAwarenessState,
  type AgentPresence,
} from "../../protocol/index.ts";
import { AgentIdentity, IDENTITY_HEADER } from "../../worker/auth/identity.ts";
import type { Env } from "../../worker/env.ts";
import { ApiError } from "../../worker/http/errors.ts";
import { accountShard } from "../../worker/shards.ts";
import { ticketRoom } from "../../worker/tickets/rooms.ts";
import type { RoomResult, TicketChangeReport, TicketRef } from "../ticket-room/room-api.ts";
import { loadTicketPage } from "../ticket-room/shard-reads.ts";
import type { TicketRecord } from "../ticket-room/ticket-record.ts";
import { DocStore } from "../live/doc-store.ts";
import { BadMessageError, LiveRoom, type LiveRoomPolicy } from "../live/live-room.ts";
import { attachIdentity, completeClose, peerFor, setSocketFlags, silentSockets, socketFlags } from "../socket-peer.ts";
import {
  assignmentSettled,
  capacityKind,
  chooseAgent,
  servingOrder,
  type RoutableAgent,
  type SentAssignment,
  type WaitingTicket,
} from "./assignment.ts";
import { EMPTY_CONFIG, loadHubConfig, type HubAgent, type HubConfig } from "./hub-config.ts";
import { HubStore, type IndexedTicket } from "./hub-store.ts";
import { AgentDocuments, type AgentDocument } from "./agent-docs.ts";
import {
  applyCountDelta,
  ensureAgent,
  markNotificationsRead,
  pushNotifications,
  readCounts,
  readPresence,
  replaceCounts,
  privateCountKeys,
  privateViewsOf,
  sharedViews,
  splitCounts,
  writeAgents,
  writeFollowedViews,
  writePresence,
  writeViews,
} from "./inbox-doc.ts";
import { notificationsFor, withoutPrivateViews, type NotificationDraft } from "./notifications.ts";
import { addKeysDelta, countEntry, viewsCountClosed } from "./view-counts.ts";

/** How long an agent whose last socket closed still shows online (a tab handover, a reload). */
const OFFLINE_GRACE_MS = 3_000;
/** How often silent sockets are looked for while keepalive sockets are open. */
const SWEEP_INTERVAL_MS = 30_000;
/** How often the ticket index is checked against the shard while anyone is connected (safety net). */
const RECONCILE_INTERVAL_MS = 5 * 60_000;
/** Tickets changed this long before the last check are looked at again (clock skew, in-flight writes). */
const RECONCILE_OVERLAP_MS = 60_000;
/**
 * Tickets per shard request. The first build of the index reads one page per alarm, so an
 * account of any size is built within a Durable Object's per-invocation limits.
 */
const SYNC_PAGE = 500;
/** After a failed page of the build (shard unreachable), the next try. */
const BUILD_RETRY_MS = 5_000;
/** Tickets leaving a time window handled per alarm; more are handled by the next, at once. */
const WINDOW_EXITS_PER_ALARM = 1_000;
/**
 * Server writes to the inbox go out at most this often, merged: a storm of reconnecting
 * agents or a bulk change of many tickets becomes one frame per socket instead of one per
 * write per socket. They are persisted at once; only the sending waits.
 */
const DOC_BROADCAST_DELAY_MS = 20;

/** What the hub asks of ticket rooms when it routes. */
export interface RoutingRoom {
  autoAssign(ref: TicketRef, agentId: string, teamId: string): Promise<RoomResult<{ assigned: boolean }>>;
  releaseAssignment(ref: TicketRef, agentId: string): Promise<RoomResult<{ assigned: boolean }>>;
}

/** A build of the index from the shard in progress: where the next page starts. */
interface BuildState {
  cursor: { updatedAt: number; id: string };
  startedAt: number;
  retryAt: number | null;
}

interface PresenceSnapshot {
  agentId: string;
  sockets: number;
  presence: AgentPresence | null;
}

/**
 * One per account (`idFromName(accountId)`): the account's live inbox and its serialisation
 * point. It owns the server-written `inbox` Yjs document (agents, presence, shared views and
 * their exact counts, notifications), each agent's own `agent` document (their private
 * views and counts: agent-docs.ts), and relays the awareness of every agent tab (viewing,
 * typing, idle). Ticket changes arrive as reports from the AccountWriter once they are on
 * the shard; counts (per-ticket deltas over the index: hub-store.ts), notifications and
 * auto-assignment are derived from them.
 *
 * Hibernation-friendly: identity and per-socket flags live in socket attachments, the
 * documents, the ticket index and the counts in SQLite, keepalives are answered by the
 * runtime without waking the object, and the only timer is an alarm (silent sockets,
 * tickets leaving time windows, the index's first build a page at a time, the periodic
 * check against the shard).
 */
export class AccountHub extends DurableObject<Env> {
  private readonly doc = new Y.Doc();
  private readonly docStore: DocStore;
  private readonly store: HubStore;
  private readonly room: LiveRoom<AgentIdentity>;
  /** Each agent's own document: their private views (see agent-docs.ts). */
  private readonly agentDocs: AgentDocuments;
  private config: HubConfig | null;
  private accountId: string | null;
  private ready: Promise<void> | null = null;
  /** Auto-assignment runs one at a time, each after the previous. */
  private assigning: Promise<void> = Promise.resolve();
  /** Assignments rooms took whose report the index has not caught up with: ticket → assignment. */
  private readonly sentAssignments = new Map<string, SentAssignment>();
  private readonly lastFrameAt = new WeakMap<WebSocket, number>();
  /** Server writes persisted but not yet sent (see DOC_BROADCAST_DELAY_MS). */
  private unsentUpdates: Uint8Array[] = [];
  private broadcastTimer: ReturnType<typeof setTimeout> | null = null;
  /** The room of a ticket, for routing. A field so that a test can stand in for the rooms and order their answers. */
  private roomFor: (ref: TicketRef) => RoutingRoom = (ref) => ticketRoom(this.env, ref);
  /** How the index reads the shard, page by page; fields so that a test can interrupt a build. */
  private loadPage = loadTicketPage;
  private pageSize = SYNC_PAGE;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(Keepalive.request, Keepalive.response));
    this.store = new HubStore(ctx.storage);
    this.docStore = new DocStore(ctx.storage, "inbox");
    this.docStore.load(this.doc);
    this.config = this.store.meta<HubConfig>("config");
    this.accountId = this.store.meta<string>("account_id");
    this.room = new LiveRoom(this.doc, inboxPolicy);
    // Every server-side change is persisted, then sent to every socket.
    this.doc.on("update", (update: Uint8Array, origin: unknown) => {
      if (origin === this.docStore) return;
      this.docStore.append(this.doc, update);
      this.unsentUpdates.push(update);
      this.broadcastTimer ??= setTimeout(() => this.sendUnsentUpdates(), DOC_BROADCAST_DELAY_MS);
    });
    this.agentDocs = new AgentDocuments(ctx.storage, (agentId) =>
      ctx.getWebSockets(agentDocTag(agentId)).filter((ws) => ws.readyState === WebSocket.OPEN).map((ws) => peerFor<AgentIdentity>(ws)),
    );
    // Woken from hibernation with sockets still open: awareness lived only in memory.
    const sockets = this.inboxSockets();
    if (sockets.length > 0) this.room.queryAwareness(sockets.map((ws) => peerFor<AgentIdentity>(ws)));
    // Agents' own documents with sockets still open are kept current again (loaded).
    for (const ws of ctx.getWebSockets()) {
      const owner = this.agentDocOwner(ws);
      if (owner !== null) this.agentDocs.open(owner);
    }
    // The counts are kept in SQLite with the index, in the same transactions: republishing
    // them costs one read of the counts table and writes nothing when the documents agree.
    if (this.indexComplete()) this.publishAllCounts();
  }

  // --- sockets ----------------------------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade") !== "websocket") {
      return Response.json({ error: { code: "UPGRADE_REQUIRED", message: "expected a WebSocket upgrade" } }, { status: 426 });
    }
    const identity = AgentIdentity.parse(JSON.parse(request.headers.get(IDENTITY_HEADER) ?? "null"));
    this.rememberAccount(identity.accountId);
    const url = new URL(request.url);
    const keepalive = url.searchParams.get(KEEPALIVE_QUERY_PARAM) === "1";
    const pair = new WebSocketPair();
    const server = pair[1];
    if (url.pathname === LivePath.agent) {
      // The agent's own document: no presence, no awareness; tagged apart from inbox sockets.
      this.ctx.acceptWebSocket(server, [agentDocTag(identity.agentId)]);
      attachIdentity(server, identity, { keepalive, idle: false, connectedAt: Date.now() });
      try {
        await this.ensureReady(identity.accountId);
      } catch (error) {
        console.warn("inbox: not ready yet", String(error));
      }
      const own = this.refreshAgentDoc(identity.agentId);
      own.room.welcome(peerFor(server));
      await this.armAlarm();
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    this.ctx.acceptWebSocket(server, [identity.agentId]);
    attachIdentity(server, identity, { keepalive, idle: false, connectedAt: Date.now() });
    ensureAgent(this.doc, identity);
    this.room.welcome(peerFor(server));
    this.refreshPresence(identity.agentId);
    void this.ensureReady(identity.accountId).catch((error: unknown) => console.warn("inbox: not ready yet", String(error)));
    await this.armAlarm();
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const peer = peerFor<AgentIdentity>(ws);
    this.lastFrameAt.set(ws, Date.now());
    if (typeof message === "string") {
      // Keepalives are answered by the runtime; this is a keepalive sent as not exactly that.
      peer.close("BAD_MESSAGE");
      return;
    }
    if (message.byteLength > MAX_CLIENT_FRAME_BYTES) {
      peer.close("MESSAGE_TOO_BIG");
      return;
    }
    const agentDocOf = this.agentDocOwner(ws);
    if (agentDocOf !== null) {
      try {
        this.agentDocs.open(agentDocOf).room.handleFrame(peer, new Uint8Array(message), () => []);
      } catch (error) {
        if (!(error instanceof BadMessageError)) throw error;
        console.warn(`agent document: bad frame from agent ${peer.identity.agentId}: ${error.message}`);
        peer.close("BAD_MESSAGE");
      }
      return;
    }
    try {
      this.room.handleFrame(peer, new Uint8Array(message), () => this.peers());
    } catch (error) {
      if (!(error instanceof BadMessageError)) throw error;
      console.warn(`inbox: bad frame from agent ${peer.identity.agentId}: ${error.message}`);
      this.dropSocket(ws, "BAD_MESSAGE");
      return;
    }
    // Idle is per browser: the agent is away once every socket of theirs says so. Only an
    // awareness frame can change it (its first byte is the message type).
    if (new Uint8Array(message, 0, 1)[0] !== MessageType.awareness) return;
    const states = this.room.statesOf(peer) as (AgentAwarenessState | null)[];
    const idle = states.length > 0 && states.every((state) => state?.idle === true);
    if (setSocketFlags(ws, { idle })) this.refreshPresence(peer.identity.agentId);
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    completeClose(ws, code);
    this.forgetSocket(ws);
  }

  override webSocketError(ws: WebSocket): void {
    this.forgetSocket(ws);
  }

  private forgetSocket(ws: WebSocket): void {
    // An agent document socket holds no awareness and says nothing of presence.
    if (this.agentDocOwner(ws) !== null) return;
    const peer = peerFor<AgentIdentity>(ws);
    this.room.removePeer(peer, this.peers(ws));
    this.refreshPresence(peer.identity.agentId, ws);
  }

  private dropSocket(ws: WebSocket, reason: "BAD_MESSAGE" | "KEEPALIVE_TIMEOUT"): void {
    peerFor<AgentIdentity>(ws).close(reason);
    this.forgetSocket(ws);
  }

  private sendUnsentUpdates(): void {
    this.broadcastTimer = null;
    const updates = this.unsentUpdates;
    this.unsentUpdates = [];
    if (updates.length === 0) return;
    this.room.broadcastDocUpdate(updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates), this.peers());
  }

  /** Sockets of the inbox document (not of agents' own documents). */
  private inboxSockets(): WebSocket[] {
    return this.ctx.getWebSockets().filter((ws) => this.agentDocOwner(ws) === null);
  }

  /** The agent whose own document this socket syncs, or null for an inbox socket. */
  private agentDocOwner(ws: WebSocket): string | null {
    const tag = this.ctx.getTags(ws)[0] ?? "";
    return tag.startsWith(AGENT_DOC_TAG) ? tag.slice(AGENT_DOC_TAG.length) : null;
  }

  private peers(except?: WebSocket) {
    return this.inboxSockets()
      .filter((ws) => ws !== except)
      .map((ws) => peerFor<AgentIdentity>(ws));
  }

  private openSocketsOf(agentId: string, except?: WebSocket): WebSocket[] {
    return this.ctx.getWebSockets(agentId).filter((ws) => ws !== except && ws.readyState === WebSocket.OPEN);
  }

  // --- presence and availability ------------------------------------------------------------

  /**
   * Re-derives an agent's presence from their open sockets and chosen availability. Going
   * offline waits OFFLINE_GRACE_MS (on the alarm): a browser's leader tab closing hands its
   * socket to another tab within a moment, and a reload reconnects at once; neither should
   * show the agent leaving and coming back.
   */
  private refreshPresence(agentId: string, closing?: WebSocket, graceOver = false): void {
    const sockets = this.openSocketsOf(agentId, closing);
    let online = sockets.length > 0;
    const pending = this.store.meta<Record<string, number>>("offline_pending") ?? {};
    if (online && agentId in pending) {
      delete pending[agentId];
      this.store.setMeta("offline_pending", pending);
    }
    if (!online && !graceOver && readPresence(this.doc, agentId)?.online) {
      // Still shown online during the grace; a chosen availability applies at once.
      online = true;
      if (!(agentId in pending)) {
        pending[agentId] = Date.now() + OFFLINE_GRACE_MS;
        this.store.setMeta("offline_pending", pending);
        void this.armAlarm();
      }
    }
    const next = {
      online,
      status: this.agentConfig(agentId)?.availability ?? "available",
      idle: sockets.length > 0 ? sockets.every((ws) => socketFlags(ws).idle) : (readPresence(this.doc, agentId)?.idle ?? false),
    };
    const before = readPresence(this.doc, agentId);
    if (!writePresence(this.doc, agentId, next, Date.now())) return;
    const was = before ? effectiveAvailability(before) : "offline";
    const now = effectiveAvailability(next);
    if (now === "available" && was !== "available") this.scheduleAssignment();
    if (was === "available" && now !== "available" && this.config?.unassignChatsWhenUnavailable) this.releaseChatsOf(agentId);
  }

  private agentConfig(agentId: string): HubAgent | undefined {
    return this.config?.agents.find((agent) => agent.id === agentId);
  }

  /** Agents, with how many sockets each has open (the live team board, tests). */
  async presenceSnapshot(): Promise<PresenceSnapshot[]> {
    const agentIds = new Set([...(this.config?.agents.map((agent) => agent.id) ?? []), ...this.inboxSockets().flatMap((ws) => this.ctx.getTags(ws))]);
    return [...agentIds].sort().map((agentId) => ({
      agentId,
      sockets: this.openSocketsOf(agentId).length,
      presence: readPresence(this.doc, agentId) ?? null,
    }));
  }

  // --- configuration ------------------------------------------------------------------------

  /** The account's views, agents, tags or routing settings changed on the shard: read them again. */
  async reloadConfig(accountId: string): Promise<void> {
    this.rememberAccount(accountId);
    await this.ensureReady(accountId);
    const viewsBefore = JSON.stringify(this.config?.views ?? []);
    await this.loadConfig(accountId);
    // An agent's preferences or capacity change the configuration too; only views change every count.
    if (JSON.stringify(this.config?.views ?? []) !== viewsBefore) this.recountAll(Date.now());
    for (const agent of this.config?.agents ?? []) this.refreshPresence(agent.id);
    this.scheduleAssignment();
    await this.armAlarm();
  }

  private async loadConfig(accountId: string): Promise<void> {
    // Read before the shard is: a tag on an indexed ticket then existed before the shard's
    // answer, so a tag the answer lacks was deleted (not created meanwhile).
    const indexedTags = this.store.indexedTagIds();
    let config: HubConfig;
    let known = true;
    try {
      config = await loadHubConfig(await accountShard(this.env, accountId), accountId);
    } catch (error) {
      // An account the directory does not know (yet) has nothing to count or route.
      if (!isUnknownAccount(error)) throw error;
      config = EMPTY_CONFIG;
      known = false;
    }
    this.config = config;
    this.store.setMeta("config", config);
    this.doc.transact(() => {
      writeAgents(this.doc, config.agents, config.views);
      // Whoever is connected stays listed, known to the configuration or not (yet).
      for (const ws of this.inboxSockets()) ensureAgent(this.doc, peerFor<AgentIdentity>(ws).identity);
      writeViews(this.doc, sharedViews(config.views));
    });
    for (const agentId of this.agentDocs.agentIds()) this.refreshAgentDoc(agentId);
    if (known) {
      const existing = new Set(config.tagIds);
      const deleted = indexedTags.filter((tagId) => !existing.has(tagId));
      if (deleted.length > 0) this.dropDeletedTags(deleted);
    }
  }

  private rememberAccount(accountId: string): void {
    if (this.accountId === accountId) return;
    this.accountId = accountId;
    this.store.setMeta("account_id", accountId);
  }

  /**
   * Configuration once per instance (retried after a failure), and the index's first build
   * started: its first page now, the rest from the alarm, a page per invocation (an account
   * of any size stays within one invocation's subrequest and CPU limits); reports apply
   * meanwhile.
   */
  private ensureReady(accountId: string): Promise<void> {
    this.rememberAccount(accountId);
    this.ready ??= (async () => {
      if (!this.config) await this.loadConfig(accountId);
      if (!this.indexComplete() && !this.store.meta<BuildState>("build")) {
        this.startBuild();
        // The first page at once: most accounts fit in it, and are counted before this returns.
        const build = this.store.meta<BuildState>("build");
        if (build) await this.buildPage(accountId, build).catch((error: unknown) => console.warn("inbox: the first page of the index failed", String(error)));
        await this.armAlarm();
      }
    })().catch((error: unknown) => {
      this.ready = null;
      throw error;
    });
    return this.ready;
  }

  // --- ticket changes -----------------------------------------------------------------------

  /**
   * Ticket rooms' changes, reported by the AccountWriter once they are on the shard (many
   * tickets per call). A report is applied only for versions the hub has not seen, so
   * duplicates and out-of-order arrivals change nothing and notify nobody twice.
   */
  async reportTicketChanges(reports: TicketChangeReport<TicketRecord>[]): Promise<void> {
    const first = reports[0];
    if (!first) return;
    await this.ensureReady(first.after.accountId);
    const config = this.config ?? EMPTY_CONFIG;
    const now = Date.now();
    const followedViews = new Map(config.agents.filter((a) => a.followedViewIds.length > 0).map((a) => [a.id, a.followedViewIds]));
    const delta = new Map<string, number>();
    const drafts: NotificationDraft[] = [];
    // Most reports are a new message on an assigned ticket: nothing for routing to do then.
    let routingMayChange = false;
    this.ctx.storage.transactionSync(() => {
      for (const report of reports) {
        const known = this.store.indexed(report.ticketId);
        if (known && known.version >= report.version) {
          // Seen already (the check against the shard came first): it may still settle an assignment.
          this.settleSent(report);
          continue;
        }
        routingMayChange ||= !known || routingFieldsDiffer(known, report.after);
        drafts.push(...notificationsFor({ known, report, views: config.views, followedViews, now }));
        this.indexTicket(report.after, known, now, delta);
        this.settleSent(report);
      }
      this.store.addCounts(delta);
    });
    this.doc.transact(() => {
      this.publishCounts(delta);
      pushNotifications(this.doc, withoutPrivateViews(drafts, config.views), now);
    });
    if (routingMayChange) this.scheduleAssignment();
    await this.armAlarm();
  }

  private settleSent(report: TicketChangeReport<TicketRecord>): void {
    const sent = this.sentAssignments.get(report.ticketId);
    if (sent && assignmentSettled(sent, this.store.indexedState(report.ticketId), report.changes)) this.sentAssignments.delete(report.ticketId);
  }

  /** The newest version of a ticket the hub has been told about (tests, diagnostics). */
  async reportedVersion(ticketId: string): Promise<number | null> {
    return this.store.version(ticketId);
  }

  /**
   * Every count as published (tests, diagnostics): the shared views' from the inbox document,
   * private views' as their owners' documents get them (from the stored counts).
   */
  async viewCounts(): Promise<Record<string, number>> {
    const counts = readCounts(this.doc);
    if (this.indexComplete()) {
      const { byOwner } = splitCounts(this.store.counts(), privateCountKeys(this.config?.views ?? []));
      for (const own of byOwner.values()) for (const [key, n] of own) counts.set(key, n);
    }
    return Object.fromEntries(counts);
  }

  /** Once queued routing work is done: assignments sent whose report has not arrived (tests, diagnostics). */
  async assignmentsInFlight(): Promise<Record<string, string>> {
    for (let queued = this.assigning; ; queued = this.assigning) {
      await queued;
      if (queued === this.assigning) break;
    }
    return Object.fromEntries([...this.sentAssignments].map(([ticketId, sent]) => [ticketId, sent.agentId]));
  }

  async markNotificationsRead(agentId: string, seq: number): Promise<void> {
    markNotificationsRead(this.doc, agentId, seq);
  }

  /** Index diagnostics: ticket JSON parsed by this instance, rows, rows with details (tests). */
  async indexStats(): Promise<{ parsed: number; tickets: number; detailed: number; complete: boolean }> {
    return { parsed: this.store.parsed, tickets: this.store.ticketCount(), detailed: this.store.detailedCount(), complete: this.indexComplete() };
  }

  private indexComplete(): boolean {
    return this.store.meta<boolean>("index_built") === true;
  }

  /**
   * Writes a ticket to the index (the caller decided it is newer, or due again), adding to
   * `delta` how the counts move: from the keys the row held to the keys it holds now. Tag ids
   * deleted from the account are stripped (a room may still carry one).
   */
  private indexTicket(ticket: TicketRecord, before: IndexedTicket | null, now: number, delta: Map<string, number>): void {
    const deleted = this.store.deletedTags();
    const clean = ticket.tagIds.some((tagId) => deleted.has(tagId)) ? { ...ticket, tagIds: ticket.tagIds.filter((tagId) => !deleted.has(tagId)) } : ticket;
    const entry = countEntry(this.config?.views ?? [], clean, now);
    addKeysDelta(delta, before?.countKeys ?? [], entry.keys);
    this.store.write(clean, entry);
  }

  /**
   * Sends count moves: shared views' to the inbox, private views' to their owner's document
   * (if loaded; one not loaded is brought up to date when its agent connects). Held while the
   * index is being built (they would be partial).
   */
  private publishCounts(delta: ReadonlyMap<string, number>): void {
    if (delta.size === 0 || !this.indexComplete()) return;
    const { shared, byOwner } = splitCounts(delta, privateCountKeys(this.config?.views ?? []));
    if (shared.size > 0) this.doc.transact(() => applyCountDelta(this.doc, shared));
    for (const [agentId, own] of byOwner) {
      const document = this.agentDocs.get(agentId);
      if (document) document.doc.transact(() => applyCountDelta(document.doc, own));
    }
  }

  private publishAllCounts(): void {
    const { shared } = splitCounts(this.store.counts(), privateCountKeys(this.config?.views ?? []));
    this.doc.transact(() => replaceCounts(this.doc, shared));
    for (const agentId of this.agentDocs.agentIds()) this.refreshAgentDoc(agentId);
  }

  /** Loads an agent's own document and makes it hold their private views, follows and counts now. */
  private refreshAgentDoc(agentId: string): AgentDocument {
    const document = this.agentDocs.open(agentId);
    const views = privateViewsOf(this.config?.views ?? [], agentId);
    const followed = this.agentConfig(agentId)?.followedViewIds ?? [];
    const { byOwner } = splitCounts(this.indexComplete() ? this.store.counts() : new Map(), privateCountKeys(views));
    document.doc.transact(() => {
      writeViews(document.doc, views);
      writeFollowedViews(document.doc, followed.filter((viewId) => views.some((view) => view.id === viewId)));
      if (this.indexComplete()) replaceCounts(document.doc, byOwner.get(agentId) ?? new Map());
    });
    return document;
  }

  /**
   * The views changed: every count from scratch, page by page over the index. Closed tickets
   * kept compactly have no details to count; if a view can now count closed tickets, they are
   * read again from the shard (a build), and counts are held until it completes.
   */
  private recountAll(now: number): void {
    const views = this.config?.views ?? [];
    const counts = new Map<string, number>();
    this.ctx.storage.transactionSync(() => {
      for (let after = ""; ; ) {
        const page = this.store.ticketPage(after, SYNC_PAGE);
        for (const ticket of page) {
          const entry = countEntry(views, ticket, now);
          addKeysDelta(counts, [], entry.keys);
          this.store.write(ticket, entry);
        }
        const last = page.at(-1);
        if (!last || page.length < SYNC_PAGE) break;
        after = last.id;
      }
      this.store.replaceCounts(counts);
      if (viewsCountClosed(views) && this.store.hasCompactRows()) this.startBuild();
    });
    if (this.indexComplete()) this.publishAllCounts();
  }

  private startBuild(): void {
    this.store.setMeta("index_built", false);
    this.store.setMeta("build", { cursor: { updatedAt: 0, id: "" }, startedAt: Date.now(), retryAt: null } satisfies BuildState);
  }

  private async shardOf(accountId: string) {
    return accountShard(this.env, accountId).catch((error: unknown) => {
      if (isUnknownAccount(error)) return null;
      throw error;
    });
  }

  /**
   * One page of the index's build from the shard, from the persisted cursor (so a restart
   * resumes it). Reports applied meanwhile stay: a page's older version of a ticket is
   * skipped, and a ticket changed after the cursor passed it comes by its report. Counts
   * are the sum of the rows, so none is lost or counted twice; they are published once the
   * last page is in.
   */
  private async buildPage(accountId: string, build: BuildState): Promise<void> {
    const shard = await this.shardOf(accountId);
    const size = this.pageSize;
    const page = shard ? await this.loadPage(shard, accountId, build.cursor, size) : [];
    const now = Date.now();
    const delta = new Map<string, number>();
    const last = page.at(-1);
    const complete = !last || page.length < size;
    this.ctx.storage.transactionSync(() => {
      for (const ticket of page) {
        const known = this.store.indexed(ticket.id);
        // Equal versions are read again only for a row kept without details (see recountAll).
        if (known && (known.version > ticket.version || (known.version === ticket.version && known.hasDetails))) continue;
        this.indexTicket(ticket, known, now, delta);
      }
      this.store.addCounts(delta);
      if (complete) {
        this.store.setMeta("build", null);
        this.store.setMeta("index_built", true);
        this.store.setMeta("synced_at", build.startedAt);
      } else {
        this.store.setMeta("build", { cursor: { updatedAt: last.updatedAt, id: last.id }, startedAt: build.startedAt, retryAt: null } satisfies BuildState);
      }
    });
    if (!complete) return;
    this.publishAllCounts();
    this.scheduleAssignment();
  }

  /**
   * The safety net for a report that never came: tickets changed on the shard since `since`,
   * forward-only by version, applied as deltas like reports.
   */
  private async syncFromShard(accountId: string, since: number): Promise<void> {
    const startedAt = Date.now();
    const shard = await this.shardOf(accountId);
    let changed = false;
    if (shard) {
      let cursor = { updatedAt: since, id: "" };
      for (;;) {
        const page = await this.loadPage(shard, accountId, cursor, SYNC_PAGE);
        const now = Date.now();
        const delta = new Map<string, number>();
        this.ctx.storage.transactionSync(() => {
          for (const ticket of page) {
            const known = this.store.indexed(ticket.id);
            if (known && known.version >= ticket.version) continue;
            this.indexTicket(ticket, known, now, delta);
            changed = true;
          }
          this.store.addCounts(delta);
        });
        this.publishCounts(delta);
        const last = page.at(-1);
        if (!last || page.length < SYNC_PAGE) break;
        cursor = { updatedAt: last.updatedAt, id: last.id };
      }
    }
    this.store.setMeta("synced_at", startedAt);
    if (changed) this.scheduleAssignment();
  }

  /** Tickets whose time window ran out: only those are read, and their counts move by delta. */
  private expireWindows(now: number): boolean {
    const exits = this.store.windowExits(now, WINDOW_EXITS_PER_ALARM);
    if (exits.length === 0) return false;
    const delta = new Map<string, number>();
    this.ctx.storage.transactionSync(() => {
      for (const ticket of exits) this.indexTicket(ticket, this.store.indexed(ticket.id), now, delta);
      this.store.addCounts(delta);
    });
    this.publishCounts(delta);
    return exits.length === WINDOW_EXITS_PER_ALARM;
  }

  /** Tags deleted from the account: off every indexed ticket that carries one, counts by delta. */
  private dropDeletedTags(tagIds: readonly string[]): void {
    const now = Date.now();
    const delta = new Map<string, number>();
    this.ctx.storage.transactionSync(() => {
      this.store.markTagsDeleted(tagIds);
      for (const tagId of tagIds) {
        for (const ticket of this.store.ticketsTagged(tagId)) this.indexTicket(ticket, this.store.indexed(ticket.id), now, delta);
      }
      this.store.addCounts(delta);
    });
    this.publishCounts(delta);
  }

  // --- auto-assignment ----------------------------------------------------------------------

  private scheduleAssignment(): void {
    this.assigning = this.assigning.then(() => this.assignWaiting()).catch((error: unknown) => console.warn("auto-assignment failed", String(error)));
  }

  /**
   * Serves waiting tickets to available agents, one at a time. Each send awaits a room, and
   * meanwhile agents change availability and reports arrive: so who can take a ticket
   * (availability, capacity, assignments on their way) is read again before every decision
   * rather than planned once up front.
   */
  private async assignWaiting(): Promise<void> {
    const accountId = this.accountId;
    // A partial index undercounts agents' loads: routing waits for the build (which schedules it when done).
    if (!this.config || !accountId || !this.indexComplete()) return;
    this.settleSentAssignments();
    const queue = servingOrder(this.store.waitingTickets().filter((ticket) => !this.sentAssignments.has(ticket.id)));
    let agents = this.routableAgents();
    for (const ticket of queue) {
      if (agents.length === 0) return;
      const agent = chooseAgent(ticket, agents);
      if (!agent) continue;
      // A report during the previous await may have assigned or closed it.
      const indexed = this.store.indexedState(ticket.id);
      if (indexed === null || indexed.status !== "open" || indexed.assigneeId !== null || this.sentAssignments.has(ticket.id)) continue;
      await this.sendAssignment(accountId, ticket, agent.agentId, indexed.version);
      agents = this.routableAgents();
    }
  }

  /** Agents who may take a ticket now, with their load (the index's plus what is on its way). */
  private routableAgents(): RoutableAgent[] {
    const loads = this.store.openLoads();
    for (const sent of this.sentAssignments.values()) {
      const load = loads.get(sent.agentId) ?? { chat: 0, other: 0 };
      load[sent.kind] += 1;
      loads.set(sent.agentId, load);
    }
    const lastAssigned = this.store.meta<Record<string, number>>("last_assigned") ?? {};
    return (this.config?.agents ?? [])
      .filter((agent) => this.mayTakeTickets(agent.id))
      .map((agent) => ({
        agentId: agent.id,
        teamIds: new Set(agent.teamIds),
        capacity: agent.capacity,
        open: { ...(loads.get(agent.id) ?? { chat: 0, other: 0 }) },
        lastAssignedAt: lastAssigned[agent.id] ?? 0,
      }));
  }

  /** Online and available; agents in their offline grace (no socket left) are shown online but get nothing new. */
  private mayTakeTickets(agentId: string): boolean {
    const presence = readPresence(this.doc, agentId);
    const leaving = this.store.meta<Record<string, number>>("offline_pending") ?? {};
    return presence !== undefined && effectiveAvailability(presence) === "available" && !(agentId in leaving);
  }

  /** One assignment; its entry in `sentAssignments` ends with every outcome but "assigned and not yet indexed". */
  private async sendAssignment(accountId: string, ticket: WaitingTicket, agentId: string, version: number): Promise<void> {
    const ref: TicketRef = { accountId, ticketId: ticket.id };
    this.sentAssignments.set(ticket.id, { agentId, kind: capacityKind(ticket.channel), sentAtVersion: version });
    let assigned = false;
    try {
      const outcome = await this.roomFor(ref).autoAssign(ref, agentId, ticket.teamId);
      assigned = outcome.ok && outcome.value.assigned;
      if (!outcome.ok) console.warn(`auto-assignment of ${ticket.id} failed: ${outcome.message}`);
    } catch (error) {
      console.warn(`auto-assignment of ${ticket.id} failed`, String(error));
    } finally {
      const sent = this.sentAssignments.get(ticket.id);
      // Refused or failed: nothing is on its way. Assigned: its report may already be in.
      if (sent && (!assigned || assignmentSettled(sent, this.store.indexedState(ticket.id)))) this.sentAssignments.delete(ticket.id);
    }
    if (assigned) {
      const lastAssigned = this.store.meta<Record<string, number>>("last_assigned") ?? {};
      lastAssigned[agentId] = Date.now();
      this.store.setMeta("last_assigned", lastAssigned);
    }
  }

  /** Drops sent assignments the index has caught up with, however it learnt them. */
  private settleSentAssignments(): void {
    for (const [ticketId, sent] of this.sentAssignments) {
      if (assignmentSettled(sent, this.store.indexedState(ticketId))) this.sentAssignments.delete(ticketId);
    }
  }

  /**
   * Hands an agent's open chats back to their team's queue (the account's optional setting):
   * those the index shows and those whose assignment is still on its way. Read when the
   * release runs, after the assignments queued before it were sent.
   */
  private releaseChatsOf(agentId: string): void {
    const accountId = this.accountId;
    if (!accountId) return;
    this.assigning = this.assigning
      .then(async () => {
        const chats = new Set(this.store.openChatsOf(agentId));
        for (const [ticketId, sent] of this.sentAssignments) if (sent.agentId === agentId && sent.kind === "chat") chats.add(ticketId);
        for (const ticketId of chats) {
          // Back meanwhile: they keep the rest.
          if (this.mayTakeTickets(agentId)) return;
          const ref: TicketRef = { accountId, ticketId };
          const outcome = await this.roomFor(ref)
            .releaseAssignment(ref, agentId)
            .catch((error: unknown) => ({ ok: false as const, code: "UNAVAILABLE" as const, message: String(error) }));
          if (!outcome.ok) console.warn(`releasing chat ${ticketId} failed: ${outcome.message}`);
          // Released, or no longer theirs: either way it no longer counts against them.
          else if (this.sentAssignments.get(ticketId)?.agentId === agentId) this.sentAssignments.delete(ticketId);
        }
      })
      .catch((error: unknown) => console.warn("releasing chats failed", String(error)));
  }

  // --- the alarm: silent sockets, time windows, the safety net ------------------------------

  override async alarm(): Promise<void> {
    const now = Date.now();
    for (const ws of silentSockets(this.ctx, this.lastFrameAt, now)) this.dropSocket(ws, "KEEPALIVE_TIMEOUT");
    const pending = this.store.meta<Record<string, number>>("offline_pending") ?? {};
    for (const [agentId, at] of Object.entries(pending)) {
      if (at > now) continue;
      delete pending[agentId];
      this.store.setMeta("offline_pending", pending);
      this.refreshPresence(agentId, undefined, true);
    }
    const accountId = this.accountId;
    let moreDue = false;
    if (accountId !== null) {
      await this.ensureReady(accountId);
      const build = this.store.meta<BuildState>("build");
      // A failed page is retried when the alarm next fires (armAlarm sets it to retryAt at the latest).
      if (build) {
        try {
          await this.buildPage(accountId, build);
        } catch (error) {
          console.warn(`inbox: building the ticket index failed, retrying`, String(error));
          this.store.setMeta("build", { ...build, retryAt: Date.now() + BUILD_RETRY_MS } satisfies BuildState);
        }
      }
      const syncedAt = this.store.meta<number>("synced_at") ?? 0;
      if (this.indexComplete() && this.ctx.getWebSockets().length > 0 && now - syncedAt >= RECONCILE_INTERVAL_MS) {
        await this.loadConfig(accountId);
        await this.syncFromShard(accountId, Math.max(0, syncedAt - RECONCILE_OVERLAP_MS));
      }
      moreDue = this.expireWindows(Date.now());
    }
    await this.armAlarm(moreDue);
  }

  /** Sets the alarm to the earliest thing due (`now` too if work is left over), or clears it when nothing is. */
  private async armAlarm(moreDue = false): Promise<void> {
    const now = Date.now();
    const due: number[] = [];
    if (moreDue) due.push(now);
    const sockets = this.ctx.getWebSockets();
    if (sockets.some((ws) => socketFlags(ws).keepalive)) due.push(now + SWEEP_INTERVAL_MS);
    if (sockets.length > 0) due.push((this.store.meta<number>("synced_at") ?? now) + RECONCILE_INTERVAL_MS);
    const build = this.store.meta<BuildState>("build");
    if (build) due.push(build.retryAt ?? now);
    const exit = this.store.nextWindowExit();
    if (exit !== null) due.push(exit);
    due.push(...Object.values(this.store.meta<Record<string, number>>("offline_pending") ?? {}));
    if (due.length === 0) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    const next = Math.max(now, Math.min(...due));
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next || current < now) await this.ctx.storage.setAlarm(next);
  }
}

/** Tags an agent's own document sockets, apart from inbox sockets (tagged with the bare agent id). */
const AGENT_DOC_TAG = "agent-doc:";

function agentDocTag(agentId: string): string {
  return `${AGENT_DOC_TAG}${agentId}`;
}

/** Whether a change can matter to auto-assignment: who waits, in which queue, and who carries what. */
function routingFieldsDiffer(before: IndexedTicket, after: TicketRecord): boolean {
  return (
    before.status !== after.status ||
    before.assigneeId !== after.assigneeId ||
    before.teamId !== after.teamId ||
    before.priority !== after.priority ||
    before.channel !== after.channel
  );
}

/** The directory has no such account (tests' throwaway hubs, an account being created). */
function isUnknownAccount(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
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
    if (fields.idle !== undefined && typeof fields.idle !== "boolean") return false;
    return [fields.viewing, fields.typing].every(
      (value) => value === undefined || value === null || (typeof value === "string" && value.length <= 100),
    );
  },
  sameOwner: (a, b) => a.agentId === b.agentId && a.accountId === b.accountId,
  awarenessRate: { perSecond: AWARENESS_PER_SECOND, burst: AWARENESS_BURST },
};
