import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../worker/env.ts";
import { accountShard, accountShardForWrite } from "../../worker/shards.ts";
import { loadThreadFromShard, loadTicketFromShard } from "./shard-reads.ts";
import { changeReport, shardStatements } from "./shard-writes.ts";
import { FLUSH_GUARD_LATEST_MS, FLUSH_GUARD_MS, RoomStore, type NewOutboxEntry, type OutboundDeliveryRequest, type OwedDelivery } from "./room-store.ts";
import {
  appendMessage,
  applyPatch,
  newTicketRecord,
  type Actor,
  type MessageRecord,
  type NewMessageInput,
  type NewTicketInput,
  type TicketPatch,
  type TicketRecord,
} from "./ticket-record.ts";
import type { AgentMessageInput, RoomResult, TicketRef } from "./room-api.ts";
import { lastAutoReplyAt, RuleContextCache } from "./rule-context.ts";
import { runRules, type RuleOutcome, type RunRulesInput } from "../../worker/rules/engine.ts";
import {
  deliveryFor,
  deliveryProviderFor,
  queuedDelivery,
  recordDeliveryOutcome,
  replyDeliveryFor,
  type DeliveryProvider,
  type SendResult,
} from "../../worker/channels/delivery.ts";
import { newId, type OutboundDelivery, type RuleEvent } from "../../schema/tables.ts";
import type { Shard } from "../../schema/shards.ts";
import { failureNote, nextStep, retryDelay } from "./delivery-retry.ts";
import { TicketLive } from "./ticket-live.ts";
import { refuseSocket } from "../../worker/live/refuse-socket.ts";
import { appendToThread, arrivedSince, clearDraft, draftText, readThread, threadMessage, writeMeta } from "./ticket-doc.ts";
import { BadMessageError } from "../live/live-room.ts";
import { attachIdentity, completeClose, peerFor, silentSockets, socketFlags } from "../socket-peer.ts";
import { AgentIdentity, IDENTITY_HEADER } from "../../worker/auth/identity.ts";
import { Keepalive, KEEPALIVE_QUERY_PARAM, MAX_CLIENT_FRAME_BYTES, type CloseReasonName } from "../../protocol/index.ts";
import { MAX_DRAFT_CHARS, type ThreadMessage } from "../../protocol/ticket-doc.ts";

const FLUSH_BATCH = 500;
/**
 * Outbox payload per flush. Entries carry messages of up to 100,000 characters (twice with a
 * delivery): after a long hold, 500 of them would exceed what one RPC or shard request
 * carries, and that batch would fail forever.
 */
const FLUSH_MAX_BYTES = 1_000_000;
/** Owed deliveries handled per flush (the rest are due at once, on the next alarm). */
const DISPATCH_BATCH = 20;
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 15_000;
/**
 * A room that stays quiet this long after a flush deletes its flushed outbox entries on the
 * alarm; a busy room's next commit deletes them first, at no extra storage commit.
 */
const TIDY_AFTER_MS = FLUSH_GUARD_LATEST_MS;
/** While keepalive sockets are open, the alarm looks for silent ones this often. */
const SWEEP_INTERVAL_MS = 30_000;

/**
 * One per ticket (`idFromName(accountId:ticketId)`): the single writer of its ticket.
 * Every change is committed to the room's SQLite with an outbox entry, then flushed as
 * idempotent statements through the account's AccountWriter (which batches many rooms into
 * one shard request and reports what landed to the AccountHub); a flush that fails is
 * retried from the alarm with backoff, so a shard outage delays persistence and never loses
 * a change.
 */
