// The automation rules engine: a pure function the TicketRoom calls once per external event.
// No I/O, no clock, no randomness: everything (rules, ticket, time, last auto-reply) comes in,
// a plan comes out, and the room applies it as one change to the ticket.
//
// No-loop guarantee. Rules run in a single pass per external event: rule N sees the ticket as
// rules 1..N-1 left it, but changes made by rules never raise new events — neither inside the
// pass (a rule that assigns on `ticket_created` does not fire `ticket_assigned` rules) nor
// afterwards: the room applies the outcome without calling the engine again, and if it ever
// does call it for a rule-made change it passes `cause: "rule"`, for which the engine returns
// an empty outcome. The outcome is final: nothing in it needs a second pass.
import { z } from "zod";
import type {
  BusinessHours,
  MessageAuthorKind,
  Rule,
  RuleCondition,
  RuleEvent,
  TicketAction,
  TicketChannel,
  TicketPriority,
  TicketStatus,
} from "../../schema/tables.ts";
import { compilePattern, ruleActionsSchema, ruleConditionsSchema, TEMPLATE_PLACEHOLDER } from "./definition.ts";

/** Rules send a customer at most one auto-reply per this interval. */
export const AUTO_REPLY_INTERVAL_MS = 5 * 60_000;
/** A `matches` regex only sees this much of the text: bounds CPU spent in the room on a huge email. */
export const MAX_MATCH_INPUT = 10_000;

/** A stored rule row as loaded from the shard (validated again here: rows can be stale). */
export type StoredRule = Pick<Rule, "id" | "name" | "event" | "conditions" | "actions" | "position" | "enabled">;

export type RuleTicket = {
  id: string;
  channel: TicketChannel;
  subject: string;
  status: TicketStatus;
  priority: TicketPriority;
  assigneeId: string | null;
  teamId: string | null;
  tagIds: readonly string[];
  /** Current wake-up time of a snoozed ticket; absent = null. */
  snoozedUntil?: number | null;
  customer: { id: string; email: string | null; name: string | null };
};

export type RuleMessage = { body: string; authorKind: MessageAuthorKind };

/** "external": an agent, customer, API or timer did it. "rule": rules did it — never re-run on that. */
export type RuleCause = "external" | "rule";

export type RunRulesInput = {
  rules: readonly StoredRule[];
  event: RuleEvent;
  cause: RuleCause;
  ticket: RuleTicket;
  /** The message that triggered the event (message_received, usually ticket_created), else null. */
  message: RuleMessage | null;
  now: number;
  businessHours: BusinessHours;
  /** IANA zone the business hours are in, e.g. "Europe/Paris". */
  timeZone: string;
  /** When this customer last got an auto-reply (epoch ms), or null if never. */
  lastAutoReplyAt: number | null;
};

/** The net effect on the ticket, relative to the input ticket; absent fields are unchanged. */
export type RulePatch = {
  status?: TicketStatus;
  priority?: TicketPriority;
  assigneeId?: string | null;
  teamId?: string | null;
  addTagIds: string[];
  removeTagIds: string[];
  /** Set by snooze; cleared (null) when a later status change un-snoozes. */
  snoozedUntil?: number | null;
};

export type RuleOutcome = {
  /** Rules whose conditions held, in the order they ran. */
  matched: { ruleId: string; name: string }[];
  /** Every action that ran, in order (including the auto_reply that is sent). */
  changes: { ruleId: string; action: TicketAction }[];
  /** What `changes` amount to, folded into one ticket update. */
  patch: RulePatch;
  /** At most one reply, already rendered. */
  autoReply: { ruleId: string; body: string } | null;
  /** Actions of matched rules that were not carried out, and why (auto-reply throttling). */
  suppressed: { ruleId: string; action: TicketAction; reason: string }[];
  /** Stored rules that no longer validate or could not be evaluated; they did nothing. */
  skipped: { ruleId: string; reason: string }[];
};

function emptyOutcome(): RuleOutcome {
  return { matched: [], changes: [], patch: { addTagIds: [], removeTagIds: [] }, autoReply: null, suppressed: [], skipped: [] };
}

const storedRuleSchema = z.object({
  id: z.string(),
  name: z.string(),
  conditions: ruleConditionsSchema,
  actions: ruleActionsSchema,
});

/** The mutable part of the ticket while rules run. */
type Working = {
  status: TicketStatus;
  priority: TicketPriority;
  assigneeId: string | null;
  teamId: string | null;
  tagIds: string[];
  snoozedUntil: number | null;
};

