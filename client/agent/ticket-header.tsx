// The ticket's header: subject, status and priority (changeable), assignee.

import { useSignal } from "@preact/signals";
import type { TargetedEvent } from "preact";
import { ChannelLabel, TimeAgo } from "./badges.tsx";
import { dateTime } from "./format.ts";
import type { TicketDetail, TicketPatch } from "./inbox-api.ts";
import { TICKET_PRIORITIES, TICKET_STATUSES, priorityLabel, statusLabel } from "./labels.ts";
import type { AgentNames } from "./people.ts";
import { customerName } from "./people.ts";
import type { TicketStore } from "./ticket-store.ts";

/** Choosing "Snoozed" in the select snoozes for a day; the ticket reopens by itself then. */
const DEFAULT_SNOOZE_MS = 24 * 60 * 60 * 1000;

function options(values: readonly string[], current: string, label: (value: string) => string) {
  // A value this client does not know (a newer server) is still shown, not silently replaced.
  const all = values.includes(current) ? values : [current, ...values];
  return all.map((value) => (
    <option key={value} value={value}>
      {label(value)}
    </option>
  ));
}

export function TicketHeader({ store, ticket, agents }: { store: TicketStore; ticket: TicketDetail; agents: AgentNames }) {
  const pending = useSignal<string | null>(null);
  const error = useSignal<string | null>(null);

  async function change(field: string, patch: TicketPatch, control?: HTMLSelectElement): Promise<void> {
    pending.value = field;
    error.value = null;
    const result = await store.update(patch);
    pending.value = null;
    if (!result.ok) {
      error.value = result.error.message;
      // The select shows what the server has, not the refused choice.
      const current = store.ticket.value;
      if (control && current) control.value = field === "status" ? current.status : current.priority;
    }
  }

  const onStatus = (event: TargetedEvent<HTMLSelectElement>) => {
    const status = event.currentTarget.value;
    const patch: TicketPatch = status === "snoozed" ? { status, snoozedUntil: Date.now() + DEFAULT_SNOOZE_MS } : { status };
    void change("status", patch, event.currentTarget);
  };
  const onPriority = (event: TargetedEvent<HTMLSelectElement>) =>
    void change("priority", { priority: event.currentTarget.value }, event.currentTarget);

  const assignee = ticket.assigneeId;
  const mine = assignee === agents.meId;

  return (
    <header class="ticket-header">
      <div class="ticket-title">
        <h2 data-testid="ticket-subject">{ticket.subject}</h2>
        <p class="muted small">
          <ChannelLabel channel={ticket.channel} /> · {customerName(ticket.customer)} · opened{" "}
          <TimeAgo at={ticket.createdAt} />
          {ticket.status === "snoozed" && ticket.snoozedUntil !== null && <> · snoozed until {dateTime(ticket.snoozedUntil)}</>}
        </p>
      </div>
      <div class="ticket-controls">
        <label class="control">
          <span>Status</span>
          <select
            class={`status-${ticket.status}`}
            data-testid="status-select"
            value={ticket.status}
            disabled={pending.value !== null}
            onChange={onStatus}
          >
            {options(TICKET_STATUSES, ticket.status, statusLabel)}
          </select>
        </label>
        <label class="control">
          <span>Priority</span>
          <select data-testid="priority-select" value={ticket.priority} disabled={pending.value !== null} onChange={onPriority}>
            {options(TICKET_PRIORITIES, ticket.priority, priorityLabel)}
          </select>
        </label>
        <div class="control">
          <span>Assignee</span>
          <div class="assignee">
            <span data-testid="assignee" data-assignee-id={assignee ?? ""}>
              {assignee === null ? <span class="muted">Unassigned</span> : mine ? "You" : agents.name(assignee)}
            </span>
            <button
              type="button"
              class="link-button"
              data-testid="assign-toggle"
              disabled={pending.value !== null}
              onClick={() => void change("assignee", { assigneeId: mine ? null : agents.meId })}
            >
              {mine ? "Unassign" : "Assign to me"}
            </button>
          </div>
        </div>
      </div>
      {error.value && (
        <p class="error header-error" role="alert" data-testid="ticket-update-error">
          {error.value}
        </p>
      )}
    </header>
  );
}
