// The inbox's REST API: views, ticket lists, one ticket with its thread, replies, notes,
// ticket changes and the customer's timeline. Answers are checked and normalised here, so
// components can rely on the shapes below.

import { type ApiResult, apiRequest, isRecord } from "./http.ts";

export interface View {
  id: string;
  name: string;
  filter: unknown;
  position: number;
  ownerAgentId: string | null;
}

export interface CustomerRef {
  id: string;
  name: string | null;
  email: string | null;
}

export interface TagRef {
  id: string;
  name: string;
}

export interface TicketSummary {
  id: string;
  subject: string;
  status: string;
  priority: string;
  channel: string;
  assigneeId: string | null;
  teamId: string | null;
  customer: CustomerRef | null;
  tags: TagRef[];
  createdAt: number;
  updatedAt: number;
  lastMessageAt: number | null;
  version: number;
}

export interface TicketDetail extends TicketSummary {
  snoozedUntil: number | null;
  firstResponseAt: number | null;
  closedAt: number | null;
  aiState: string | null;
}

export type AuthorKind = "customer" | "agent" | "ai" | "system";

export interface Message {
  id: string;
  authorKind: AuthorKind;
  authorId: string | null;
  body: string;
  isInternalNote: boolean;
  channel: string;
  seq: number;
  createdAt: number;
  /** Agents who wrote it together in the shared draft (sent from the draft only). */
  coAuthorIds?: string[];
}

export interface TicketPage {
  tickets: TicketSummary[];
  nextCursor: string | null;
}

export interface TicketWithMessages {
  ticket: TicketDetail;
  messages: Message[];
}

/** Fields of a ticket as a mutation answers it (the room's record: ids, not names). */
export type TicketChanges = Partial<
  Pick<
    TicketDetail,
    | "status"
    | "priority"
    | "assigneeId"
    | "teamId"
    | "version"
    | "updatedAt"
    | "lastMessageAt"
    | "snoozedUntil"
    | "firstResponseAt"
    | "closedAt"
    | "aiState"
    | "subject"
  >
>;

export interface TicketPatch {
  status?: string;
  priority?: string;
  assigneeId?: string | null;
  teamId?: string | null;
  tagIds?: string[];
  snoozedUntil?: number | null;
}

export interface PastTicket {
  id: string;
  subject: string;
  status: string;
  channel: string | null;
  createdAt: number | null;
  updatedAt: number | null;
}

export interface OrderItem {
  sku: string | null;
  name: string;
  quantity: number;
  unitPriceCents: number | null;
}

export interface Order {
  id: string;
  number: string;
  status: string;
  totalCents: number;
  currency: string;
  items: OrderItem[];
  createdAt: number | null;
  shippedAt: number | null;
  trackingUrl: string | null;
}

export interface CustomerTimeline {
  customer: CustomerRef | null;
  tickets: PastTicket[];
  orders: Order[];
}

// --- normalising --------------------------------------------------------------------

const str = (value: unknown, fallback = ""): string => (typeof value === "string" ? value : fallback);
const strOrNull = (value: unknown): string | null => (typeof value === "string" ? value : null);
const num = (value: unknown, fallback = 0): number => (typeof value === "number" && Number.isFinite(value) ? value : fallback);
const numOrNull = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function parseView(value: unknown): View | null {
  if (!isRecord(value) || typeof value.id !== "string") return null;
  return {
    id: value.id,
    name: str(value.name, "Untitled view"),
    filter: value.filter ?? null,
    position: num(value.position),
    ownerAgentId: strOrNull(value.ownerAgentId),
  };
}

function parseCustomer(value: unknown): CustomerRef | null {
  if (!isRecord(value) || typeof value.id !== "string") return null;
  return { id: value.id, name: strOrNull(value.name), email: strOrNull(value.email) };
}

function parseTag(value: unknown): TagRef | null {
  if (!isRecord(value) || typeof value.id !== "string") return null;
  return { id: value.id, name: str(value.name, value.id) };
}

export function parseTicketSummary(value: unknown): TicketSummary | null {
  if (!isRecord(value) || typeof value.id !== "string") return null;
  return {
    id: value.id,
    subject: str(value.subject, "(no subject)"),
    status: str(value.status, "open"),
    priority: str(value.priority, "normal"),
    channel: str(value.channel),
    assigneeId: strOrNull(value.assigneeId),
    teamId: strOrNull(value.teamId),
    customer: parseCustomer(value.customer),
    tags: list(value.tags)
      .map(parseTag)
      .filter((tag): tag is TagRef => tag !== null),
    createdAt: num(value.createdAt),
    updatedAt: num(value.updatedAt),
    lastMessageAt: numOrNull(value.lastMessageAt),
    version: num(value.version),
  };
}

