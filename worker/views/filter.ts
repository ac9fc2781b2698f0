import { and, eq, gte, inArray, isNull, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import {
  AI_STATES,
  TICKET_CHANNELS,
  TICKET_PRIORITIES,
  TICKET_STATUSES,
  ticketTags,
  tickets,
  type Ticket,
  type ViewFilter,
} from "../../schema/tables.ts";

// A view's filter, two ways that must always agree:
// - `viewFilterCondition`: a drizzle condition on `tickets` for lists and counts on the shard;
// - `ticketMatchesFilter`: the same test on one ticket in memory, for live view counts (a
//   ticket changed: does it now enter or leave the view?).
// Both are pure functions of (filter, viewing agent, account, now). "me" is the viewing agent;
// the time windows ("created within 24 h") are relative to `now`, so a count kept live by
// events drifts as tickets age out of a window and needs a periodic recount.

const HOUR_MS = 3_600_000;
/** Longest time window a filter may use: one (leap) year. */
export const MAX_WINDOW_HOURS = 24 * 366;

const Id = z.string().trim().min(1).max(64);
const WindowHours = z.number().int().min(1).max(MAX_WINDOW_HOURS);

/** Filter criteria, validated (every view written through the API, and every list query). */
export const ViewFilterInput = z
  .object({
    status: z.array(z.enum(TICKET_STATUSES)).min(1).max(TICKET_STATUSES.length).optional(),
    priority: z.array(z.enum(TICKET_PRIORITIES)).min(1).max(TICKET_PRIORITIES.length).optional(),
    channel: z.array(z.enum(TICKET_CHANNELS)).min(1).max(TICKET_CHANNELS.length).optional(),
    /** "me" (the viewing agent), "unassigned", or an agent id. */
    assignee: z.union([z.literal("me"), z.literal("unassigned"), Id]).optional(),
    /** A team id, or null for tickets without a team. */
    teamId: Id.nullable().optional(),
    /** Any of these tags. */
    tagIds: z.array(Id).min(1).max(50).optional(),
    aiState: z.array(z.enum(AI_STATES)).min(1).max(AI_STATES.length).optional(),
    createdWithinHours: WindowHours.optional(),
    updatedWithinHours: WindowHours.optional(),
    sort: z
      .object({
        field: z.enum(["updated_at", "created_at", "priority", "last_message_at"]),
        direction: z.enum(["asc", "desc"]),
      })
      .strict()
      .optional(),
  })
  .strict();

// The parsed shape must be storable as the `views.filter` column type, and vice versa.
type ParsedFilter = z.infer<typeof ViewFilterInput>;
type Assignable<A extends B, B> = A;
export type ViewFilterParsed = Assignable<ParsedFilter, ViewFilter>;

/** The ticket fields a filter looks at. */
export type FilterableTicket = Pick<
  Ticket,
  "status" | "priority" | "channel" | "assigneeId" | "teamId" | "aiState" | "createdAt" | "updatedAt"
>;

/**
 * The filter as a condition on the `tickets` table, scoped to `accountId`. `agentId` is
 * the agent looking at the view ("me"); `now` anchors the time windows.
 */
export function viewFilterCondition(filter: ViewFilter, agentId: string, accountId: string, now: number = Date.now()): SQL {
  const conditions: SQL[] = [eq(tickets.accountId, accountId)];
  if (filter.status) conditions.push(inArray(tickets.status, filter.status));
  if (filter.priority) conditions.push(inArray(tickets.priority, filter.priority));
  if (filter.channel) conditions.push(inArray(tickets.channel, filter.channel));
  if (filter.aiState) conditions.push(inArray(tickets.aiState, filter.aiState));
  if (filter.assignee !== undefined) {
    if (filter.assignee === "unassigned") conditions.push(isNull(tickets.assigneeId));
    else conditions.push(eq(tickets.assigneeId, filter.assignee === "me" ? agentId : filter.assignee));
  }
  if (filter.teamId !== undefined) {
    conditions.push(filter.teamId === null ? isNull(tickets.teamId) : eq(tickets.teamId, filter.teamId));
  }
  if (filter.tagIds) {
    conditions.push(
      sql`exists (select 1 from ${ticketTags} where ${ticketTags.ticketId} = ${tickets.id} and ${ticketTags.accountId} = ${accountId} and ${inArray(ticketTags.tagId, filter.tagIds)})`,
    );
  }
  if (filter.createdWithinHours !== undefined) {
    conditions.push(gte(tickets.createdAt, now - filter.createdWithinHours * HOUR_MS));
  }
  if (filter.updatedWithinHours !== undefined) {
    conditions.push(gte(tickets.updatedAt, now - filter.updatedWithinHours * HOUR_MS));
  }
  return and(...conditions)!;
}

/**
 * The same test as `viewFilterCondition` on one ticket of the account (the caller has
 * already scoped it): `tagIds` are the ticket's tags, `agentId` the viewing agent.
 */
export function ticketMatchesFilter(
  filter: ViewFilter,
  ticket: FilterableTicket,
  tagIds: readonly string[],
  agentId: string,
  now: number = Date.now(),
): boolean {
  if (filter.status && !filter.status.includes(ticket.status)) return false;
  if (filter.priority && !filter.priority.includes(ticket.priority)) return false;
  if (filter.channel && !filter.channel.includes(ticket.channel)) return false;
  if (filter.aiState && !filter.aiState.includes(ticket.aiState)) return false;
  if (filter.assignee !== undefined) {
    if (filter.assignee === "unassigned") {
      if (ticket.assigneeId !== null) return false;
    } else if (ticket.assigneeId !== (filter.assignee === "me" ? agentId : filter.assignee)) {
      return false;
    }
  }
  if (filter.teamId !== undefined && ticket.teamId !== filter.teamId) return false;
  if (filter.tagIds && !filter.tagIds.some((tagId) => tagIds.includes(tagId))) return false;
  if (filter.createdWithinHours !== undefined && ticket.createdAt < now - filter.createdWithinHours * HOUR_MS) return false;
  if (filter.updatedWithinHours !== undefined && ticket.updatedAt < now - filter.updatedWithinHours * HOUR_MS) return false;
  return true;
}
