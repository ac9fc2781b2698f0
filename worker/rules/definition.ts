// Automation rule definitions: the zod schemas admins' rules are validated with at the API
// boundary, and that the engine re-applies to stored rules (a row written by an older
// version, or edited by hand, must be skipped rather than crash the ticket's room).
import { z } from "zod";
import {
  RULE_EVENTS,
  TICKET_CHANNELS,
  TICKET_PRIORITIES,
  TICKET_STATUSES,
  type RuleCondition,
  type RuleConditionField,
  type RuleConditionOp,
  type TicketAction,
} from "../../schema/tables.ts";

export const RULE_CONDITION_FIELDS = [
  "channel",
  "subject",
  "body",
  "customer_email",
  "customer_email_domain",
  "tag",
  "priority",
  "status",
  "business_hours",
] as const satisfies readonly RuleConditionField[];

export const RULE_CONDITION_OPS = [
  "eq",
  "neq",
  "contains",
  "not_contains",
  "matches",
  "in",
] as const satisfies readonly RuleConditionOp[];

const TEXT_OPS = ["eq", "neq", "contains", "not_contains", "matches", "in"] as const;
const CHOICE_OPS = ["eq", "neq", "in"] as const;

/**
 * Which ops make sense for which field. Tags are a set of ids, so only membership ops;
 * fields with a fixed list of values get no substring/regex ops (they would be typos
 * waiting to happen); business hours is a yes/no question.
 */
export const OPS_BY_FIELD: { readonly [F in RuleConditionField]: readonly RuleConditionOp[] } = {
  channel: CHOICE_OPS,
  subject: TEXT_OPS,
  body: TEXT_OPS,
  customer_email: TEXT_OPS,
  customer_email_domain: TEXT_OPS,
  tag: ["contains", "not_contains", "in"],
  priority: CHOICE_OPS,
  status: CHOICE_OPS,
  business_hours: ["eq"],
};

/** Allowed values of the fields that have a fixed list (case-sensitive, as stored). */
const CHOICES: Partial<Record<RuleConditionField, readonly string[]>> = {
  channel: TICKET_CHANNELS,
  priority: TICKET_PRIORITIES,
  status: TICKET_STATUSES,
  business_hours: ["inside", "outside"],
};

/** Longest regex accepted: bounds compile time and (together with the input cap in the engine) backtracking. */
export const MAX_PATTERN_LENGTH = 200;
const MAX_VALUE_LENGTH = 500;
const MAX_IN_VALUES = 100;

/** The pattern compiled the one way both validation and the engine use (case-insensitive). */
export function compilePattern(pattern: string): RegExp {
  return new RegExp(pattern, "i");
}

