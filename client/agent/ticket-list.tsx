// Middle column: the selected view's tickets, newest activity first (as the view sorts).

import { ChannelLabel, PriorityBadge, StatusBadge, Tags, TimeAgo } from "./badges.tsx";
import type { TicketSummary } from "./inbox-api.ts";
import { customerName } from "./people.ts";
import { followLink } from "./router.ts";
import { ticketPath } from "./routes.ts";
import type { TicketActivity } from "./live-derive.ts";
import type { AgentNames } from "./people.ts";
import type { TicketListStore } from "./ticket-list-store.ts";

/** Someone else has this ticket open, or is typing on it: a marker so two agents don't collide. */
function CollisionMarker({ activity, agents }: { activity: TicketActivity | undefined; agents: AgentNames }) {
  if (!activity || (activity.viewing.length === 0 && activity.typing.length === 0)) return null;
  const typing = activity.typing.length > 0;
  const who = (typing ? activity.typing : activity.viewing).map((id) => agents.name(id)).join(", ");
  return (
    <span class={typing ? "collision typing" : "collision"} data-testid="collision-marker" title={typing ? `${who} typing` : `${who} viewing`}>
      {typing ? `${who} typing…` : `${who} viewing`}
    </span>
  );
}

function TicketRow({
  ticket,
  selected,
  activity,
  agents,
}: {
  ticket: TicketSummary;
  selected: boolean;
  activity: TicketActivity | undefined;
  agents: AgentNames;
}) {
  return (
    <li>
      <a
        href={ticketPath(ticket.id)}
        class={selected ? "ticket-row selected" : "ticket-row"}
        aria-current={selected ? "page" : undefined}
        data-testid="ticket-row"
        data-ticket-id={ticket.id}
        onClick={followLink}
      >
        <div class="row-top">
          <span class="row-customer">{customerName(ticket.customer)}</span>
          <span class="row-time muted">
            <TimeAgo at={ticket.lastMessageAt ?? ticket.updatedAt} />
          </span>
        </div>
        <div class="row-subject">{ticket.subject}</div>
        <div class="row-meta">
          <StatusBadge status={ticket.status} />
          {ticket.priority !== "normal" && <PriorityBadge priority={ticket.priority} />}
          <ChannelLabel channel={ticket.channel} />
          <Tags tags={ticket.tags} />
          <CollisionMarker activity={activity} agents={agents} />
        </div>
      </a>
    </li>
  );
}

export function TicketList({
  list,
  viewName,
  selectedTicketId,
  activity,
  agents,
}: {
  list: TicketListStore | null;
  viewName: string | null;
  selectedTicketId: string | null;
  activity: ReadonlyMap<string, TicketActivity>;
  agents: AgentNames;
}) {
  if (!list) {
    return (
      <section class="ticket-list" aria-label="Tickets">
        <p class="empty muted">Choose a view.</p>
      </section>
    );
  }
  const tickets = list.tickets.value;
  const loading = list.loading.value;
  const error = list.error.value;
  return (
    <section class="ticket-list" aria-label="Tickets" data-testid="ticket-list" data-view-id={list.viewId}>
      <header class="list-header">
        <h2>{viewName ?? "Tickets"}</h2>
        <button
          type="button"
          class="icon-button"
          title="Refresh"
          aria-label="Refresh the list"
          disabled={loading !== null}
          onClick={() => list.refresh()}
        >
          ↻
        </button>
      </header>
      {loading === "first" && tickets.length === 0 && <p class="empty muted">Loading tickets…</p>}
      {list.loaded.value && tickets.length === 0 && !error && (
        <div class="empty" data-testid="empty-list">
          <p>No tickets in this view.</p>
          <p class="muted small">Nothing to do here, or the filter matches nothing right now.</p>
        </div>
      )}
      {tickets.length > 0 && (
        <ul class="rows">
          {tickets.map((ticket) => (
            <TicketRow key={ticket.id} ticket={ticket} selected={ticket.id === selectedTicketId} activity={activity.get(ticket.id)} agents={agents} />
          ))}
        </ul>
      )}
      {error && (
        <div class="error list-error" role="alert">
          <p>{error}</p>
          <button type="button" onClick={() => (list.loaded.value ? list.loadMore() : list.refresh())}>
            Try again
          </button>
        </div>
      )}
      {list.nextCursor.value && !error && (
        <div class="load-more">
          <button type="button" data-testid="load-more" disabled={loading !== null} onClick={() => list.loadMore()}>
            {loading === "more" ? "Loading…" : "Load more"}
          </button>
        </div>
      )}
    </section>
  );
}
