// Right column of a ticket: who the customer is, their other tickets and their orders.

import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { StatusBadge, TimeAgo } from "./badges.tsx";
import { now } from "./clock.ts";
import { initials, money, shortDate } from "./format.ts";
import type { ApiFailure } from "./http.ts";
import { type CustomerRef, type CustomerTimeline, type Order, fetchCustomerTimeline } from "./inbox-api.ts";
import { orderStatusLabel } from "./labels.ts";
import { customerName } from "./people.ts";
import { followLink } from "./router.ts";
import { ticketPath } from "./routes.ts";

type TimelineState =
  | { kind: "loading" }
  | { kind: "ready"; timeline: CustomerTimeline }
  | { kind: "unavailable" }
  | { kind: "error"; error: ApiFailure };

/** The Worker answers unknown API paths with 404 "no route for …": the feature is not deployed. */
function isMissingRoute(error: ApiFailure): boolean {
  return error.status === 404 && error.message.includes("no route");
}

function OrderCard({ order }: { order: Order }) {
  return (
    <li class="order" data-testid="order" data-order-id={order.id}>
      <div class="order-top">
        <strong>{order.number}</strong>
        <span class={`badge order-${order.status}`}>{orderStatusLabel(order.status)}</span>
        <span class="order-total">{money(order.totalCents, order.currency)}</span>
      </div>
      {order.createdAt !== null && <div class="muted small">Ordered {shortDate(order.createdAt, now.value)}</div>}
      {order.items.length > 0 && (
        <ul class="order-items">
          {order.items.map((item, index) => (
            <li key={`${item.sku ?? item.name}-${index}`}>
              <span>
                {item.quantity} × {item.name}
              </span>
              {item.unitPriceCents !== null && (
                <span class="muted">{money(item.unitPriceCents * item.quantity, order.currency)}</span>
              )}
            </li>
          ))}
        </ul>
      )}
      {order.trackingUrl && (
        <a class="small" href={order.trackingUrl} target="_blank" rel="noopener noreferrer">
          Track shipment
        </a>
      )}
    </li>
  );
}

function Timeline({ timeline, currentTicketId }: { timeline: CustomerTimeline; currentTicketId: string }) {
  const others = timeline.tickets.filter((ticket) => ticket.id !== currentTicketId);
  return (
    <>
      <section class="panel-section">
        <h3>
          Orders <span class="count">{timeline.orders.length}</span>
        </h3>
        {timeline.orders.length === 0 ? (
          <p class="muted small">No orders.</p>
        ) : (
          <ul class="orders">
            {timeline.orders.map((order) => (
              <OrderCard key={order.id} order={order} />
            ))}
          </ul>
        )}
      </section>
      <section class="panel-section">
        <h3>
          Other tickets <span class="count">{others.length}</span>
        </h3>
        {others.length === 0 ? (
          <p class="muted small">No other tickets.</p>
        ) : (
          <ul class="past-tickets">
            {others.map((ticket) => (
              <li key={ticket.id}>
                <a href={ticketPath(ticket.id)} onClick={followLink} data-testid="past-ticket" data-ticket-id={ticket.id}>
                  {ticket.subject}
                </a>
                <div class="past-meta small">
                  <StatusBadge status={ticket.status} />
                  {(ticket.updatedAt ?? ticket.createdAt) !== null && (
                    <span class="muted">
                      <TimeAgo at={(ticket.updatedAt ?? ticket.createdAt) as number} />
                    </span>
                  )}
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

export function CustomerPanel({
  token,
  customer,
  currentTicketId,
}: {
  token: string;
  customer: CustomerRef | null;
  currentTicketId: string;
}) {
  const state = useSignal<TimelineState>({ kind: "loading" });
  const attempt = useSignal(0);
  const customerId = customer?.id ?? null;

  useEffect(() => {
    if (!customerId) return;
    const controller = new AbortController();
    state.value = { kind: "loading" };
    void fetchCustomerTimeline(token, customerId, controller.signal).then((result) => {
      if (controller.signal.aborted) return;
      if (result.ok) state.value = { kind: "ready", timeline: result.value };
      else state.value = isMissingRoute(result.error) ? { kind: "unavailable" } : { kind: "error", error: result.error };
    });
    return () => controller.abort();
  }, [token, customerId, attempt.value]);

  const name = customerName(customer);
  const current = state.value;
  return (
    <aside class="customer-panel" aria-label="Customer" data-testid="customer-panel">
      <section class="panel-section customer-card">
        <div class="avatar" aria-hidden="true">
          {initials(name)}
        </div>
        <div>
          <div class="customer-name" data-testid="customer-name">
            {name}
          </div>
          {customer?.email && (
            <a class="small customer-email" href={`mailto:${customer.email}`} title={customer.email} data-testid="customer-email">
              {customer.email}
            </a>
          )}
        </div>
      </section>
      {!customerId ? null : current.kind === "loading" ? (
        <p class="muted small panel-section">Loading history…</p>
      ) : current.kind === "unavailable" ? (
        <p class="muted small panel-section">Customer history is not available yet.</p>
      ) : current.kind === "error" ? (
        <div class="error small panel-section" role="alert">
          <p>{current.error.message}</p>
          <button type="button" onClick={() => (attempt.value += 1)}>
            Try again
          </button>
        </div>
      ) : (
        <Timeline timeline={current.timeline} currentTicketId={currentTicketId} />
      )}
    </aside>
  );
}
