// One ticket: header, conversation, reply box, and the customer beside them.

import type { TicketChanges } from "./inbox-api.ts";
import { ReplyBox } from "./reply-box.tsx";
import type { AgentNames } from "./people.ts";
import { Conversation } from "./conversation.tsx";
import { CustomerPanel } from "./customer-panel.tsx";
import type { Session } from "./session.ts";
import { TicketHeader } from "./ticket-header.tsx";
import { createTicketStore } from "./ticket-store.ts";
import { useStore } from "./use-store.ts";

export function TicketPage({
  session,
  ticketId,
  agents,
  onChanged,
}: {
  session: Session;
  ticketId: string;
  agents: AgentNames;
  onChanged: (ticketId: string, changes: TicketChanges) => void;
}) {
  const store = useStore(() => createTicketStore(session.token, ticketId, onChanged), [session.token, ticketId]);
  const ticket = store.ticket.value;
  const loadError = store.loadError.value;

  if (!ticket) {
    return (
      <section class="ticket-page ticket-page-empty" data-testid="ticket-page" data-ticket-id={ticketId}>
        {loadError ? (
          <div class="empty">
            <p class="error" role="alert" data-testid="ticket-error">
              {loadError.status === 404 ? "This ticket does not exist, or you do not have access to it." : loadError.message}
            </p>
            {loadError.status !== 404 && (
              <button type="button" onClick={() => store.reload()}>
                Try again
              </button>
            )}
          </div>
        ) : (
          <p class="empty muted">Loading ticket…</p>
        )}
      </section>
    );
  }

  return (
    <section class="ticket-page" data-testid="ticket-page" data-ticket-id={ticketId} aria-label="Ticket">
      <div class="ticket-main">
        <TicketHeader store={store} ticket={ticket} agents={agents} />
        <Conversation messages={store.messages.value} customer={ticket.customer} agents={agents} />
        <ReplyBox store={store} channel={ticket.channel} />
      </div>
      <CustomerPanel token={session.token} customer={ticket.customer} currentTicketId={ticket.id} />
    </section>
  );
}
