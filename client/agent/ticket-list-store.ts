// One view's ticket list, a page at a time ("Load more" follows the cursor).

import { type ReadonlySignal, batch, signal } from "@preact/signals";
import { type TicketChanges, type TicketSummary, fetchTickets } from "./inbox-api.ts";

export interface TicketListStore {
  readonly viewId: string;
  readonly tickets: ReadonlySignal<TicketSummary[]>;
  readonly nextCursor: ReadonlySignal<string | null>;
  /** "first" while the first page loads, "more" while a further page does. */
  readonly loading: ReadonlySignal<"first" | "more" | null>;
  /** True once the first page has arrived. */
  readonly loaded: ReadonlySignal<boolean>;
  readonly error: ReadonlySignal<string | null>;
  loadMore(): void;
  refresh(): void;
  /** Shows a change made elsewhere (the ticket page) in the ticket's row. */
  applyChanges(ticketId: string, changes: TicketChanges): void;
  dispose(): void;
}

export function createTicketList(token: string, viewId: string): TicketListStore {
  const tickets = signal<TicketSummary[]>([]);
  const nextCursor = signal<string | null>(null);
  const loading = signal<"first" | "more" | null>(null);
  const loaded = signal(false);
  const error = signal<string | null>(null);
  let controller: AbortController | null = null;

  async function load(cursor: string | null): Promise<void> {
    controller?.abort();
    const current = new AbortController();
    controller = current;
    loading.value = cursor ? "more" : "first";
    error.value = null;
    const result = await fetchTickets(token, { view: viewId, cursor }, current.signal);
    if (current.signal.aborted) return;
    batch(() => {
      loading.value = null;
      if (!result.ok) {
        error.value = result.error.message;
        return;
      }
      if (cursor) {
        // A ticket that moved between pages is shown once, where it was first seen.
        const seen = new Set(tickets.value.map((ticket) => ticket.id));
        tickets.value = [...tickets.value, ...result.value.tickets.filter((ticket) => !seen.has(ticket.id))];
      } else {
        tickets.value = result.value.tickets;
      }
      nextCursor.value = result.value.nextCursor;
      loaded.value = true;
    });
  }

  void load(null);
  return {
    viewId,
    tickets,
    nextCursor,
    loading,
    loaded,
    error,
    loadMore() {
      if (loading.value === null && nextCursor.value) void load(nextCursor.value);
    },
    refresh: () => void load(null),
    applyChanges(ticketId, changes) {
      if (!tickets.value.some((ticket) => ticket.id === ticketId)) return;
      tickets.value = tickets.value.map((ticket) => (ticket.id === ticketId ? { ...ticket, ...changes } : ticket));
    },
    dispose: () => controller?.abort(),
  };
}