export function runRules(input: RunRulesInput): RuleOutcome {
  const outcome = emptyOutcome();
  if (input.cause === "rule") return outcome; // see the no-loop guarantee above

  const { ticket } = input;
  const work: Working = {
    status: ticket.status,
    priority: ticket.priority,
    assigneeId: ticket.assigneeId,
    teamId: ticket.teamId,
    tagIds: [...ticket.tagIds],
    snoozedUntil: ticket.snoozedUntil ?? null,
  };
  let inside: boolean | undefined; // business hours, computed on first use
  const isInside = () => (inside ??= insideBusinessHours(input.businessHours, localClock(input.now, input.timeZone)));

  for (const rule of candidates(input.rules, input.event)) {
    const ruleId = String(rule.id);
    const parsed = storedRuleSchema.safeParse(rule);
    if (!parsed.success) {
      outcome.skipped.push({ ruleId, reason: z.prettifyError(parsed.error) });
      continue;
    }
    let matches: boolean;
    try {
      matches = parsed.data.conditions.every((c) => testCondition(c, { ticket, work, message: input.message, isInside }));
    } catch (error) {
      // Anything left that can fail at run time (a bad time zone or opening hours) skips the rule.
      outcome.skipped.push({ ruleId, reason: error instanceof Error ? error.message : String(error) });
      continue;
    }
    if (!matches) continue;
    outcome.matched.push({ ruleId, name: parsed.data.name });
    for (const action of parsed.data.actions) {
      if (action.type === "auto_reply") {
        const reason = autoReplyBlocked(input, outcome);
        if (reason) {
          outcome.suppressed.push({ ruleId, action, reason });
          continue;
        }
        outcome.autoReply = { ruleId, body: renderTemplate(action.body, ticket) };
      } else {
        apply(work, action, input.now);
      }
      outcome.changes.push({ ruleId, action });
    }
  }
  outcome.patch = diff(ticket, work);
  return outcome;
}

/** Enabled rules for this event, by position then id (ids break ties so the order is stable). */
function candidates(rules: readonly StoredRule[], event: RuleEvent): StoredRule[] {
  const pos = (r: StoredRule) => (Number.isFinite(r.position) ? r.position : 0);
  return rules
    .filter((r) => Boolean(r.enabled) && r.event === event)
    .sort((a, b) => pos(a) - pos(b) || (String(a.id) < String(b.id) ? -1 : String(a.id) > String(b.id) ? 1 : 0));
}

function autoReplyBlocked(input: RunRulesInput, outcome: RuleOutcome): string | null {
  if (outcome.autoReply) return "only one auto-reply per event";
  if (input.message && input.message.authorKind !== "customer") return "the triggering message is not from the customer";
  if (input.lastAutoReplyAt !== null && input.now - input.lastAutoReplyAt < AUTO_REPLY_INTERVAL_MS) {
    return "the customer got an auto-reply less than 5 minutes ago";
  }
  return null;
}

function apply(work: Working, action: Exclude<TicketAction, { type: "auto_reply" }>, now: number): void {
  switch (action.type) {
    case "set_status":
      work.status = action.status;
      if (action.status !== "snoozed") work.snoozedUntil = null;
      return;
    case "set_priority":
      work.priority = action.priority;
      return;
    case "assign_agent":
      work.assigneeId = action.agentId;
      return;
    case "assign_team":
      work.teamId = action.teamId;
      return;
    case "add_tag":
      if (!work.tagIds.includes(action.tagId)) work.tagIds.push(action.tagId);
      return;
    case "remove_tag":
      work.tagIds = work.tagIds.filter((t) => t !== action.tagId);
      return;
    case "snooze":
      work.status = "snoozed";
      work.snoozedUntil = now + Math.round(action.hours * 3_600_000);
      return;
    case "close":
      work.status = "closed";
      work.snoozedUntil = null;
      return;
  }
}

function diff(ticket: RuleTicket, work: Working): RulePatch {
  const before = new Set(ticket.tagIds);
  const after = new Set(work.tagIds);
  const patch: RulePatch = {
    addTagIds: work.tagIds.filter((t) => !before.has(t)),
    removeTagIds: ticket.tagIds.filter((t) => !after.has(t)),
  };
  if (work.status !== ticket.status) patch.status = work.status;
  if (work.priority !== ticket.priority) patch.priority = work.priority;
  if (work.assigneeId !== ticket.assigneeId) patch.assigneeId = work.assigneeId;
  if (work.teamId !== ticket.teamId) patch.teamId = work.teamId;
  if (work.snoozedUntil !== (ticket.snoozedUntil ?? null)) patch.snoozedUntil = work.snoozedUntil;
  return patch;
}

// ---------------------------------------------------------------------------------------
// Conditions

type ConditionContext = {
  ticket: RuleTicket;
  work: Working;
  message: RuleMessage | null;
  isInside: () => boolean;
};

