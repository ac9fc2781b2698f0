import { viewCountKey, type NotificationKind } from "../../protocol/index.ts";
import type { TicketChangeReport } from "../ticket-room/room-api.ts";
import type { TicketRecord } from "../ticket-room/ticket-record.ts";
import { countKeysOf, isPerAgent, type CountedView } from "./view-counts.ts";

// Which agents a reported ticket change notifies, pure. The hub applies a report only for
// versions it has not seen, so a duplicate or late report notifies nobody twice.
//
// - new_ticket: a ticket was created into a view the agent follows (its first matching
//   followed view is named).
// - assigned: the ticket now has an assignee it did not have, and that agent did not do it.
// - customer_reply: the customer wrote (publicly) on a ticket assigned to the agent.
// One notification per agent per report; "assigned" wins over "new_ticket".

export interface NotificationDraft {
  agentId: string;
  kind: NotificationKind;
  ticketId: string;
  subject: string;
  viewId: string | null;
}

export interface NotificationInput {
  /** The ticket as the hub held it before this report (null: never seen). */
  known: Pick<TicketRecord, "version" | "assigneeId"> | null;
  report: TicketChangeReport<TicketRecord>;
  views: readonly CountedView[];
  /** agentId → the views that agent follows. */
  followedViews: ReadonlyMap<string, readonly string[]>;
  now: number;
}

export function notificationsFor({ known, report, views, followedViews, now }: NotificationInput): NotificationDraft[] {
  const seen = known?.version ?? 0;
  const fresh = report.changes.filter((change) => change.version > seen);
  if (fresh.length === 0) return [];
  const ticket = report.after;
  const created = report.before === null && fresh.some((change) => change.version === 1);
  const previous = known ?? report.before;
  const drafts = new Map<string, NotificationDraft>();
  const notify = (agentId: string, kind: NotificationKind, viewId: string | null = null) =>
    drafts.set(agentId, { agentId, kind, ticketId: ticket.id, subject: ticket.subject, viewId });

  if (created) {
    for (const [agentId, followed] of followedViews) {
      const view = views.find((candidate) => followed.includes(candidate.id) && countsFor(candidate, ticket, agentId, now));
      if (view) notify(agentId, "new_ticket", view.id);
    }
  } else if (ticket.assigneeId !== null && fresh.some(isPublicCustomerMessage)) {
    notify(ticket.assigneeId, "customer_reply");
  }

  const assignee = ticket.assigneeId;
  if (assignee !== null && assignee !== (previous?.assigneeId ?? null)) {
    // The change that gave it to the current assignee, and who made it.
    const assigning = fresh.find((change, i) => change.assigneeId === assignee && (fresh[i - 1]?.assigneeId ?? previous?.assigneeId ?? null) !== assignee);
    const bySelf = assigning?.actor?.kind === "agent" && assigning.actor.id === assignee;
    if (!bySelf) notify(assignee, "assigned");
  }
  return [...drafts.values()];
}

function isPublicCustomerMessage(change: TicketChangeReport<TicketRecord>["changes"][number]): boolean {
  return change.message !== null && change.message.authorKind === "customer" && !change.message.isInternalNote;
}

/** Whether the ticket counts in this view as `agentId` sees it (private views: their owner only). */
function countsFor(view: CountedView, ticket: TicketRecord, agentId: string, now: number): boolean {
  if (view.ownerAgentId !== null && view.ownerAgentId !== agentId) return false;
  const keys = countKeysOf([view], ticket, now);
  return isPerAgent(view) ? keys.includes(viewCountKey(view.id, true, agentId)) : keys.length > 0;
}

/**
 * Notifications as the shared inbox document may carry them: every socket syncs it, so a
 * notification naming a private view drops the view's id (the view itself lives in its
 * owner's own document only).
 */
export function withoutPrivateViews(drafts: readonly NotificationDraft[], views: readonly CountedView[]): NotificationDraft[] {
  const shared = new Set(views.filter((view) => view.ownerAgentId === null).map((view) => view.id));
  return drafts.map((draft) => (draft.viewId !== null && !shared.has(draft.viewId) ? { ...draft, viewId: null } : draft));
}
