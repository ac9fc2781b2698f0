// One open ticket: its record and thread, and the agent's intents on it (send the draft,
// status/priority/assignee). The HTTP load is the first paint; the ticket's live document
// (ticket-live.ts), once synced, keeps thread and meta current, and the two are merged so that
// neither can take the page back: messages by id, the record by version. While the socket
// is down the page keeps what it had, and intents' answers still update it.

import { type ReadonlySignal, batch, computed, effect, signal } from "@preact/signals";
import { MAX_DRAFT_CHARS, type TicketMeta } from "../../protocol/ticket-doc.ts";
import type { ApiFailure, ApiResult } from "./http.ts";
import {
  type Message,
  type TicketChanges,
  type TicketDetail,
  type TicketPatch,
  byThreadOrder,
  fetchTicket,
  parseMessage,
  patchTicket,
  postMessage,
  sendDraft,
} from "./inbox-api.ts";
import { type SeenThrough, createSeenThrough } from "./seen-through.ts";
import type { TicketLive } from "./ticket-live.ts";

export type SendKind = "reply" | "note";

/** What sending the draft came to. */
export type DraftOutcome =
  | { kind: "sent"; message: Message }
  /** Held: these arrived since the agent last looked (the text stays). */
  | { kind: "held"; arrived: Message[] }
  | { kind: "failed"; error: ApiFailure };

export interface TicketStore {
  readonly ticketId: string;
  readonly ticket: ReadonlySignal<TicketDetail | null>;
  readonly messages: ReadonlySignal<Message[]>;
  readonly loading: ReadonlySignal<boolean>;
  /** Why the ticket could not be loaded (404: unknown or not this account's). */
  readonly loadError: ReadonlySignal<ApiFailure | null>;
  readonly live: TicketLive | null;
  /** The newest seq this agent has seen (the send-time guard's seenThroughSeq). */
  readonly seen: SeenThrough;
  reload(): void;
  /** Sends the shared draft as a reply or an internal note. */
  sendDraft(kind: SendKind): Promise<DraftOutcome>;
  update(patch: TicketPatch): Promise<ApiResult<TicketChanges>>;
  dispose(): void;
}

/** The meta fields the page shows, over the HTTP record, if the document is as new or newer. */
export function mergeMeta(ticket: TicketDetail, meta: Partial<TicketMeta> | null): TicketDetail {
  if (!meta || typeof meta.version !== "number" || meta.version < ticket.version) return ticket;
  const merged: TicketDetail = { ...ticket, version: meta.version };
  if (typeof meta.subject === "string") merged.subject = meta.subject;
  if (typeof meta.status === "string") merged.status = meta.status;
  if (typeof meta.priority === "string") merged.priority = meta.priority;
  if (meta.assigneeId !== undefined) merged.assigneeId = meta.assigneeId;
  if (meta.teamId !== undefined) merged.teamId = meta.teamId;
  if (meta.snoozedUntil !== undefined) merged.snoozedUntil = meta.snoozedUntil;
  if (typeof meta.updatedAt === "number") merged.updatedAt = meta.updatedAt;
  if (Array.isArray(meta.tagIds)) {
    // The document has ids; names come from what the page knows (an unknown one shows its id).
    const names = new Map(ticket.tags.map((tag) => [tag.id, tag.name]));
    merged.tags = meta.tagIds.map((id) => ({ id, name: names.get(id) ?? id }));
  }
  return merged;
}

/** Both sources' messages, each once (the document's copy wins), in thread order. */
export function mergeMessages(fromHttp: readonly Message[], fromDoc: readonly Message[]): Message[] {
  const byId = new Map<string, Message>();
  for (const message of fromHttp) byId.set(message.id, message);
  for (const message of fromDoc) byId.set(message.id, message);
  return [...byId.values()].sort(byThreadOrder);
}

/**
 * How long a send waits for the room to confirm it has the last keystrokes. A socket that
 * stays open without answering is caught by keepalive only after tens of seconds; the agent
 * should not wait that long to learn the send goes another way.
 */
export const FLUSH_TIMEOUT_MS = 5_000;

function flushed(live: TicketLive): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), FLUSH_TIMEOUT_MS)));
  return Promise.race([live.flush(), timeout]).finally(() => clearTimeout(timer));
}

function browserVisible(): boolean {
  return typeof document === "undefined" || document.visibilityState !== "hidden";
}

