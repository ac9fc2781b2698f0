import { and, asc, eq, inArray } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { ShardDb } from "../../schema/shards.ts";
import {
  AI_STATES,
  customers,
  messages,
  tags,
  TICKET_CHANNELS,
  TICKET_PRIORITIES,
  TICKET_STATUSES,
  ticketTags,
  tickets,
  type AiState,
  type Message,
  type TicketChannel,
  type TicketPriority,
  type TicketStatus,
  type ViewFilter,
} from "../../schema/tables.ts";
import { authSecret, requireAgent, type AuthedEnv } from "../auth/middleware.ts";
import { zValidator } from "@hono/zod-validator";
import { ApiError, validationFailed } from "../http/errors.ts";
import { validate } from "../http/validate.ts";
import { CursorError, MAX_QUERY_LENGTH, queryTicketPage, SearchQueryError, TICKET_SORTS, type SortOrder, type TicketSort } from "../search/search.ts";
import { accountShard } from "../shards.ts";
import { MAX_WINDOW_HOURS, viewFilterCondition } from "../views/filter.ts";
import { findVisibleView, parseStoredFilter } from "../views/routes.ts";

// Ticket reads, straight from the account's shard (writes go through each ticket's room).
// Mounted at /api/tickets next to the write routes.

export type TicketSummary = {
  id: string;
  subject: string;
  status: TicketStatus;
  priority: TicketPriority;
  channel: TicketChannel;
  assigneeId: string | null;
  teamId: string | null;
  customer: { id: string; name: string | null; email: string | null };
  tags: { id: string; name: string }[];
  createdAt: number;
  updatedAt: number;
  lastMessageAt: number | null;
  version: number;
};

export type TicketDetail = TicketSummary & {
  snoozedUntil: number | null;
  firstResponseAt: number | null;
  closedAt: number | null;
  aiState: AiState;
};

const Id = z.string().trim().min(1).max(64);
const DEFAULT_LIMIT = 25;

/**
 * `validate("query", schema)` for a strict schema, reporting each unknown parameter under
 * its own name (zod reports them together at the root, which the shared 400 shape would
 * show as "(body)"): a typo must be visible, and must not silently widen a list.
 */
export function validateQuery<Schema extends z.ZodType>(schema: Schema) {
  return zValidator("query", schema, (result, c) => {
    if (result.success) return;
    const issues = result.error.issues.flatMap((issue): z.core.$ZodIssue[] =>
      issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => ({ code: "custom", path: [key], message: "unknown parameter", input: undefined }))
        : [issue],
    );
    return validationFailed(new z.ZodError(issues), c);
  });
}

/** A query parameter given once, repeated, or comma-separated, as a list. */
function listParam<T extends z.ZodType>(item: T, max: number) {
  return z.preprocess(
    (value) => {
      if (value === undefined) return undefined;
      const values = Array.isArray(value) ? value : [value];
      return values.flatMap((entry) => String(entry).split(",")).map((entry) => entry.trim()).filter((entry) => entry !== "");
    },
    z.array(item).min(1, "give at least one value").max(max).optional(),
  );
}

const WindowHours = z.coerce.number().int().min(1).max(MAX_WINDOW_HOURS).optional();

const TicketListParams = {
  view: Id.optional(),
  status: listParam(z.enum(TICKET_STATUSES), TICKET_STATUSES.length),
  channel: listParam(z.enum(TICKET_CHANNELS), TICKET_CHANNELS.length),
  priority: listParam(z.enum(TICKET_PRIORITIES), TICKET_PRIORITIES.length),
  aiState: listParam(z.enum(AI_STATES), AI_STATES.length),
  /** me | unassigned | an agent id */
  assignee: Id.optional(),
  /** A team id, or "none" for tickets without a team. */
  team: Id.optional(),
  tag: listParam(Id, 50),
  createdWithinHours: WindowHours,
  updatedWithinHours: WindowHours,
  q: z.string().trim().min(1).max(MAX_QUERY_LENGTH).optional(),
  sort: z.enum(TICKET_SORTS).optional(),
  order: z.enum(["asc", "desc"]).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(DEFAULT_LIMIT),
  cursor: z.string().min(1).max(1000).optional(),
};

export const TicketListQuery = z
  .object(TicketListParams)
  .strict()
  .refine((query) => query.sort !== "relevance" || query.q !== undefined, {
    message: "sorting by relevance needs a search (q)",
    path: ["sort"],
  });
type TicketListQuery = z.infer<typeof TicketListQuery>;

const TicketParam = z.object({ id: Id });

function fieldError(field: string, message: string): ApiError {
  return new ApiError(400, "VALIDATION_FAILED", "the request has invalid fields", { [field]: [message] });
}

/** The filter given by the query parameters (ANDed with the view's, if any). */
function filterFromQuery(query: TicketListQuery): ViewFilter {
  const filter: ViewFilter = {};
  if (query.status) filter.status = query.status;
  if (query.channel) filter.channel = query.channel;
  if (query.priority) filter.priority = query.priority;
  if (query.aiState) filter.aiState = query.aiState;
  if (query.assignee !== undefined) filter.assignee = query.assignee;
  if (query.team !== undefined) filter.teamId = query.team === "none" ? null : query.team;
  if (query.tag) filter.tagIds = query.tag;
  if (query.createdWithinHours !== undefined) filter.createdWithinHours = query.createdWithinHours;
  if (query.updatedWithinHours !== undefined) filter.updatedWithinHours = query.updatedWithinHours;
  return filter;
}