function testCondition(c: RuleCondition, ctx: ConditionContext): boolean {
  if (c.field === "tag") {
    // Tag conditions are about tag ids (exact), as the ticket is now in this pass.
    const has = (id: string) => ctx.work.tagIds.includes(id);
    if (c.op === "in") return list(c.value).some(has);
    const hit = has(single(c.value));
    return c.op === "not_contains" ? !hit : hit;
  }
  if (c.field === "business_hours") {
    return ctx.isInside() === (single(c.value) === "inside");
  }
  const text = fieldText(c.field, ctx).toLowerCase();
  const norm = (v: string) => (c.field === "customer_email_domain" ? v.replace(/^@/, "") : v).toLowerCase();
  switch (c.op) {
    case "eq":
      return text === norm(single(c.value));
    case "neq":
      return text !== norm(single(c.value));
    case "contains":
      return text.includes(norm(single(c.value)));
    case "not_contains":
      return !text.includes(norm(single(c.value)));
    case "in":
      return list(c.value).some((v) => text === norm(v));
    case "matches":
      return compilePattern(single(c.value)).test(text.slice(0, MAX_MATCH_INPUT));
  }
}

function fieldText(field: Exclude<RuleCondition["field"], "tag" | "business_hours">, ctx: ConditionContext): string {
  switch (field) {
    case "channel":
      return ctx.ticket.channel;
    case "subject":
      return ctx.ticket.subject;
    case "body":
      return ctx.message?.body ?? "";
    case "customer_email":
      return ctx.ticket.customer.email ?? "";
    case "customer_email_domain": {
      const email = ctx.ticket.customer.email ?? "";
      const at = email.lastIndexOf("@");
      return at < 0 ? "" : email.slice(at + 1).trim();
    }
    case "priority":
      return ctx.work.priority;
    case "status":
      return ctx.work.status;
  }
}

// Validation guarantees the shape per op; these only narrow the union type.
const single = (v: string | string[]): string => (typeof v === "string" ? v : (v[0] ?? ""));
const list = (v: string | string[]): string[] => (typeof v === "string" ? [v] : v);

// ---------------------------------------------------------------------------------------
// Business hours

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** ISO weekday (1 = Monday) and minutes since local midnight at `now` in `timeZone`. */
export function localClock(now: number, timeZone: string): { weekday: number; minutes: number } {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat("en-US", {
      timeZone,
      weekday: "short",
      hour: "numeric",
      minute: "numeric",
      hourCycle: "h23",
    }).formatToParts(now);
  } catch {
    throw new Error(`unknown time zone "${timeZone}"`);
  }
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  const weekday = WEEKDAYS[part("weekday")];
  if (weekday === undefined) throw new Error(`cannot read the weekday in time zone "${timeZone}"`);
  return { weekday, minutes: (Number(part("hour")) % 24) * 60 + Number(part("minute")) };
}

/**
 * Whether the local clock falls in the opening hours. A day missing from the map is closed;
 * a map with no day at all means hours were never set up, treated as always open (so an
 * "outside business hours" auto-reply does not fire on every message of a new account).
 * close <= open means the day's hours run past midnight into the next morning.
 */
export function insideBusinessHours(hours: BusinessHours, clock: { weekday: number; minutes: number }): boolean {
  const days = Object.keys(hours) as (keyof BusinessHours)[];
  if (days.length === 0) return true;
  const today = span(hours, clock.weekday);
  if (today) {
    if (today.open < today.close ? clock.minutes >= today.open && clock.minutes < today.close : clock.minutes >= today.open) {
      return true;
    }
  }
  const yesterday = span(hours, clock.weekday === 1 ? 7 : clock.weekday - 1);
  return yesterday !== null && yesterday.close <= yesterday.open && clock.minutes < yesterday.close;
}

function span(hours: BusinessHours, weekday: number): { open: number; close: number } | null {
  const day = hours[String(weekday) as keyof BusinessHours];
  if (!day) return null;
  return { open: hhmm(day.open, weekday), close: hhmm(day.close, weekday) };
}

function hhmm(value: unknown, weekday: number): number {
  const m = typeof value === "string" ? /^(\d{1,2}):(\d{2})$/.exec(value) : null;
  const minutes = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  if (!m || Number(m[2]) > 59 || !(minutes <= 24 * 60)) {
    throw new Error(`business hours for weekday ${weekday} are not valid "HH:MM" times`);
  }
  return minutes;
}

// ---------------------------------------------------------------------------------------
// Templates

/**
 * Fills `{{customer.first_name}}`-style placeholders. Missing names fall back to "there"
 * ("Hi there"); unknown placeholders (only possible in a stale row) render as nothing rather
 * than showing braces to a customer. Exported for macros, which use the same variables.
 */
export function renderTemplate(
  template: string,
  ticket: Pick<RuleTicket, "id" | "subject"> & { customer: Pick<RuleTicket["customer"], "email" | "name"> },
  /** Variables only some callers know (macros: the agent, the customer's last order). */
  extra: Readonly<Record<string, string>> = {},
): string {
  const name = (ticket.customer.name ?? "").trim().replace(/\s+/g, " ");
  const values: Record<string, string> = {
    "customer.first_name": name.split(" ")[0] || "there",
    "customer.name": name || "there",
    "customer.email": ticket.customer.email ?? "",
    "ticket.id": ticket.id,
    "ticket.subject": ticket.subject,
    ...extra,
  };
  return template.replace(TEMPLATE_PLACEHOLDER, (_whole, key: string) => values[key] ?? "");
}