export const ruleConditionSchema = z
  .strictObject({
    field: z.enum(RULE_CONDITION_FIELDS),
    op: z.enum(RULE_CONDITION_OPS),
    value: z.union([z.string(), z.array(z.string())]),
  })
  .superRefine((c, ctx) => {
    const issue = (message: string, path: (string | number)[] = ["value"]) =>
      ctx.addIssue({ code: "custom", message, path });
    if (!OPS_BY_FIELD[c.field].includes(c.op)) {
      issue(`op "${c.op}" is not allowed on field "${c.field}" (allowed: ${OPS_BY_FIELD[c.field].join(", ")})`, ["op"]);
      return;
    }
    const values = typeof c.value === "string" ? [c.value] : c.value;
    if (c.op === "in") {
      if (typeof c.value === "string") return issue(`op "in" takes a list of values`);
      if (c.value.length === 0) return issue(`op "in" needs at least one value`);
      if (c.value.length > MAX_IN_VALUES) return issue(`op "in" takes at most ${MAX_IN_VALUES} values`);
    } else if (typeof c.value !== "string") {
      return issue(`op "${c.op}" takes a single value, not a list`);
    }
    for (const v of values) {
      if (v.trim() === "") return issue("value must not be empty");
      if (v.length > MAX_VALUE_LENGTH) return issue(`value must be at most ${MAX_VALUE_LENGTH} characters`);
    }
    const choices = CHOICES[c.field];
    if (choices) {
      const bad = values.find((v) => !choices.includes(v));
      if (bad !== undefined) return issue(`"${bad}" is not a valid ${c.field} (expected one of: ${choices.join(", ")})`);
    }
    if (c.op === "matches" && typeof c.value === "string") {
      if (c.value.length > MAX_PATTERN_LENGTH) return issue(`pattern must be at most ${MAX_PATTERN_LENGTH} characters`);
      try {
        compilePattern(c.value);
      } catch (error) {
        issue(`invalid regular expression: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }) satisfies z.ZodType<RuleCondition>;

/** Template variables an auto-reply may use, e.g. `{{customer.first_name}}` or `{{ ticket.subject }}`. */
export const TEMPLATE_VARIABLES = [
  "customer.first_name",
  "customer.name",
  "customer.email",
  "ticket.id",
  "ticket.subject",
] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

/** Matches one `{{ name }}` placeholder; shared with the renderer so both agree on syntax. */
export const TEMPLATE_PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

const MAX_REPLY_LENGTH = 5_000;
/** A year: longer is surely a typo (and would overflow nothing, but mean nothing either). */
const MAX_SNOOZE_HOURS = 24 * 365;

const id = (what: string) => z.string().trim().min(1, `${what} must not be empty`);

export const ticketActionSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("set_status"),
    // Snoozing needs a wake-up time, which only the snooze action carries.
    status: z.enum(TICKET_STATUSES).refine((s) => s !== "snoozed", 'use the "snooze" action (with hours) to snooze a ticket'),
  }),
  z.strictObject({ type: z.literal("set_priority"), priority: z.enum(TICKET_PRIORITIES) }),
  z.strictObject({ type: z.literal("assign_agent"), agentId: id("agentId").nullable() }),
  z.strictObject({ type: z.literal("assign_team"), teamId: id("teamId").nullable() }),
  z.strictObject({ type: z.literal("add_tag"), tagId: id("tagId") }),
  z.strictObject({ type: z.literal("remove_tag"), tagId: id("tagId") }),
  z.strictObject({
    type: z.literal("snooze"),
    hours: z.number().positive("hours must be more than 0").max(MAX_SNOOZE_HOURS, `hours must be at most ${MAX_SNOOZE_HOURS}`),
  }),
  z.strictObject({ type: z.literal("close") }),
  z.strictObject({
    type: z.literal("auto_reply"),
    body: z
      .string()
      .max(MAX_REPLY_LENGTH, `body must be at most ${MAX_REPLY_LENGTH} characters`)
      .refine((b) => b.trim() !== "", "body must not be empty")
      .superRefine((body, ctx) => {
        for (const [, name] of body.matchAll(TEMPLATE_PLACEHOLDER)) {
          if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name ?? "")) {
            ctx.addIssue({
              code: "custom",
              message: `unknown template variable "{{${name}}}" (known: ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(", ")})`,
            });
          }
        }
      }),
  }),
]) satisfies z.ZodType<TicketAction>;

export const MAX_CONDITIONS = 20;
export const MAX_ACTIONS = 20;

export const ruleConditionsSchema = z
  .array(ruleConditionSchema)
  .max(MAX_CONDITIONS, `a rule has at most ${MAX_CONDITIONS} conditions`);
export const ruleActionsSchema = z
  .array(ticketActionSchema)
  .min(1, "a rule needs at least one action")
  .max(MAX_ACTIONS, `a rule has at most ${MAX_ACTIONS} actions`);

/** What an admin sends to create or replace a rule. No conditions = the rule always matches its event. */
export const RuleInput = z.strictObject({
  name: z.string().trim().min(1, "name must not be empty").max(120, "name must be at most 120 characters"),
  event: z.enum(RULE_EVENTS),
  conditions: ruleConditionsSchema,
  actions: ruleActionsSchema,
  position: z.number().int().min(0).max(1_000_000).default(0),
  enabled: z.boolean().default(true),
});
export type RuleInput = z.output<typeof RuleInput>;