const VIEW_SORTS: Record<NonNullable<ViewFilter["sort"]>["field"], TicketSort> = {
  updated_at: "updated",
  created_at: "created",
  priority: "priority",
  last_message_at: "last_message",
};

/** Tickets (with customer and tags) by id, in the order of `ids`; ids not found are left out. */
async function loadTickets(db: ShardDb, accountId: string, ids: string[]): Promise<TicketDetail[]> {
  if (ids.length === 0) return [];
  const [rows, tagRows] = await db.batch([
    db
      .select({ ticket: tickets, customer: { id: customers.id, name: customers.name, email: customers.email } })
      .from(tickets)
      .innerJoin(customers, eq(customers.id, tickets.customerId))
      .where(and(eq(tickets.accountId, accountId), inArray(tickets.id, ids))),
    db
      .select({ ticketId: ticketTags.ticketId, id: tags.id, name: tags.name })
      .from(ticketTags)
      .innerJoin(tags, eq(tags.id, ticketTags.tagId))
      .where(and(eq(ticketTags.accountId, accountId), inArray(ticketTags.ticketId, ids)))
      .orderBy(asc(tags.name), asc(tags.id)),
  ]);
  const tagsOf = new Map<string, { id: string; name: string }[]>();
  for (const tag of tagRows) {
    const list = tagsOf.get(tag.ticketId) ?? [];
    list.push({ id: tag.id, name: tag.name });
    tagsOf.set(tag.ticketId, list);
  }
  const byId = new Map<string, TicketDetail>();
  for (const { ticket, customer } of rows) {
    byId.set(ticket.id, {
      id: ticket.id,
      subject: ticket.subject,
      status: ticket.status,
      priority: ticket.priority,
      channel: ticket.channel,
      assigneeId: ticket.assigneeId,
      teamId: ticket.teamId,
      customer,
      tags: tagsOf.get(ticket.id) ?? [],
      createdAt: ticket.createdAt,
      updatedAt: ticket.updatedAt,
      lastMessageAt: ticket.lastMessageAt,
      version: ticket.version,
      snoozedUntil: ticket.snoozedUntil,
      firstResponseAt: ticket.firstResponseAt,
      closedAt: ticket.closedAt,
      aiState: ticket.aiState,
    });
  }
  return ids.flatMap((id) => byId.get(id) ?? []);
}

function summary(detail: TicketDetail): TicketSummary {
  const { snoozedUntil: _s, firstResponseAt: _f, closedAt: _c, aiState: _a, ...rest } = detail;
  return rest;
}

// requireAgent per route, not `.use`: this sub-app shares /api/tickets with the write
// routes, and a `.use` here would run for their requests too.
export const ticketReadRoutes = new Hono<AuthedEnv>()
  .get("/", requireAgent, validateQuery(TicketListQuery), async (c) => {
    const { agentId, accountId } = c.var.agent;
    const query = c.req.valid("query");
    const shard = await accountShard(c.env, accountId);
    const now = Date.now();

    let sort: TicketSort | undefined = query.sort;
    let order: SortOrder | undefined = query.order;
    const conditions = [viewFilterCondition(filterFromQuery(query), agentId, accountId, now)];
    if (query.view !== undefined) {
      const view = await findVisibleView(shard.db, c.var.agent, query.view);
      if (!view) throw new ApiError(404, "NOT_FOUND", "view not found");
      const filter = parseStoredFilter(view.filter);
      conditions.push(viewFilterCondition(filter, agentId, accountId, now));
      if (sort === undefined && query.q === undefined && filter.sort) {
        sort = VIEW_SORTS[filter.sort.field];
        order ??= filter.sort.direction;
      }
    }

    let page;
    try {
      page = await queryTicketPage(shard.db, {
        accountId,
        where: and(...conditions),
        q: query.q,
        sort,
        order,
        limit: query.limit,
        cursor: query.cursor,
        cursorSecret: authSecret(c.env),
      });
    } catch (error) {
      if (error instanceof CursorError) throw fieldError("cursor", error.message);
      if (error instanceof SearchQueryError) throw fieldError("q", error.message);
      throw error;
    }
    const found = await loadTickets(shard.db, accountId, page.rows.map((row) => row.id));
    return c.json({ tickets: found.map(summary), nextCursor: page.nextCursor });
  })
  .get("/:id", requireAgent, validate("param", TicketParam), async (c) => {
    const { accountId } = c.var.agent;
    const { id } = c.req.valid("param");
    const shard = await accountShard(c.env, accountId);
    const [[ticket], thread] = await Promise.all([
      loadTickets(shard.db, accountId, [id]),
      shard.db
        .select()
        .from(messages)
        .where(and(eq(messages.accountId, accountId), eq(messages.ticketId, id)))
        .orderBy(asc(messages.seq), asc(messages.createdAt), asc(messages.id)),
    ]);
    // Another account's ticket is answered exactly like a missing one.
    if (!ticket) throw new ApiError(404, "NOT_FOUND", "ticket not found");
    const ordered: Message[] = thread;
    return c.json({ ticket, messages: ordered });
  });