function parseTicketDetail(value: unknown): TicketDetail | null {
  const summary = parseTicketSummary(value);
  if (!summary || !isRecord(value)) return null;
  return {
    ...summary,
    snoozedUntil: numOrNull(value.snoozedUntil),
    firstResponseAt: numOrNull(value.firstResponseAt),
    closedAt: numOrNull(value.closedAt),
    aiState: strOrNull(value.aiState),
  };
}

const AUTHOR_KINDS: readonly string[] = ["customer", "agent", "ai", "system"];

export function parseMessage(value: unknown): Message | null {
  if (!isRecord(value) || typeof value.id !== "string") return null;
  const kind = str(value.authorKind, "system");
  return {
    id: value.id,
    authorKind: (AUTHOR_KINDS.includes(kind) ? kind : "system") as AuthorKind,
    authorId: strOrNull(value.authorId),
    body: str(value.body),
    isInternalNote: value.isInternalNote === true,
    channel: str(value.channel),
    seq: num(value.seq),
    createdAt: num(value.createdAt),
    ...(Array.isArray(value.coAuthorIds) ? { coAuthorIds: value.coAuthorIds.filter((id): id is string => typeof id === "string") } : {}),
  };
}

/** The fields a mutation's `ticket` carries that the UI shows; names the room does not know are left out. */
export function parseTicketChanges(value: unknown): TicketChanges {
  if (!isRecord(value)) return {};
  const changes: TicketChanges = {};
  if (typeof value.status === "string") changes.status = value.status;
  if (typeof value.priority === "string") changes.priority = value.priority;
  if (typeof value.subject === "string") changes.subject = value.subject;
  if (typeof value.aiState === "string") changes.aiState = value.aiState;
  for (const key of ["assigneeId", "teamId"] as const) {
    if (key in value) changes[key] = strOrNull(value[key]);
  }
  for (const key of ["version", "updatedAt"] as const) {
    if (typeof value[key] === "number") changes[key] = value[key];
  }
  for (const key of ["lastMessageAt", "snoozedUntil", "firstResponseAt", "closedAt"] as const) {
    if (key in value) changes[key] = numOrNull(value[key]);
  }
  return changes;
}

function parsePastTicket(value: unknown): PastTicket | null {
  if (!isRecord(value) || typeof value.id !== "string") return null;
  return {
    id: value.id,
    subject: str(value.subject, "(no subject)"),
    status: str(value.status),
    channel: strOrNull(value.channel),
    createdAt: numOrNull(value.createdAt),
    updatedAt: numOrNull(value.updatedAt) ?? numOrNull(value.lastMessageAt),
  };
}

function parseOrderItem(value: unknown): OrderItem | null {
  if (!isRecord(value)) return null;
  return {
    sku: strOrNull(value.sku),
    name: str(value.name, str(value.sku, "Item")),
    quantity: num(value.quantity, 1),
    unitPriceCents: numOrNull(value.unitPriceCents),
  };
}

function parseOrder(value: unknown): Order | null {
  if (!isRecord(value) || typeof value.id !== "string") return null;
  return {
    id: value.id,
    number: str(value.number, value.id),
    status: str(value.status),
    totalCents: num(value.totalCents),
    currency: str(value.currency, "USD"),
    items: list(value.items)
      .map(parseOrderItem)
      .filter((item): item is OrderItem => item !== null),
    createdAt: numOrNull(value.createdAt),
    shippedAt: numOrNull(value.shippedAt),
    trackingUrl: strOrNull(value.trackingUrl),
  };
}

/**
 * Accepts `{ customer?, tickets, orders }` or a mixed `{ timeline: [{ kind|type: "ticket"|"order", ... }] }`
 * (entries may nest their record under `ticket` / `order`).
 */
export function parseTimeline(body: unknown): CustomerTimeline | null {
  if (!isRecord(body)) return null;
  const tickets: PastTicket[] = [];
  const orders: Order[] = [];
  const add = <T,>(into: T[], item: T | null) => {
    if (item) into.push(item);
  };
  for (const t of list(body.tickets)) add(tickets, parsePastTicket(t));
  for (const o of list(body.orders)) add(orders, parseOrder(o));
  for (const entry of list(body.timeline ?? body.items ?? body.entries)) {
    if (!isRecord(entry)) continue;
    const kind = str(entry.kind, str(entry.type));
    if (kind === "ticket") add(tickets, parsePastTicket(isRecord(entry.ticket) ? entry.ticket : entry));
    else if (kind === "order") add(orders, parseOrder(isRecord(entry.order) ? entry.order : entry));
  }
  if (!("tickets" in body) && !("orders" in body) && !("timeline" in body) && !("items" in body) && !("entries" in body)) {
    return null;
  }
  return { customer: parseCustomer(body.customer), tickets, orders };
}

