// One open ticket: its record and thread, and the agent's intents on it (reply, note,
// status/priority/assignee). Intents go up over HTTP; the answer updates the page.

import { type ReadonlySignal, batch, signal } from "@preact/signals";
import type { ApiFailure, ApiResult } from "./http.ts";
import {
  type Message,
  type TicketChanges,
  type TicketDetail,
  type TicketPatch,
  byThreadOrder,
  fetchTicket,
  patchTicket,
  postMessage,
} from "./inbox-api.ts";

export type SendKind = "reply" | "note";

export interface TicketStore {
  readonly ticketId: string;
  readonly ticket: ReadonlySignal<TicketDetail | null>;
  readonly messages: ReadonlySignal<Message[]>;
  readonly loading: ReadonlySignal<boolean>;
  /** Why the ticket could not be loaded (404: unknown or not this account's). */
  readonly loadError: ReadonlySignal<ApiFailure | null>;
  reload(): void;
  send(kind: SendKind, body: string): Promise<ApiResult<Message>>;
  update(patch: TicketPatch): Promise<ApiResult<TicketChanges>>;
  dispose(): void;
}

export function createTicketStore(
  token: string,
  ticketId: string,
  onChanged: (ticketId: string, changes: TicketChanges) => void = () => {},
): TicketStore {
  const ticket = signal<TicketDetail | null>(null);
  const messages = signal<Message[]>([]);
  const loading = signal(true);
  const loadError = signal<ApiFailure | null>(null);
  let controller: AbortController | null = null;
  let disposed = false;

  async function reload(): Promise<void> {
    controller?.abort();
    const current = new AbortController();
    controller = current;
    loading.value = true;
    const result = await fetchTicket(token, ticketId, current.signal);
    if (current.signal.aborted) return;
    batch(() => {
      loading.value = false;
      if (result.ok) {
        ticket.value = result.value.ticket;
        messages.value = result.value.messages;
        loadError.value = null;
      } else {
        loadError.value = result.error;
      }
    });
  }

  function applyChanges(changes: TicketChanges): void {
    if (disposed) return;
    const known = ticket.value;
    // An older answer (lower version) must not undo a newer one.
    if (known && changes.version !== undefined && changes.version < known.version) return;
    if (known) ticket.value = { ...known, ...changes };
    onChanged(ticketId, changes);
  }

  void reload();
  return {
    ticketId,
    ticket,
    messages,
    loading,
    loadError,
    reload: () => void reload(),
    async send(kind, body) {
      const result = await postMessage(token, ticketId, kind, body);
      if (!result.ok) return result;
      const { message, ticket: changes } = result.value;
      if (!disposed) {
        batch(() => {
          if (!messages.value.some((known) => known.id === message.id)) {
            messages.value = [...messages.value, message].sort(byThreadOrder);
          }
          applyChanges(changes);
        });
      }
      return { ok: true, value: message };
    },
    async update(patch) {
      const result = await patchTicket(token, ticketId, patch);
      if (result.ok) applyChanges(result.value);
      return result;
    },
    dispose() {
      disposed = true;
      controller?.abort();
    },
  };
}
