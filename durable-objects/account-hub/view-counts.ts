import { viewCountKey } from "../../protocol/index.ts";
import type { ViewFilter } from "../../schema/tables.ts";
import { ticketMatchesFilter, type FilterableTicket } from "../../worker/views/filter.ts";

// View counts as the hub keeps them: which count keys a ticket adds one to, and how the
// counts move when a ticket changes. Pure functions over the same filter test the shard's
// list queries use (worker/views/filter.ts), so a live count and a COUNT(*) on the shard
// agree by construction.
//
// A view whose filter says "assigned to me" is counted per agent (key `view@agent`); every
// other view has one count (key `view`), a private view included (it has one viewer).

const HOUR_MS = 3_600_000;

export interface CountedView {
  id: string;
  name: string;
  position: number;
  filter: ViewFilter;
  /** null for a shared view. */
  ownerAgentId: string | null;
}

export interface CountedTicket extends FilterableTicket {
  tagIds: readonly string[];
}

export function isPerAgent(view: Pick<CountedView, "filter">): boolean {
  return view.filter.assignee === "me";
}

/** The count keys this ticket adds one to, at `now`. */
export function countKeysOf(views: readonly CountedView[], ticket: CountedTicket, now: number): string[] {
  const keys: string[] = [];
  for (const view of views) {
    if (isPerAgent(view)) {
      // Only its assignee can see it under "assigned to me" (and a private view's owner only).
      const agentId = ticket.assigneeId;
      if (agentId === null || (view.ownerAgentId !== null && view.ownerAgentId !== agentId)) continue;
      if (ticketMatchesFilter(view.filter, ticket, ticket.tagIds, agentId, now)) keys.push(viewCountKey(view.id, true, agentId));
    } else if (ticketMatchesFilter(view.filter, ticket, ticket.tagIds, view.ownerAgentId ?? "", now)) {
      keys.push(view.id);
    }
  }
  return keys;
}

/** How each count moves when a ticket goes from `before` to `after` (null: not counted / absent). */
export function countDelta(
  views: readonly CountedView[],
  before: CountedTicket | null,
  after: CountedTicket | null,
  now: number,
): Map<string, number> {
  const delta = new Map<string, number>();
  const add = (key: string, by: number) => {
    const next = (delta.get(key) ?? 0) + by;
    if (next === 0) delta.delete(key);
    else delta.set(key, next);
  };
  if (before) for (const key of countKeysOf(views, before, now)) add(key, -1);
  if (after) for (const key of countKeysOf(views, after, now)) add(key, 1);
  return delta;
}

/** Every count from scratch, over every ticket of the account. */
export function countAll(views: readonly CountedView[], tickets: Iterable<CountedTicket>, now: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const ticket of tickets) {
    for (const key of countKeysOf(views, ticket, now)) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/**
 * When this ticket first leaves a view with a time window ("created within 24 h") that it
 * counts in now: the counts must be recomputed then, with no ticket changing. Null when it
 * counts in no windowed view.
 */
export function windowExpiry(views: readonly CountedView[], ticket: CountedTicket, now: number): number | null {
  let earliest: number | null = null;
  for (const view of views) {
    const { createdWithinHours, updatedWithinHours } = view.filter;
    if (createdWithinHours === undefined && updatedWithinHours === undefined) continue;
    if (countKeysOf([view], ticket, now).length === 0) continue;
    const ends = [
      createdWithinHours === undefined ? Infinity : ticket.createdAt + createdWithinHours * HOUR_MS,
      updatedWithinHours === undefined ? Infinity : ticket.updatedAt + updatedWithinHours * HOUR_MS,
    ];
    // The filter keeps tickets at exactly the window's edge (>=); one millisecond later they leave.
    const leaves = Math.min(...ends) + 1;
    if (earliest === null || leaves < earliest) earliest = leaves;
  }
  return earliest;
}

/**
 * Whether any of these views can count a closed ticket. When none can, a closed ticket is
 * kept in the hub's index only compactly (its version and routing columns, no details):
 * most of an account's tickets are closed, and no count needs them.
 */
export function viewsCountClosed(views: readonly CountedView[]): boolean {
  return views.some((view) => view.filter.status === undefined || view.filter.status.includes("closed"));
}

/** What the hub's index keeps of a ticket for counting, at `now`. */
export interface CountEntry {
  /** The count keys it adds one to. */
  keys: string[];
  /** When it next leaves a time-windowed view (null: never, with no ticket change). */
  windowExit: number | null;
  /** False: a closed ticket no view can count; its details need not be kept. */
  keepDetails: boolean;
}

export function countEntry(views: readonly CountedView[], ticket: CountedTicket, now: number): CountEntry {
  if (ticket.status === "closed" && !viewsCountClosed(views)) return { keys: [], windowExit: null, keepDetails: false };
  return { keys: countKeysOf(views, ticket, now), windowExit: windowExpiry(views, ticket, now), keepDetails: true };
}

/** Adds to `delta` how counts move when a ticket's keys go from `before` to `after`. */
export function addKeysDelta(delta: Map<string, number>, before: readonly string[], after: readonly string[]): void {
  const add = (key: string, by: number) => {
    const next = (delta.get(key) ?? 0) + by;
    if (next === 0) delta.delete(key);
    else delta.set(key, next);
  };
  for (const key of before) add(key, -1);
  for (const key of after) add(key, 1);
}