// --- requests -----------------------------------------------------------------------

export function fetchViews(token: string, signal?: AbortSignal): Promise<ApiResult<View[]>> {
  return apiRequest(token, "/api/views", {
    signal,
    parse: (body) =>
      isRecord(body) && Array.isArray(body.views)
        ? body.views
            .map(parseView)
            .filter((view): view is View => view !== null)
            .sort((a, b) => a.position - b.position || a.name.localeCompare(b.name))
        : null,
  });
}

export const PAGE_SIZE = 25;

export function fetchTickets(
  token: string,
  query: { view: string; cursor?: string | null; limit?: number },
  signal?: AbortSignal,
): Promise<ApiResult<TicketPage>> {
  const params = new URLSearchParams({ view: query.view, limit: String(query.limit ?? PAGE_SIZE) });
  if (query.cursor) params.set("cursor", query.cursor);
  return apiRequest(token, `/api/tickets?${params}`, {
    signal,
    parse: (body) => {
      if (!isRecord(body) || !Array.isArray(body.tickets)) return null;
      return {
        tickets: body.tickets.map(parseTicketSummary).filter((t): t is TicketSummary => t !== null),
        nextCursor: typeof body.nextCursor === "string" && body.nextCursor !== "" ? body.nextCursor : null,
      };
    },
  });
}

export function fetchTicket(token: string, ticketId: string, signal?: AbortSignal): Promise<ApiResult<TicketWithMessages>> {
  return apiRequest(token, `/api/tickets/${encodeURIComponent(ticketId)}`, {
    signal,
    parse: (body) => {
      if (!isRecord(body)) return null;
      const ticket = parseTicketDetail(body.ticket);
      if (!ticket) return null;
      const messages = list(body.messages)
        .map(parseMessage)
        .filter((m): m is Message => m !== null)
        .sort(byThreadOrder);
      return { ticket, messages };
    },
  });
}

export function byThreadOrder(a: Message, b: Message): number {
  return a.seq - b.seq || a.createdAt - b.createdAt;
}

export interface PostedMessage {
  ticket: TicketChanges;
  message: Message;
}

export function postMessage(
  token: string,
  ticketId: string,
  kind: "reply" | "note",
  body: string,
): Promise<ApiResult<PostedMessage>> {
  const path = `/api/tickets/${encodeURIComponent(ticketId)}/${kind === "note" ? "notes" : "replies"}`;
  return apiRequest(token, path, {
    method: "POST",
    body: { body },
    parse: (answer) => {
      if (!isRecord(answer)) return null;
      const message = parseMessage(answer.message);
      return message ? { ticket: parseTicketChanges(answer.ticket), message } : null;
    },
  });
}

export type DraftSendResult =
  | { sent: true; posted: PostedMessage }
  | { sent: false; arrived: Message[] };

/**
 * Sends the ticket's shared draft (`POST /api/tickets/:id/draft/send`). A reply the room
 * holds because messages arrived after `seenThroughSeq` comes back as `sent: false` with
 * them (409 THREAD_CHANGED); other refusals (409 DRAFT_EMPTY, …) as failures.
 */
export async function sendDraft(
  token: string,
  ticketId: string,
  mode: "reply" | "note",
  seenThroughSeq: number,
): Promise<ApiResult<DraftSendResult>> {
  const result = await apiRequest(token, `/api/tickets/${encodeURIComponent(ticketId)}/draft/send`, {
    method: "POST",
    body: { mode, seenThroughSeq },
    keepFailureBody: true,
    parse: (answer) => {
      if (!isRecord(answer)) return null;
      const message = parseMessage(answer.message);
      return message ? { ticket: parseTicketChanges(answer.ticket), message } : null;
    },
  });
  if (result.ok) return { ok: true, value: { sent: true, posted: result.value } };
  const body = result.error.body;
  if (result.error.code === "THREAD_CHANGED" && isRecord(body) && Array.isArray(body.arrived)) {
    const arrived = body.arrived.map(parseMessage).filter((m): m is Message => m !== null);
    return { ok: true, value: { sent: false, arrived } };
  }
  return result;
}

export function patchTicket(token: string, ticketId: string, patch: TicketPatch): Promise<ApiResult<TicketChanges>> {
  return apiRequest(token, `/api/tickets/${encodeURIComponent(ticketId)}`, {
    method: "PATCH",
    body: patch,
    parse: (answer) => (isRecord(answer) && isRecord(answer.ticket) ? parseTicketChanges(answer.ticket) : null),
  });
}

export function fetchCustomerTimeline(
  token: string,
  customerId: string,
  signal?: AbortSignal,
): Promise<ApiResult<CustomerTimeline>> {
  return apiRequest(token, `/api/customers/${encodeURIComponent(customerId)}/timeline`, { signal, parse: parseTimeline });
}