export class TicketRoom extends DurableObject<Env> {
  private readonly store: RoomStore;
  private flushing: Promise<void> | null = null;
  private flushRequested = false;
  private readonly ruleContext = new RuleContextCache();
  /** Whether a flush failure is on record; read from storage once after a wake. */
  private failing: boolean | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RoomStore(ctx.storage);
    // Commits arm the alarm synchronously: they must know whether an earlier one is set.
    void ctx.blockConcurrencyWhile(() => this.store.alarm.load());
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(Keepalive.request, Keepalive.response));
  }

  /** The live document, once a socket has opened one (undefined: not looked for since the wake). */
  private live: TicketLive | null | undefined;

  private liveDoc(): TicketLive | null {
    if (this.live === undefined) {
      this.live = TicketLive.stored(this.ctx.storage) ? this.openLive() : null;
      // A wake with sockets still open (hibernation, or a restart that kept them): draft edits
      // not stored yet and everyone's awareness are gone here, but the clients have them.
      // Sync step 1 makes each client send what the room lacks; the query, its awareness.
      const peers = this.peers();
      if (this.live && peers.length > 0) {
        for (const peer of peers) this.live.room.welcome(peer);
        this.live.room.queryAwareness(peers);
      }
    }
    return this.live;
  }

  private openLive(): TicketLive {
    return new TicketLive(this.ctx.storage, () => this.peers(), (agentId) => this.noteDraftAuthor(agentId));
  }

  /** When this instance last committed (unknown after a wake): a busy room's tidy-up waits. */
  private lastCommitAt: number | undefined;

  /** Commits a change and shows it in the live document at once, before the shard has it. */
  private commit(entry: NewOutboxEntry, coAuthorIds?: readonly string[]): void {
    this.store.commit(entry);
    this.lastCommitAt = Date.now();
    this.liveDoc()?.write((doc) => {
      writeMeta(doc, entry.after);
      if (entry.message) appendToThread(doc, [threadMessage(entry.message, coAuthorIds)]);
    });
  }

  // --- the live ticket socket ---------------------------------------------------------------

  /**
   * `GET /live/tickets/<id>` (routed by the Worker with a verified identity): the ticket's
   * live document. Another account's ticket and an unknown one get the same NOT_FOUND close.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade") !== "websocket") {
      return Response.json({ error: { code: "UPGRADE_REQUIRED", message: "expected a WebSocket upgrade" } }, { status: 426 });
    }
    const identity = AgentIdentity.parse(JSON.parse(request.headers.get(IDENTITY_HEADER) ?? "null"));
    const url = new URL(request.url);
    const ticketId = decodeURIComponent(url.pathname.split("/").at(-1) ?? "");
    const current = await this.current({ accountId: identity.accountId, ticketId });
    if (!current.ok) return refuseSocket(current.code === "NOT_FOUND" ? "NOT_FOUND" : "INTERNAL_ERROR");
    let live = this.liveDoc();
    if (!live) {
      try {
        live = await this.createLive(current.value);
      } catch (error) {
        console.error(`ticket ${ticketId}: cannot build the live document`, error);
        return refuseSocket("INTERNAL_ERROR");
      }
    }
    const pair = new WebSocketPair();
    const server = pair[1];
    this.ctx.acceptWebSocket(server);
    const keepalive = url.searchParams.get(KEEPALIVE_QUERY_PARAM) === "1";
    attachIdentity(server, identity, { keepalive, idle: false, connectedAt: Date.now() });
    live.room.welcome(peerFor(server));
    // Silent keepalive sockets are swept by the alarm: their cursors must not linger.
    if (keepalive) this.store.alarm.ensureBy(Date.now() + SWEEP_INTERVAL_MS, Date.now() + SWEEP_INTERVAL_MS);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const peer = peerFor<AgentIdentity>(ws);
    this.lastFrameAt.set(ws, Date.now());
    if (typeof message === "string") {
      // Keepalives are answered by the runtime; no other text frame exists.
      this.dropSocket(ws, "BAD_MESSAGE");
      return;
    }
    if (message.byteLength > MAX_CLIENT_FRAME_BYTES) {
      this.dropSocket(ws, "MESSAGE_TOO_BIG");
      return;
    }
    const live = this.liveDoc();
    if (!live) {
      this.dropSocket(ws, "INTERNAL_ERROR");
      return;
    }
    try {
      live.room.handleFrame(peer, new Uint8Array(message), () => this.peers());
    } catch (error) {
      if (!(error instanceof BadMessageError)) throw error;
      console.warn(`ticket socket: bad frame from agent ${peer.identity.agentId}: ${error.message}`);
      this.dropSocket(ws, "BAD_MESSAGE");
    }
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    completeClose(ws, code);
    this.forgetSocket(ws);
  }

  override webSocketError(ws: WebSocket): void {
    this.forgetSocket(ws);
  }

  /** When each socket last sent a frame (keepalives are answered by the runtime: see silentSockets). */
  private readonly lastFrameAt = new WeakMap<WebSocket, number>();

  private dropSocket(ws: WebSocket, reason: CloseReasonName): void {
    peerFor<AgentIdentity>(ws).close(reason);
    this.forgetSocket(ws);
  }

  private forgetSocket(ws: WebSocket): void {
    const live = this.liveDoc();
    if (!live) return;
    live.room.removePeer(peerFor<AgentIdentity>(ws), this.peers(ws));
    if (this.peers(ws).length === 0) live.saveNow();
  }

  private peers(except?: WebSocket) {
    return this.ctx
      .getWebSockets()
      .filter((ws) => ws !== except && ws.readyState === WebSocket.OPEN)
      .map((ws) => peerFor<AgentIdentity>(ws));
  }

  /** Builds the live document from the room's record and the thread (the shard's, plus what the room wrote since). */
  private async createLive(ticket: TicketRecord): Promise<TicketLive> {
    const shardThread = await loadThreadFromShard(await accountShard(this.env, ticket.accountId), { accountId: ticket.accountId, ticketId: ticket.id });
    // Another socket may have created it while this one read the shard.
    const raced = this.liveDoc();
    if (raced) return raced;
    const byId = new Map(shardThread.map((message) => [message.id, message]));
    for (const message of this.store.messages()) byId.set(message.id, message);
    const live = this.openLive();
    live.write((doc) => {
      writeMeta(doc, this.store.ticket() ?? ticket);
      appendToThread(doc, [...byId.values()].map((message) => threadMessage(message)));
    });
    this.live = live;
    return live;
  }

  /** Agents who typed in the draft since it was last sent: the co-authors of the next message. */
  private noteDraftAuthor(agentId: string): void {
    const authors = this.draftAuthors();
    if (authors.includes(agentId)) return;
    this.setDraftAuthors([...authors, agentId]);
  }

  /** Kept in memory once read: it is consulted on every keystroke, and written only when a new author appears. */
  private draftAuthorsCache: string[] | undefined;

  private draftAuthors(): string[] {
    this.draftAuthorsCache ??= JSON.parse(this.store.meta("draft_authors") ?? "[]") as string[];
    return this.draftAuthorsCache;
  }

  private setDraftAuthors(authors: string[]): void {
    this.draftAuthorsCache = authors;
    this.store.setMeta("draft_authors", authors.length > 0 ? JSON.stringify(authors) : null);
  }

  /**
   * Sends the shared draft as one message by `agentId` (a public reply, delivered by the
   * ticket's channel, or an internal note): in one commit the message is added and the draft
   * cleared for everyone. Held when a customer message or another agent's public reply
   * arrived after `seenThroughSeq`, the last message the agent had seen: the caller shows
   * what arrived, and the text stays in the draft.
   */
  async sendDraft(
    ref: TicketRef,
    agentId: string,
    options: { mode: "reply" | "note"; seenThroughSeq: number; id: string },
  ): Promise<RoomResult<{ sent: true; message: ThreadMessage; ticket: TicketRecord } | { sent: false; reason: "EMPTY" | "TOO_LONG" | "THREAD_CHANGED"; arrived: ThreadMessage[] }>> {
    const current = await this.current(ref);
    if (!current.ok) return current;
    const live = this.liveDoc();
    const body = live ? draftText(live.doc).trim() : "";
    if (!live || body === "") return { ok: true, value: { sent: false, reason: "EMPTY", arrived: [] } };
    // The guard bounds draft updates by bytes; a message has its own limit, as on /replies.
    if (body.length > MAX_DRAFT_CHARS) return { ok: true, value: { sent: false, reason: "TOO_LONG", arrived: [] } };
    if (options.mode === "reply") {
      const arrived = arrivedSince(readThread(live.doc), options.seenThroughSeq, agentId);
      if (arrived.length > 0) return { ok: true, value: { sent: false, reason: "THREAD_CHANGED", arrived } };
    }
    const coAuthorIds = [...new Set([agentId, ...this.draftAuthors()])];
    const isInternalNote = options.mode === "note";
    const delivery = isInternalNote ? null : replyDeliveryFor(current.value, body, deliveryProviderFor(this.env).name);
    const input: NewMessageInput = { id: options.id, authorKind: "agent", authorId: agentId, body, isInternalNote };
    const { message } = this.store.transaction(() => {
      const committed = this.commitMessage(current.value, input, delivery, Date.now(), { kind: "agent", id: agentId }, coAuthorIds);
      live.write((doc) => clearDraft(doc));
      this.setDraftAuthors([]);
      return committed;
    });
    this.requestFlush();
    return { ok: true, value: { sent: true, message: threadMessage(message, coAuthorIds), ticket: this.store.ticket()! } };
  }

  async create(
    input: NewTicketInput,
    firstMessage: NewMessageInput | null,
    actor: Actor,
    delivery: Omit<OutboundDeliveryRequest, "messageId"> | null = null,
  ): Promise<RoomResult<{ ticket: TicketRecord; message: MessageRecord | null }>> {
    if (this.store.ticket()) return { ok: false, code: "CONFLICT", message: "this ticket already exists" };
    const now = Date.now();
    const created = newTicketRecord(input, now);
    this.commit({ version: created.version, before: null, after: created, message: null, delivery: null, actor });
    let message: MessageRecord | null = null;
    if (firstMessage) {
      const result = this.commitMessage(created, firstMessage, delivery, now, actor);
      message = result.message;
    }
    await this.applyRules(["ticket_created"], actor, message);
    this.requestFlush();
    return { ok: true, value: { ticket: this.store.ticket()!, message } };
  }

  async update(ref: TicketRef, patch: TicketPatch, actor: Actor): Promise<RoomResult<TicketRecord>> {
    const current = await this.current(ref);
    if (!current.ok) return current;
    const next = applyPatch(current.value, patch, Date.now());
    if (next !== current.value) {
      this.commit({ version: next.version, before: current.value, after: next, message: null, delivery: null, actor });
      const events: RuleEvent[] = ["ticket_updated"];
      if (next.assigneeId !== null && next.assigneeId !== current.value.assigneeId) events.push("ticket_assigned");
      await this.applyRules(events, actor, null);
      this.requestFlush();
      const latest = this.store.ticket()!;
      if (latest.status === "snoozed" || current.value.status === "snoozed") this.rearm();
      return { ok: true, value: latest };
    }
    return { ok: true, value: next };
  }

  /** A message of a customer or the system (agents' messages: addAgentMessages). */
  async addMessage(
    ref: TicketRef,
    input: NewMessageInput,
    actor: Actor,
  ): Promise<RoomResult<{ ticket: TicketRecord; message: MessageRecord; duplicate: boolean }>> {
    const current = await this.current(ref);
    if (!current.ok) return current;
    // A re-delivered webhook or retried request carrying a message id this room already wrote.
    const known = this.store.message(input.id);
    if (known) return { ok: true, value: { ticket: current.value, message: known, duplicate: true } };
    const result = this.commitMessage(current.value, input, null, Date.now(), actor);
    if (result.message.authorKind === "customer" && !result.message.isInternalNote) {
      await this.applyRules(["message_received"], actor, result.message);
    }
    this.requestFlush();
    return { ok: true, value: { ticket: this.store.ticket()!, message: result.message, duplicate: false } };
  }

  /**
   * Auto-assignment's compare-and-set: assigns the ticket only if it is still open, routed
   * to `teamId` and assigned to nobody (an agent may have taken it meanwhile).
   */
  async autoAssign(ref: TicketRef, agentId: string, teamId: string): Promise<RoomResult<{ assigned: boolean }>> {
    const current = await this.current(ref);
    if (!current.ok) return current;
    const ticket = current.value;
    if (ticket.status !== "open" || ticket.teamId !== teamId || ticket.assigneeId !== null) return { ok: true, value: { assigned: false } };
    return this.systemAssign(ticket, agentId);
  }

  /** Takes the ticket back from `agentId` (who stopped being available), if it is still theirs. */
  async releaseAssignment(ref: TicketRef, agentId: string): Promise<RoomResult<{ assigned: boolean }>> {
    const current = await this.current(ref);
    if (!current.ok) return current;
    if (current.value.assigneeId !== agentId) return { ok: true, value: { assigned: false } };
    return this.systemAssign(current.value, null);
  }

  /**
   * Drops tags deleted from the account (the tag route tells each room that holds one), so
   * the record and what it reports to the hub no longer carry them.
   */
  async dropTags(ref: TicketRef, tagIds: readonly string[]): Promise<RoomResult<{ dropped: boolean }>> {
    const current = await this.current(ref);
    if (!current.ok) return current;
    const removeTagIds = tagIds.filter((tagId) => current.value.tagIds.includes(tagId));
    if (removeTagIds.length === 0) return { ok: true, value: { dropped: false } };
    const next = applyPatch(current.value, { removeTagIds }, Date.now());
    this.commit({ version: next.version, before: current.value, after: next, message: null, delivery: null, actor: SYSTEM });
    this.requestFlush();
    return { ok: true, value: { dropped: true } };
  }

  private systemAssign(ticket: TicketRecord, agentId: string | null): RoomResult<{ assigned: boolean }> {
    const next = applyPatch(ticket, { assigneeId: agentId }, Date.now());
    this.commit({ version: next.version, before: ticket, after: next, message: null, delivery: null, actor: SYSTEM });
    this.requestFlush();
    return { ok: true, value: { assigned: true } };
  }

  /**
   * Several agent messages (public replies and internal notes) in one call: committed in one
   * transaction, in order, and flushed together (the bulk API). Replies on email and SMS
   * tickets get their outbound delivery here, as a single reply does.
   */
  async addAgentMessages(
    ref: TicketRef,
    items: readonly AgentMessageInput[],
    agentId: string,
  ): Promise<RoomResult<{ ticket: TicketRecord; messages: MessageRecord[] }>> {
    const current = await this.current(ref);
    if (!current.ok) return current;
    const provider = deliveryProviderFor(this.env).name;
    const now = Date.now();
    const messages = this.store.transaction(() => {
      let ticket = current.value;
      return items.map((item) => {
        const delivery = item.isInternalNote ? null : replyDeliveryFor(ticket, item.body, provider);
        const input: NewMessageInput = { id: item.id, authorKind: "agent", authorId: agentId, body: item.body, isInternalNote: item.isInternalNote };
        const committed = this.commitMessage(ticket, input, delivery, now, { kind: "agent", id: agentId });
        ticket = committed.ticket;
        return committed.message;
      });
    });
    this.requestFlush();
    return { ok: true, value: { ticket: this.store.ticket()!, messages } };
  }

  /** The ticket as the room holds it (rebuilt from the shard if the room is empty). */
  async ticket(ref: TicketRef): Promise<RoomResult<TicketRecord>> {
    return this.current(ref);
  }

  /** Outbox entries not yet on the shard or not yet reported (for tests and diagnostics). */
  async pendingChanges(): Promise<number> {
    return this.store.pendingCount();
  }

  /**
   * Flushes now and waits, then waits for the account's writer to hand what landed to the
   * hub; resolves whether or not the shard or the hub accepted (see pendingChanges).
   */
  async flush(): Promise<void> {
    await this.drainOutbox();
    const ticket = this.store.ticket();
    if (!ticket) return;
    const writer = this.env.ACCOUNT_WRITER.get(this.env.ACCOUNT_WRITER.idFromName(ticket.accountId));
    await writer.deliverReports().catch((error: unknown) => console.warn("ticket room: reports not delivered yet:", String(error)));
  }

  private async drainOutbox(): Promise<void> {
    this.requestFlush();
    while (this.flushing) await this.flushing;
  }

  /**
   * Flushes what a commit left (the commit armed this alarm, so a room that died before its
   * flush still delivers), retries failed flushes and owed deliveries, wakes a snoozed ticket
   * when its time has come, and deletes a quiet room's flushed entries.
   */
  override async alarm(): Promise<void> {
    this.store.alarm.fired();
    for (const ws of silentSockets(this.ctx, this.lastFrameAt, Date.now())) this.dropSocket(ws, "KEEPALIVE_TIMEOUT");
    const ticket = this.store.ticket();
    if (ticket?.status === "snoozed" && ticket.snoozedUntil !== null && ticket.snoozedUntil <= Date.now()) {
      const woken = applyPatch(ticket, { snoozedUntil: null }, Date.now());
      this.commit({ version: woken.version, before: ticket, after: woken, message: null, delivery: null, actor: SYSTEM });
    }
    await this.drainOutbox();
    // A busy room's next commit deletes its flushed entries at no cost of its own.
    if (this.lastCommitAt === undefined || Date.now() - this.lastCommitAt >= TIDY_AFTER_MS) this.store.deleteDoneNow();
    this.rearm();
  }

  /**
   * One alarm serves everything the room waits for: the earliest of an unflushed change (its
   * retry, or the guard), a snooze's end, an owed delivery, and the tidy-up of flushed
   * entries. Moves the alarm only earlier (an early alarm does no harm: it re-arms), and
   * deletes it once the room waits for nothing.
   */
  private rearm(): void {
    const now = Date.now();
    const due: number[] = [];
    if (this.store.pendingCount() > 0) {
      const retry = this.store.meta("retry_at");
      due.push(retry === null ? now + FLUSH_GUARD_MS : Number(retry));
    }
    const ticket = this.store.ticket();
    if (ticket?.status === "snoozed" && ticket.snoozedUntil !== null) due.push(ticket.snoozedUntil);
    const delivery = this.store.nextDeliveryAt();
    if (delivery !== null) due.push(delivery);
    if (this.ctx.getWebSockets().some((ws) => socketFlags(ws).keepalive)) due.push(now + SWEEP_INTERVAL_MS);
    if (this.store.hasUndeletedDone()) due.push(this.store.alarm.get() ?? Math.max(now, (this.lastCommitAt ?? 0) + TIDY_AFTER_MS));
    if (due.length === 0) this.store.alarm.clear();
    else this.store.alarm.armBy(Math.min(...due));
  }

  /**
   * Runs the account's rules once for an external change and commits what they decide as
   * one more change (actor: the rule). Changes made by rules or by the system never run
   * rules again, so automation cannot loop.
   */
  private async applyRules(events: RuleEvent[], actor: Actor, message: MessageRecord | null): Promise<void> {
    if (actor.kind !== "agent" && actor.kind !== "customer") return;
    const start = this.store.ticket();
    if (!start) return;
    const context = await this.ruleContext.get(() => accountShard(this.env, start.accountId), start.accountId, start.customerId);
    if (!context || context.rules.length === 0) return;
    for (const event of events) {
      const ticket = this.store.ticket()!;
      const now = Date.now();
      const input: RunRulesInput = {
        rules: context.rules,
        event,
        cause: "external",
        ticket: { ...ticket, customer: context.customer },
        message: message ? { body: message.body, authorKind: message.authorKind } : null,
        now,
        businessHours: context.businessHours,
        timeZone: context.timeZone,
        lastAutoReplyAt: this.lastAutoReplyHere(),
      };
      let outcome: RuleOutcome = runRules(input);
      if (outcome.autoReply) {
        // Another ticket of the same customer may have auto-replied recently.
        const elsewhere = await lastAutoReplyAt(await accountShard(this.env, ticket.accountId), ticket.accountId, ticket.customerId).catch(() => null);
        if (elsewhere !== null && elsewhere > (input.lastAutoReplyAt ?? 0)) {
          outcome = runRules({ ...input, lastAutoReplyAt: elsewhere });
        }
      }
      for (const skipped of outcome.skipped) console.warn(`rules: skipped rule ${skipped.ruleId}: ${skipped.reason}`);
      this.commitRuleOutcome(outcome, context.customer, now);
    }
  }

  private commitRuleOutcome(outcome: RuleOutcome, customer: { email: string | null; phone: string | null }, now: number): void {
    const before = this.store.ticket()!;
    const rulePatch: TicketPatch = { addTagIds: outcome.patch.addTagIds, removeTagIds: outcome.patch.removeTagIds };
    if (outcome.patch.status !== undefined) rulePatch.status = outcome.patch.status;
    if (outcome.patch.priority !== undefined) rulePatch.priority = outcome.patch.priority;
    if (outcome.patch.assigneeId !== undefined) rulePatch.assigneeId = outcome.patch.assigneeId;
    if (outcome.patch.teamId !== undefined) rulePatch.teamId = outcome.patch.teamId;
    if (outcome.patch.snoozedUntil !== undefined) rulePatch.snoozedUntil = outcome.patch.snoozedUntil;
    const after = applyPatch(before, rulePatch, now);
    const actor: Actor = { kind: "rule", id: outcome.changes[0]?.ruleId ?? outcome.autoReply?.ruleId ?? "rules" };
    if (after !== before) this.commit({ version: after.version, before, after, message: null, delivery: null, actor });
    if (!outcome.autoReply) return;
    const ticket = this.store.ticket()!;
    const provider = deliveryProviderFor(this.env).name;
    const delivery = deliveryFor(ticket.channel, customer, ticket.subject, outcome.autoReply.body, provider);
    const { ticket: replied, message } = appendMessage(
      ticket,
      { id: newId("message"), authorKind: "system", authorId: null, body: outcome.autoReply.body },
      now,
    );
    this.commit({
      actor,
      version: replied.version,
      before: ticket,
      after: replied,
      message,
      delivery: delivery ? { ...delivery, messageId: message.id } : null,
      autoReply: { customerId: ticket.customerId, at: now },
    });
    this.store.setMeta("last_auto_reply_at", String(now));
  }

  private lastAutoReplyHere(): number | null {
    const value = this.store.meta("last_auto_reply_at");
    return value === null ? null : Number(value);
  }

  private commitMessage(
    ticket: TicketRecord,
    input: NewMessageInput,
    delivery: Omit<OutboundDeliveryRequest, "messageId"> | null,
    now: number,
    actor: Actor,
    coAuthorIds?: readonly string[],
  ): { ticket: TicketRecord; message: MessageRecord } {
    const { ticket: after, message } = appendMessage(ticket, input, now);
    this.commit(
      {
        actor,
        version: after.version,
        before: ticket,
        after,
        message,
        delivery: delivery ? { ...delivery, messageId: message.id } : null,
      },
      coAuthorIds,
    );
    return { ticket: after, message };
  }

  private async current(ref: TicketRef): Promise<RoomResult<TicketRecord>> {
    const held = this.store.ticket();
    if (held) {
      // The room's name is derived from account and ticket, so a mismatch means a bug upstream.
      if (held.accountId !== ref.accountId || held.id !== ref.ticketId) return notFound();
      return { ok: true, value: held };
    }
    let loaded: TicketRecord | null;
    try {
      loaded = await loadTicketFromShard(await accountShard(this.env, ref.accountId), ref);
    } catch (error) {
      console.error(`ticket ${ref.ticketId}: cannot rebuild from the shard`, error);
      return { ok: false, code: "UNAVAILABLE", message: "the ticket store is unreachable; try again shortly" };
    }
    if (!loaded) return notFound();
    // Another call may have adopted it while this one awaited the shard.
    const raced = this.store.ticket();
    if (raced) return { ok: true, value: raced };
    this.store.adopt(loaded);
    return { ok: true, value: loaded };
  }

  private requestFlush(): void {
    this.flushRequested = true;
    if (this.flushing) return;
    this.flushing = this.runFlushes().finally(() => {
      this.flushing = null;
    });
    this.ctx.waitUntil(this.flushing);
  }

  private async runFlushes(): Promise<void> {
    while (this.flushRequested) {
      this.flushRequested = false;
      try {
        while (await this.flushOnce()) {
          // keep draining
        }
        // Most flushes follow no failure: skip two storage writes per flush then.
        if (this.failureRecorded()) {
          this.store.setMeta("flush_failures", null);
          this.store.setMeta("retry_at", null);
          this.failing = false;
        }
        await this.dispatchDeliveries();
        this.rearm();
      } catch (error) {
        await this.scheduleRetry(error);
        return;
      }
    }
  }

  /**
   * Flushes one batch; true if more may remain. The entries stay in the outbox until the
   * writer says they are on the shard and reported to the hub (during an account move it
   * refuses, and they wait for the switch).
   */
  private async flushOnce(): Promise<boolean> {
    const { entries, more } = this.store.pending(FLUSH_BATCH, FLUSH_MAX_BYTES);
    const last = entries.at(-1);
    if (!last) return false;
    const { accountId } = last.after;
    const writer = this.env.ACCOUNT_WRITER.get(this.env.ACCOUNT_WRITER.idFromName(accountId));
    await writer.write(accountId, { statements: shardStatements(entries), report: changeReport(entries) });
    this.store.markDone(last.seq);
    // Commits made meanwhile asked for a flush of their own (requestFlush): no count needed.
    return more;
  }

  private failureRecorded(): boolean {
    this.failing ??= this.store.meta("flush_failures") !== null;
    return this.failing;
  }

  /** The provider that sends this room's email and SMS (a seam for fault-injection tests). */
  protected deliveryProvider(): DeliveryProvider {
    return deliveryProviderFor(this.env);
  }

  /**
   * Hands owed deliveries whose rows the shard has to the provider, and records outcomes.
   * A failure is retried from the alarm with backoff; after DELIVERY_GIVE_UP_MS, or when the
   * provider refuses for good, the delivery is marked failed and an internal note says so
   * on the ticket. The decision is stored in the room before the shard is told, so a shard
   * failure afterwards only repeats the recording, never the send.
   */
  private async dispatchDeliveries(): Promise<void> {
    const ticket = this.store.ticket();
    const owed = this.store.dueDeliveries(Date.now(), DISPATCH_BATCH);
    if (!ticket || owed.length === 0) return;
    let shard: Shard;
    try {
      // The outcome is a write: fenced like every write, so it cannot land behind an account move's copy.
      shard = await accountShardForWrite(this.env, ticket.accountId);
    } catch (error) {
      for (const delivery of owed) this.postpone(delivery, String(error));
      return;
    }
    for (const delivery of owed) {
      try {
        await this.dispatchOne(shard, ticket.accountId, delivery);
      } catch (error) {
        this.postpone(delivery, String(error));
      }
    }
  }

  private async dispatchOne(shard: Shard, accountId: string, owed: OwedDelivery): Promise<void> {
    if (owed.state !== "pending") {
      await recordDeliveryOutcome(shard, accountId, owed.id, owed.state);
      this.store.settleDelivery(owed.id);
      return;
    }
    const row = await queuedDelivery(shard, accountId, owed.id);
    if (!row) {
      // No row (the customer has no address for the channel) or already settled.
      this.store.settleDelivery(owed.id);
      return;
    }
    const firstAttemptAt = owed.firstAttemptAt ?? Date.now();
    const step = nextStep({ attempts: owed.attempts, firstAttemptAt }, await this.send(row), Date.now());
    if (step.kind === "retry") {
      console.warn(`delivery ${owed.id} failed (${step.attempts}x), retrying at ${new Date(step.at).toISOString()}: ${step.error}`);
      this.store.updateDelivery({ ...owed, attempts: step.attempts, firstAttemptAt, nextAt: step.at, lastError: step.error });
      return;
    }
    const decided: OwedDelivery =
      step.kind === "sent"
        ? { ...owed, state: "sent", attempts: owed.attempts + 1, firstAttemptAt, nextAt: Date.now() + retryDelay(1) }
        : { ...owed, state: "failed", attempts: step.attempts, firstAttemptAt, nextAt: Date.now() + retryDelay(1), lastError: step.error };
    this.store.transaction(() => {
      this.store.updateDelivery(decided);
      if (step.kind === "give-up") this.noteUndelivered(row, step.attempts, step.error);
    });
    if (step.kind === "give-up") console.error(`delivery ${owed.id} given up after ${step.attempts} attempts: ${step.error}`);
    await recordDeliveryOutcome(shard, accountId, owed.id, decided.state === "sent" ? "sent" : "failed");
    this.store.settleDelivery(owed.id);
  }

  private async send(row: OutboundDelivery): Promise<SendResult> {
    try {
      const provider = this.deliveryProvider();
      if (provider.name !== row.provider) return { ok: false, retryable: true, error: `provider ${row.provider} is not configured` };
      return await provider.send(row);
    } catch (error) {
      return { ok: false, retryable: true, error: String(error) };
    }
  }

  /** The shard could not be reached for this delivery: try it again later, as a failed attempt would be. */
  private postpone(owed: OwedDelivery, error: string): void {
    console.warn(`delivery ${owed.id}: shard unreachable, retrying later: ${error}`);
    this.store.updateDelivery({ ...owed, nextAt: Date.now() + retryDelay(owed.attempts + 1), lastError: error });
  }

  /** Tells the agents in the thread that a reply did not reach the customer. */
  private noteUndelivered(row: OutboundDelivery, attempts: number, error: string): void {
    const ticket = this.store.ticket()!;
    const body = failureNote(row.channel === "sms" ? "sms" : "email", row.toAddress, attempts, error);
    this.commitMessage(ticket, { id: newId("message"), authorKind: "system", authorId: null, body, isInternalNote: true }, null, Date.now(), SYSTEM);
    this.requestFlush();
  }

  private async scheduleRetry(error: unknown): Promise<void> {
    const failures = Number(this.store.meta("flush_failures") ?? "0") + 1;
    this.store.setMeta("flush_failures", String(failures));
    this.failing = true;
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(failures - 1, 10));
    console.warn(`ticket room: flush failed (${failures}x), retrying in ${delay} ms:`, String(error));
    this.store.setMeta("retry_at", String(Date.now() + delay));
    this.rearm();
  }
}

/** Processes outside any request (snooze wake-ups). */
const SYSTEM: Actor = { kind: "system", id: null };

function notFound(): { ok: false; code: "NOT_FOUND"; message: string } {
  return { ok: false, code: "NOT_FOUND", message: "ticket not found" };
}