export function createTicketStore(
  token: string,
  ticketId: string,
  onChanged: (ticketId: string, changes: TicketChanges) => void = () => {},
  live: TicketLive | null = null,
): TicketStore {
  const httpTicket = signal<TicketDetail | null>(null);
  const httpMessages = signal<Message[]>([]);
  const loading = signal(true);
  const loadError = signal<ApiFailure | null>(null);
  let controller: AbortController | null = null;
  let disposed = false;

  const docMessages = computed(() => (live?.thread.value ?? []).map(parseMessage).filter((m): m is Message => m !== null));
  const messages = computed(() => mergeMessages(httpMessages.value, docMessages.value));
  const ticket = computed(() => {
    const known = httpTicket.value;
    return known ? mergeMeta(known, live?.meta.value ?? null) : null;
  });

  // seenThroughSeq: the thread as rendered while this tab is visible.
  const seen = createSeenThrough(browserVisible());
  const disposeSeen = effect(() => seen.rendered(messages.value.at(-1)?.seq ?? 0));
  const onVisibility = (): void => seen.visibility(browserVisible());
  if (typeof document !== "undefined") document.addEventListener("visibilitychange", onVisibility);

  // The list beside the page follows what the document says of this ticket.
  let reportedVersion = 0;
  const disposeReport = effect(() => {
    const meta = live?.meta.value;
    const current = ticket.value;
    if (!meta || !current || typeof meta.version !== "number" || meta.version <= reportedVersion || meta.version < current.version) return;
    reportedVersion = meta.version;
    onChanged(ticketId, {
      status: current.status,
      priority: current.priority,
      assigneeId: current.assigneeId,
      teamId: current.teamId,
      version: current.version,
      updatedAt: current.updatedAt,
      subject: current.subject,
      snoozedUntil: current.snoozedUntil,
    });
  });

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
        httpTicket.value = result.value.ticket;
        httpMessages.value = result.value.messages;
        loadError.value = null;
      } else {
        loadError.value = result.error;
      }
    });
  }

  function applyChanges(changes: TicketChanges): void {
    if (disposed) return;
    const known = httpTicket.value;
    // An older answer (lower version) must not undo a newer one.
    if (known && changes.version !== undefined && changes.version < known.version) return;
    if (known) httpTicket.value = { ...known, ...changes };
    onChanged(ticketId, changes);
  }

  function addMessages(added: readonly Message[]): void {
    if (disposed || added.length === 0) return;
    httpMessages.value = mergeMessages(httpMessages.value, added);
  }

  function tooLong(length: number): DraftOutcome {
    return {
      kind: "failed",
      error: { status: 413, code: "DRAFT_TOO_LONG", message: `That is too long to send (${length.toLocaleString()} characters; at most ${MAX_DRAFT_CHARS.toLocaleString()}).` },
    };
  }

  /** Without the room (socket down): the text this tab holds, sent as before live drafts. */
  async function sendDirect(kind: SendKind): Promise<DraftOutcome> {
    const draft = live?.draft;
    const body = draft?.toString().trim() ?? "";
    if (!draft || body === "") return { kind: "failed", error: { status: 409, code: "DRAFT_EMPTY", message: "There is nothing to send." } };
    const sentLength = draft.length;
    const result = await postMessage(token, ticketId, kind, body);
    if (!result.ok) return { kind: "failed", error: result.error };
    // The sent text leaves the draft; the room hears of it when the socket is back.
    if (!disposed) draft.delete(0, Math.min(sentLength, draft.length));
    batch(() => {
      addMessages([result.value.message]);
      applyChanges(result.value.ticket);
    });
    return { kind: "sent", message: result.value.message };
  }

  void reload();
  return {
    ticketId,
    ticket,
    messages,
    loading,
    loadError,
    live,
    seen,
    reload: () => void reload(),
    async sendDraft(kind) {
      const length = live?.draft.length ?? 0;
      if (length > MAX_DRAFT_CHARS) return tooLong(length);
      // The last keystrokes travel over the socket: the room must have them before it sends.
      if (!live || !(await flushed(live))) return sendDirect(kind);
      const result = await sendDraft(token, ticketId, kind, seen.seq);
      if (!result.ok) return { kind: "failed", error: result.error };
      if (!result.value.sent) {
        // They show in the thread too (the socket may be behind the room).
        addMessages(result.value.arrived);
        return { kind: "held", arrived: result.value.arrived };
      }
      const { message, ticket: changes } = result.value.posted;
      batch(() => {
        addMessages([message]);
        applyChanges(changes);
      });
      return { kind: "sent", message };
    },
    async update(patch) {
      const result = await patchTicket(token, ticketId, patch);
      if (result.ok) applyChanges(result.value);
      return result;
    },
    dispose() {
      disposed = true;
      controller?.abort();
      disposeSeen();
      disposeReport();
      if (typeof document !== "undefined") document.removeEventListener("visibilitychange", onVisibility);
    },
  };
}
