import * as Y from "yjs";
import { TICKET_META_FIELDS, TicketDoc, type ThreadMessage, type TicketMeta } from "../../protocol/ticket-doc.ts";
import type { MessageRecord, TicketRecord } from "./ticket-record.ts";

// The room's writes into its live `ticket` document: pure functions on a Y.Doc, so what a
// commit shows is tested without a runtime. Only the room calls these (clients may write
// the draft alone: see draft-guard.ts).

export function threadMessage(message: MessageRecord, coAuthorIds?: readonly string[]): ThreadMessage {
  const entry: ThreadMessage = {
    id: message.id,
    seq: message.seq,
    authorKind: message.authorKind,
    authorId: message.authorId,
    body: message.body,
    isInternalNote: message.isInternalNote,
    channel: message.channel,
    createdAt: message.createdAt,
  };
  if (coAuthorIds && coAuthorIds.length > 0) entry.coAuthorIds = [...coAuthorIds];
  return entry;
}

export function ticketMeta(ticket: TicketRecord): TicketMeta {
  return {
    id: ticket.id,
    subject: ticket.subject,
    channel: ticket.channel,
    customerId: ticket.customerId,
    status: ticket.status,
    priority: ticket.priority,
    assigneeId: ticket.assigneeId,
    teamId: ticket.teamId,
    tagIds: [...ticket.tagIds],
    snoozedUntil: ticket.snoozedUntil,
    version: ticket.version,
    updatedAt: ticket.updatedAt,
  };
}

/** Writes the meta fields that differ from the document's (one small update per change). */
export function writeMeta(doc: Y.Doc, ticket: TicketRecord): void {
  const meta = doc.getMap<unknown>(TicketDoc.meta);
  const next = ticketMeta(ticket);
  for (const field of TICKET_META_FIELDS) {
    const value = next[field];
    if (JSON.stringify(meta.get(field) ?? null) !== JSON.stringify(value ?? null)) meta.set(field, value);
  }
}

/** Appends messages the thread does not hold yet, keeping `seq` order. */
export function appendToThread(doc: Y.Doc, messages: readonly ThreadMessage[]): void {
  const thread = doc.getArray<ThreadMessage>(TicketDoc.thread);
  const last = thread.length > 0 ? thread.get(thread.length - 1).seq : 0;
  const fresh = messages.filter((message) => message.seq > last).sort((a, b) => a.seq - b.seq);
  if (fresh.length > 0) thread.push(fresh);
}

export function readThread(doc: Y.Doc): ThreadMessage[] {
  return doc.getArray<ThreadMessage>(TicketDoc.thread).toArray();
}

export function draftText(doc: Y.Doc): string {
  return doc.getText(TicketDoc.draft).toString();
}

/** Empties the draft for everyone (after it was sent). */
export function clearDraft(doc: Y.Doc): void {
  const draft = doc.getText(TicketDoc.draft);
  if (draft.length > 0) draft.delete(0, draft.length);
}

/**
 * Messages that arrived after `seenThroughSeq` and would make this agent's reply stale: the
 * customer's, and other agents' public replies (internal notes and the agent's own do not).
 */
export function arrivedSince(thread: readonly ThreadMessage[], seenThroughSeq: number, agentId: string): ThreadMessage[] {
  return thread.filter(
    (message) =>
      message.seq > seenThroughSeq &&
      !message.isInternalNote &&
      (message.authorKind === "customer" || (message.authorKind !== "system" && message.authorId !== agentId)),
  );
}
