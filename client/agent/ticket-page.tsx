// One ticket: header, conversation, reply box, and the customer beside them. The ticket's
// live room (ticket-live.ts) is opened here, for as long as the page shows this ticket.

import { useEffect, useMemo } from "preact/hooks";
import type { TicketChanges } from "./inbox-api.ts";
import type { TicketActivity } from "./live-derive.ts";
import type { LiveStore } from "./live-store.ts";
import { ReplyBox, rememberedMode } from "./reply-box.tsx";
import { TicketLiveBanner } from "./banners.tsx";
import { OFFLINE_GRACE_MS } from "./live-store.ts";
import { createTicketLive } from "./ticket-live.ts";
import type { AgentNames } from "./people.ts";
import { Conversation } from "./conversation.tsx";
import { CustomerPanel } from "./customer-panel.tsx";
import type { Session } from "./session.ts";
import { TicketHeader } from "./ticket-header.tsx";
import { createTicketStore } from "./ticket-store.ts";
import { useStore } from "./use-store.ts";

/** Who else is on this ticket right now: the collision bar. */
function CollisionBar({ activity, agents }: { activity: TicketActivity | undefined; agents: AgentNames }) {
  if (!activity) return null;
  const typing = activity.typing;
  const viewingOnly = activity.viewing.filter((id) => !typing.includes(id));
  if (typing.length === 0 && viewingOnly.length === 0) return null;
  const names = (ids: readonly string[]) => ids.map((id) => agents.name(id)).join(", ");
  return (
    <div class={typing.length > 0 ? "collision-bar typing" : "collision-bar"} role="status" data-testid="collision-bar">
      {typing.length > 0 && <span data-testid="collision-typing">{names(typing)} {typing.length === 1 ? "is" : "are"} typing a reply…</span>}
      {typing.length > 0 && viewingOnly.length > 0 && " · "}
      {viewingOnly.length > 0 && <span data-testid="collision-viewing">{names(viewingOnly)} {viewingOnly.length === 1 ? "is" : "are"} viewing</span>}
    </div>
  );
}

export function TicketPage({
  session,
  ticketId,
  agents,
  live,
  onChanged,
}: {
  session: Session;
  ticketId: string;
  agents: AgentNames;
  live: LiveStore;
  onChanged: (ticketId: string, changes: TicketChanges) => void;
}) {
  const { token, agent } = session;
  const ticketLive = useStore(
    () => createTicketLive({ token, accountId: agent.accountId, agentId: agent.id, name: agent.name, ticketId, mode: rememberedMode(ticketId), graceMs: OFFLINE_GRACE_MS }),
    [token, agent, ticketId],
  );
  const store = useMemo(() => createTicketStore(token, ticketId, onChanged, ticketLive), [ticketLive]);
  useEffect(() => () => store.dispose(), [store]);
  // This tab shows the ticket: teammates see it in their lists and on their ticket page.
  useEffect(() => {
    live.setViewing(ticketId);
    return () => live.setViewing(null);
  }, [live, ticketId]);
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
    <section class="ticket-page" data-testid="ticket-page" data-ticket-id={ticketId} data-live={ticketLive.up.value ? "up" : "down"} aria-label="Ticket">
      <div class="ticket-main">
        <TicketLiveBanner ticket={ticketLive} inbox={live} />
        <CollisionBar activity={live.activity.value.get(ticketId)} agents={agents} />
        <TicketHeader store={store} ticket={ticket} agents={agents} />
        <Conversation messages={store.messages.value} customer={ticket.customer} agents={agents} />
        <ReplyBox store={store} channel={ticket.channel} customer={ticket.customer} agents={agents} onKeystroke={() => live.keystroke(ticketId)} onBlur={() => live.stopTyping()} />
      </div>
      <CustomerPanel token={session.token} customer={ticket.customer} currentTicketId={ticket.id} />
    </section>
  );
}
