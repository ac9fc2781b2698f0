import type { AiState, MessageAuthorKind, TicketChannel, TicketPriority, TicketStatus } from "../../schema/tables.ts";

// The ticket as its room holds it, and the pure rules for changing it. The room is the
// single writer: every change goes through `applyPatch` / `appendMessage`, bumps the
// version by one, and is committed with an outbox entry in the same transaction.

export interface TicketRecord {
  id: string;
  accountId: string;
  customerId: string;
  channel: TicketChannel;
  subject: string;
  status: TicketStatus;
  priority: TicketPriority;
  assigneeId: string | null;
  teamId: string | null;
  tagIds: string[];
  /** 1 at creation, +1 with every change. */
  version: number;
  snoozedUntil: number | null;
  aiState: AiState;
  createdAt: number;
  updatedAt: number;
  firstResponseAt: number | null;
  closedAt: number | null;
  lastMessageAt: number | null;
  /** Messages in the thread so far; the next message gets seq = messageCount + 1. */
  messageCount: number;
}

export interface MessageRecord {
  id: string;
  accountId: string;
  ticketId: string;
  authorKind: MessageAuthorKind;
  authorId: string | null;
  body: string;
  isInternalNote: boolean;
  channel: TicketChannel;
  externalId: string | null;
  seq: number;
  createdAt: number;
}

/** Who caused a change: shown in audit trails, and rules never react to their own. */
export type Actor =
  | { kind: "agent"; id: string }
  | { kind: "customer"; id: string }
  | { kind: "rule"; id: string }
  | { kind: "system"; id: null };

export interface TicketPatch {
  status?: TicketStatus;
  priority?: TicketPriority;
  assigneeId?: string | null;
  teamId?: string | null;
  /** Replaces the whole tag set. */
  tagIds?: string[];
  addTagIds?: string[];
  removeTagIds?: string[];
  /** Epoch ms; setting it snoozes the ticket until then, null clears it. */
  snoozedUntil?: number | null;
  aiState?: AiState;
  subject?: string;
}

export interface NewTicketInput {
  id: string;
  accountId: string;
  customerId: string;
  channel: TicketChannel;
  subject: string;
  priority?: TicketPriority;
  assigneeId?: string | null;
  teamId?: string | null;
  tagIds?: string[];
}

export interface NewMessageInput {
  id: string;
  authorKind: MessageAuthorKind;
  authorId: string | null;
  body: string;
  isInternalNote?: boolean;
  /** Defaults to the ticket's channel. */
  channel?: TicketChannel;
  externalId?: string | null;
}

export function newTicketRecord(input: NewTicketInput, now: number): TicketRecord {
  return {
    id: input.id,
    accountId: input.accountId,
    customerId: input.customerId,
    channel: input.channel,
    subject: input.subject,
    status: "open",
    priority: input.priority ?? "normal",
    assigneeId: input.assigneeId ?? null,
    teamId: input.teamId ?? null,
    tagIds: unique(input.tagIds ?? []),
    version: 1,
    snoozedUntil: null,
    aiState: "none",
    createdAt: now,
    updatedAt: now,
    firstResponseAt: null,
    closedAt: null,
    lastMessageAt: null,
    messageCount: 0,
  };
}

/** The ticket after a patch, or the same object when the patch changes nothing. */
export function applyPatch(ticket: TicketRecord, patch: TicketPatch, now: number): TicketRecord {
  const next: TicketRecord = { ...ticket };
  if (patch.subject !== undefined) next.subject = patch.subject;
  if (patch.priority !== undefined) next.priority = patch.priority;
  if (patch.assigneeId !== undefined) next.assigneeId = patch.assigneeId;
  if (patch.teamId !== undefined) next.teamId = patch.teamId;
  if (patch.aiState !== undefined) next.aiState = patch.aiState;
  let tags = patch.tagIds !== undefined ? unique(patch.tagIds) : ticket.tagIds;
  if (patch.addTagIds?.length) tags = unique([...tags, ...patch.addTagIds]);
  if (patch.removeTagIds?.length) tags = tags.filter((id) => !patch.removeTagIds!.includes(id));
  next.tagIds = tags;

  if (patch.snoozedUntil !== undefined && patch.snoozedUntil !== null) {
    next.status = "snoozed";
    next.snoozedUntil = patch.snoozedUntil;
  } else if (patch.status !== undefined) {
    next.status = patch.status;
    if (patch.status !== "snoozed") next.snoozedUntil = null;
  } else if (patch.snoozedUntil === null && ticket.status === "snoozed") {
    next.status = "open";
    next.snoozedUntil = null;
  }
  if (next.status === "closed" && ticket.status !== "closed") next.closedAt = now;
  if (next.status !== "closed") next.closedAt = null;

  if (sameTicket(ticket, next)) return ticket;
  next.version = ticket.version + 1;
  next.updatedAt = now;
  return next;
}

/** Adds a message to the thread: a new version, with the effects a message has on the ticket. */
export function appendMessage(
  ticket: TicketRecord,
  input: NewMessageInput,
  now: number,
): { ticket: TicketRecord; message: MessageRecord } {
  const message: MessageRecord = {
    id: input.id,
    accountId: ticket.accountId,
    ticketId: ticket.id,
    authorKind: input.authorKind,
    authorId: input.authorId,
    body: input.body,
    isInternalNote: input.isInternalNote ?? false,
    channel: input.channel ?? ticket.channel,
    externalId: input.externalId ?? null,
    seq: ticket.messageCount + 1,
    createdAt: now,
  };
  const next: TicketRecord = { ...ticket, version: ticket.version + 1, updatedAt: now, messageCount: message.seq };
  if (!message.isInternalNote) {
    next.lastMessageAt = now;
    if (message.authorKind === "customer" && ticket.status !== "open") {
      // A customer writing again reopens a pending, snoozed or closed conversation.
      next.status = "open";
      next.snoozedUntil = null;
      next.closedAt = null;
    }
    if ((message.authorKind === "agent" || message.authorKind === "ai") && ticket.firstResponseAt === null) {
      next.firstResponseAt = now;
    }
  }
  return { ticket: next, message };
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)].sort();
}

function sameTicket(a: TicketRecord, b: TicketRecord): boolean {
  return (
    a.subject === b.subject &&
    a.status === b.status &&
    a.priority === b.priority &&
    a.assigneeId === b.assigneeId &&
    a.teamId === b.teamId &&
    a.aiState === b.aiState &&
    a.snoozedUntil === b.snoozedUntil &&
    a.closedAt === b.closedAt &&
    a.tagIds.length === b.tagIds.length &&
    a.tagIds.every((id, i) => id === b.tagIds[i])
  );
}
