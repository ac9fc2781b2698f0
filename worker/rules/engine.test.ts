import { describe, expect, it } from "vitest";
import type { BusinessHours, RuleCondition, TicketAction } from "../../schema/tables.ts";
import {
  AUTO_REPLY_INTERVAL_MS,
  MAX_MATCH_INPUT,
  insideBusinessHours,
  localClock,
  renderTemplate,
  runRules,
  type RuleOutcome,
  type RuleTicket,
  type RunRulesInput,
  type StoredRule,
} from "./engine.ts";

// Monday 15 January 2024, 12:00 UTC.
const NOW = Date.UTC(2024, 0, 15, 12, 0);
const MARK: TicketAction = { type: "add_tag", tagId: "tag_mark" };

const TICKET: RuleTicket = {
  id: "tkt_1",
  channel: "email",
  subject: "Where is my Order #1001?",
  status: "open",
  priority: "normal",
  assigneeId: null,
  teamId: null,
  tagIds: ["tag_existing"],
  customer: { id: "cus_1", email: "Jane.Doe@Example.COM", name: "Jane Doe" },
};

let counter = 0;
function rule(over: Partial<StoredRule> & Pick<StoredRule, "actions">): StoredRule {
  counter += 1;
  return {
    id: `rule_${String(counter).padStart(3, "0")}`,
    name: `Rule ${counter}`,
    event: "message_received",
    conditions: [],
    position: 0,
    enabled: true,
    ...over,
  };
}

function run(over: Partial<RunRulesInput> = {}): RuleOutcome {
  return runRules({
    rules: [],
    event: "message_received",
    cause: "external",
    ticket: TICKET,
    message: { body: "Hello, I was CHARGED twice for my order", authorKind: "customer" },
    now: NOW,
    businessHours: {},
    timeZone: "UTC",
    lastAutoReplyAt: null,
    ...over,
  });
}

/** Does a single rule with these conditions match? */
function fires(conditions: RuleCondition[], over: Partial<RunRulesInput> = {}): boolean {
  const outcome = run({ rules: [rule({ conditions, actions: [MARK] })], ...over });
  expect(outcome.skipped).toEqual([]);
  return outcome.matched.length === 1;
}
const cond = (field: RuleCondition["field"], op: RuleCondition["op"], value: string | string[]): RuleCondition => ({
  field,
  op,
  value,
});

describe("conditions", () => {
  it("channel: eq, neq, in", () => {
    expect(fires([cond("channel", "eq", "email")])).toBe(true);
    expect(fires([cond("channel", "eq", "chat")])).toBe(false);
    expect(fires([cond("channel", "neq", "chat")])).toBe(true);
    expect(fires([cond("channel", "neq", "email")])).toBe(false);
    expect(fires([cond("channel", "in", ["sms", "email"])])).toBe(true);
    expect(fires([cond("channel", "in", ["sms", "chat"])])).toBe(false);
  });

  it("subject: every op, case-insensitive", () => {
    expect(fires([cond("subject", "eq", "where is my order #1001?")])).toBe(true);
    expect(fires([cond("subject", "eq", "where is my order")])).toBe(false);
    expect(fires([cond("subject", "neq", "WHERE IS MY ORDER #1001?")])).toBe(false);
    expect(fires([cond("subject", "neq", "something else")])).toBe(true);
    expect(fires([cond("subject", "contains", "ORDER #10")])).toBe(true);
    expect(fires([cond("subject", "contains", "refund")])).toBe(false);
    expect(fires([cond("subject", "not_contains", "refund")])).toBe(true);
    expect(fires([cond("subject", "not_contains", "order")])).toBe(false);
    expect(fires([cond("subject", "matches", "order #\\d{4}")])).toBe(true);
    expect(fires([cond("subject", "matches", "^ORDER")])).toBe(false);
    expect(fires([cond("subject", "in", ["hi", "Where is my order #1001?"])])).toBe(true);
    expect(fires([cond("subject", "in", ["hi", "hello"])])).toBe(false);
  });

  it("body: the triggering message, empty when there is none", () => {
    expect(fires([cond("body", "contains", "charged twice")])).toBe(true);
    expect(fires([cond("body", "matches", "charged\\s+twice")])).toBe(true);
    expect(fires([cond("body", "not_contains", "charged twice")])).toBe(false);
    expect(fires([cond("body", "contains", "charged twice")], { message: null })).toBe(false);
    expect(fires([cond("body", "not_contains", "charged twice")], { message: null })).toBe(true);
    // The subject is not the body.
    expect(fires([cond("body", "contains", "#1001")])).toBe(false);
  });

  it("matches only looks at the first MAX_MATCH_INPUT characters", () => {
    const body = `${"x".repeat(MAX_MATCH_INPUT)}needle`;
    expect(fires([cond("body", "matches", "needle")], { message: { body, authorKind: "customer" } })).toBe(false);
    expect(fires([cond("body", "contains", "needle")], { message: { body, authorKind: "customer" } })).toBe(true);
  });

  it("customer_email and customer_email_domain", () => {
    expect(fires([cond("customer_email", "eq", "jane.doe@example.com")])).toBe(true);
    expect(fires([cond("customer_email", "contains", "@example.")])).toBe(true);
    expect(fires([cond("customer_email_domain", "eq", "example.com")])).toBe(true);
    expect(fires([cond("customer_email_domain", "eq", "@EXAMPLE.com")])).toBe(true);
    expect(fires([cond("customer_email_domain", "eq", "mail.example.com")])).toBe(false);
    expect(fires([cond("customer_email_domain", "neq", "example.com")])).toBe(false);
    expect(fires([cond("customer_email_domain", "in", ["gmail.com", "example.com"])])).toBe(true);
    expect(fires([cond("customer_email_domain", "matches", "\\.com$")])).toBe(true);
    expect(fires([cond("customer_email_domain", "not_contains", "example")])).toBe(false);
    const noEmail = { ticket: { ...TICKET, customer: { ...TICKET.customer, email: null } } };
    expect(fires([cond("customer_email_domain", "eq", "example.com")], noEmail)).toBe(false);
    expect(fires([cond("customer_email_domain", "neq", "example.com")], noEmail)).toBe(true);
  });

  it("tag: contains / not_contains / in check tag ids", () => {
    expect(fires([cond("tag", "contains", "tag_existing")])).toBe(true);
    expect(fires([cond("tag", "contains", "tag_other")])).toBe(false);
    expect(fires([cond("tag", "not_contains", "tag_existing")])).toBe(false);
    expect(fires([cond("tag", "not_contains", "tag_other")])).toBe(true);
    expect(fires([cond("tag", "in", ["tag_other", "tag_existing"])])).toBe(true);
    expect(fires([cond("tag", "in", ["tag_other", "tag_more"])])).toBe(false);
  });

  it("priority and status: eq, neq, in", () => {
    expect(fires([cond("priority", "eq", "normal")])).toBe(true);
    expect(fires([cond("priority", "eq", "high")])).toBe(false);
    expect(fires([cond("priority", "neq", "normal")])).toBe(false);
    expect(fires([cond("priority", "in", ["high", "urgent"])])).toBe(false);
    expect(fires([cond("priority", "in", ["normal", "urgent"])])).toBe(true);
    expect(fires([cond("status", "eq", "open")])).toBe(true);
    expect(fires([cond("status", "neq", "open")])).toBe(false);
    expect(fires([cond("status", "in", ["pending", "closed"])])).toBe(false);
    expect(fires([cond("status", "eq", "closed")], { ticket: { ...TICKET, status: "closed" } })).toBe(true);
  });

  it("conditions are AND-ed; no conditions always matches", () => {
    expect(fires([cond("channel", "eq", "email"), cond("priority", "eq", "normal")])).toBe(true);
    expect(fires([cond("channel", "eq", "email"), cond("priority", "eq", "high")])).toBe(false);
    expect(fires([cond("channel", "eq", "chat"), cond("priority", "eq", "normal")])).toBe(false);
    expect(fires([])).toBe(true);
  });
});

describe("business hours", () => {
  const weekdays = (open: string, close: string): BusinessHours =>
    Object.fromEntries((["1", "2", "3", "4", "5"] as const).map((d) => [d, { open, close }]));
  const nineToFive = weekdays("09:00", "17:00");
  const inside = (now: number, timeZone: string, businessHours: BusinessHours = nineToFive) =>
    fires([cond("business_hours", "eq", "inside")], { now, timeZone, businessHours });
  const outside = (now: number, timeZone: string, businessHours: BusinessHours = nineToFive) =>
    fires([cond("business_hours", "eq", "outside")], { now, timeZone, businessHours });

  it("reads the local time of the account's time zone", () => {
    // Monday 14:30 UTC = 09:30 in New York (EST, UTC-5): open. 13:30 UTC = 08:30: closed.
    expect(inside(Date.UTC(2024, 0, 15, 14, 30), "America/New_York")).toBe(true);
    expect(outside(Date.UTC(2024, 0, 15, 14, 30), "America/New_York")).toBe(false);
    expect(inside(Date.UTC(2024, 0, 15, 13, 30), "America/New_York")).toBe(false);
    expect(outside(Date.UTC(2024, 0, 15, 13, 30), "America/New_York")).toBe(true);
    // Same instant, read in UTC: 13:30 is open.
    expect(inside(Date.UTC(2024, 0, 15, 13, 30), "UTC")).toBe(true);
  });

  it("follows daylight saving time", () => {
    // July: New York is UTC-4, so 13:30 UTC is 09:30 local.
    expect(inside(Date.UTC(2024, 6, 15, 13, 30), "America/New_York")).toBe(true);
    expect(inside(Date.UTC(2024, 6, 15, 12, 30), "America/New_York")).toBe(false);
  });

  it("uses the local weekday: a weekend in the zone is closed even when UTC says weekday", () => {
    const allWeekday = weekdays("00:00", "24:00");
    // Monday 03:00 UTC is Sunday 22:00 in New York.
    expect(inside(Date.UTC(2024, 0, 15, 3, 0), "UTC", allWeekday)).toBe(true);
    expect(inside(Date.UTC(2024, 0, 15, 3, 0), "America/New_York", allWeekday)).toBe(false);
    expect(outside(Date.UTC(2024, 0, 15, 3, 0), "America/New_York", allWeekday)).toBe(true);
    // Friday 19:00 UTC is Saturday 04:00 in Tokyo.
    expect(inside(Date.UTC(2024, 0, 19, 19, 0), "Asia/Tokyo", allWeekday)).toBe(false);
    // Monday 00:30 UTC is Monday 09:30 in Tokyo: open there, closed by UTC's clock.
    expect(inside(Date.UTC(2024, 0, 22, 0, 30), "Asia/Tokyo")).toBe(true);
    expect(inside(Date.UTC(2024, 0, 22, 0, 30), "UTC")).toBe(false);
  });

  it("Saturday and Sunday are closed when only weekdays have hours", () => {
    expect(outside(Date.UTC(2024, 0, 20, 12, 0), "Europe/Paris")).toBe(true);
    expect(outside(Date.UTC(2024, 0, 21, 12, 0), "Europe/Paris")).toBe(true);
    expect(outside(Date.UTC(2024, 0, 22, 12, 0), "Europe/Paris")).toBe(false);
  });

  it("the close time is exclusive, the open time inclusive", () => {
    expect(inside(Date.UTC(2024, 0, 15, 9, 0), "UTC")).toBe(true);
    expect(inside(Date.UTC(2024, 0, 15, 8, 59), "UTC")).toBe(false);
    expect(inside(Date.UTC(2024, 0, 15, 17, 0), "UTC")).toBe(false);
    expect(inside(Date.UTC(2024, 0, 15, 16, 59), "UTC")).toBe(true);
  });

  it("no hours configured at all counts as always open", () => {
    expect(inside(Date.UTC(2024, 0, 20, 3, 0), "UTC", {})).toBe(true);
  });

  it("hours that run past midnight continue into the next morning", () => {
    const late: BusinessHours = { "5": { open: "22:00", close: "02:00" } };
    expect(insideBusinessHours(late, { weekday: 5, minutes: 23 * 60 })).toBe(true);
    expect(insideBusinessHours(late, { weekday: 6, minutes: 60 })).toBe(true);
    expect(insideBusinessHours(late, { weekday: 6, minutes: 3 * 60 })).toBe(false);
    expect(insideBusinessHours(late, { weekday: 5, minutes: 60 })).toBe(false);
    // Sunday's late shift carries over into Monday.
    expect(insideBusinessHours({ "7": { open: "20:00", close: "01:00" } }, { weekday: 1, minutes: 30 })).toBe(true);
  });

  it("localClock gives ISO weekday and minutes, midnight as 0", () => {
    expect(localClock(Date.UTC(2024, 0, 21, 0, 5), "UTC")).toEqual({ weekday: 7, minutes: 5 });
    expect(localClock(Date.UTC(2024, 0, 15, 23, 0), "Europe/Paris")).toEqual({ weekday: 2, minutes: 0 });
  });
});

describe("ordering and chaining", () => {
  it("runs rules by position then id, whatever order they come in", () => {
    const a = rule({ id: "rule_b", position: 1, actions: [{ type: "add_tag", tagId: "tag_b" }] });
    const b = rule({ id: "rule_a", position: 1, actions: [{ type: "add_tag", tagId: "tag_a" }] });
    const c = rule({ id: "rule_z", position: 0, actions: [{ type: "add_tag", tagId: "tag_z" }] });
    const outcome = run({ rules: [a, b, c] });
    expect(outcome.matched.map((m) => m.ruleId)).toEqual(["rule_z", "rule_a", "rule_b"]);
    expect(outcome.changes.map((ch) => ch.ruleId)).toEqual(["rule_z", "rule_a", "rule_b"]);
    expect(outcome.patch.addTagIds).toEqual(["tag_z", "tag_a", "tag_b"]);
  });

  it("later rules see the ticket as earlier rules left it", () => {
    const addVip = rule({ name: "VIP domain", position: 0, conditions: [cond("customer_email_domain", "eq", "example.com")], actions: [{ type: "add_tag", tagId: "tag_vip" }] });
    const vipUrgent = rule({ name: "VIPs are urgent", position: 1, conditions: [cond("tag", "contains", "tag_vip")], actions: [{ type: "set_priority", priority: "urgent" }] });
    const urgentToTeam = rule({ position: 2, conditions: [cond("priority", "eq", "urgent")], actions: [{ type: "assign_team", teamId: "team_escalations" }] });
    const outcome = run({ rules: [urgentToTeam, vipUrgent, addVip] });
    expect(outcome.matched).toEqual([
      { ruleId: addVip.id, name: "VIP domain" },
      { ruleId: vipUrgent.id, name: "VIPs are urgent" },
      { ruleId: urgentToTeam.id, name: urgentToTeam.name },
    ]);
    expect(outcome.patch).toEqual({ addTagIds: ["tag_vip"], removeTagIds: [], priority: "urgent", teamId: "team_escalations" });

    // Earlier rules do not see later changes: with the order reversed only the tag is added.
    const reversed = run({ rules: [{ ...addVip, position: 5 }, vipUrgent] });
    expect(reversed.matched.map((m) => m.ruleId)).toEqual([addVip.id]);
    expect(reversed.patch).toEqual({ addTagIds: ["tag_vip"], removeTagIds: [] });
  });

  it("a tag removed by an earlier rule is gone for later ones", () => {
    const remove = rule({ position: 0, actions: [{ type: "remove_tag", tagId: "tag_existing" }] });
    const check = rule({ position: 1, conditions: [cond("tag", "not_contains", "tag_existing")], actions: [MARK] });
    const outcome = run({ rules: [check, remove] });
    expect(outcome.matched.map((m) => m.ruleId)).toEqual([remove.id, check.id]);
    expect(outcome.patch).toEqual({ addTagIds: ["tag_mark"], removeTagIds: ["tag_existing"] });
  });

  it("a status set by an earlier rule is seen by later ones", () => {
    const pend = rule({ position: 0, actions: [{ type: "set_status", status: "pending" }] });
    const check = rule({ position: 1, conditions: [cond("status", "eq", "pending")], actions: [MARK] });
    expect(run({ rules: [check, pend] }).matched).toHaveLength(2);
  });

  it("only enabled rules of this event run", () => {
    const other = rule({ event: "ticket_created", actions: [MARK] });
    const off = rule({ enabled: false, actions: [MARK] });
    const on = rule({ actions: [{ type: "set_priority", priority: "high" }] });
    const outcome = run({ rules: [other, off, on] });
    expect(outcome.matched.map((m) => m.ruleId)).toEqual([on.id]);
    expect(outcome.patch).toEqual({ addTagIds: [], removeTagIds: [], priority: "high" });
    expect(run({ rules: [other, off, on], event: "ticket_created" }).matched.map((m) => m.ruleId)).toEqual([other.id]);
  });
});

describe("patch", () => {
  it("snooze sets status and wake-up time", () => {
    const outcome = run({ rules: [rule({ actions: [{ type: "snooze", hours: 2 }] })] });
    expect(outcome.patch).toEqual({ addTagIds: [], removeTagIds: [], status: "snoozed", snoozedUntil: NOW + 2 * 3_600_000 });
  });

  it("close closes and clears a snooze", () => {
    const snoozed = { ...TICKET, status: "snoozed" as const, snoozedUntil: NOW + 1_000 };
    const outcome = run({ ticket: snoozed, rules: [rule({ actions: [{ type: "close" }] })] });
    expect(outcome.patch).toEqual({ addTagIds: [], removeTagIds: [], status: "closed", snoozedUntil: null });
    expect(outcome.changes).toEqual([{ ruleId: expect.any(String), action: { type: "close" } }]);
  });

  it("is the net effect: snooze then reopen leaves the ticket as it was", () => {
    const snoozeThenOpen = rule({ actions: [{ type: "snooze", hours: 1 }, { type: "set_status", status: "open" }] });
    const outcome = run({ rules: [snoozeThenOpen] });
    expect(outcome.patch).toEqual({ addTagIds: [], removeTagIds: [] });
    expect(outcome.changes.map((c) => c.action.type)).toEqual(["snooze", "set_status"]);
  });

  it("assigns agent and team, and leaves out what does not change", () => {
    const assigned = { ...TICKET, assigneeId: "agt_1", teamId: "team_1" };
    const outcome = run({
      ticket: assigned,
      rules: [rule({ actions: [{ type: "assign_agent", agentId: null }, { type: "assign_team", teamId: "team_1" }, { type: "add_tag", tagId: "tag_existing" }] })],
    });
    expect(outcome.patch).toEqual({ addTagIds: [], removeTagIds: [], assigneeId: null });
    const fresh = run({ rules: [rule({ actions: [{ type: "assign_agent", agentId: "agt_2" }] })] });
    expect(fresh.patch).toEqual({ addTagIds: [], removeTagIds: [], assigneeId: "agt_2" });
  });
});

describe("auto-reply", () => {
  const reply = (body = "Hi {{customer.first_name}}, we got your message about {{ticket.subject}}.") =>
    rule({ actions: [{ type: "auto_reply", body }] });

  it("renders the template", () => {
    const r = reply();
    const outcome = run({ rules: [r] });
    expect(outcome.autoReply).toEqual({ ruleId: r.id, body: "Hi Jane, we got your message about Where is my Order #1001?." });
    expect(outcome.changes).toEqual([{ ruleId: r.id, action: r.actions[0] }]);
  });

  it("falls back to 'there' without a name", () => {
    const outcome = run({ rules: [reply("Hi {{ customer.first_name }}!")], ticket: { ...TICKET, customer: { id: "cus_2", email: null, name: null } } });
    expect(outcome.autoReply?.body).toBe("Hi there!");
    expect(renderTemplate("Hi {{customer.first_name}} / {{customer.name}} <{{customer.email}}>", { ...TICKET, customer: { email: null, name: "   " } })).toBe(
      "Hi there / there <>",
    );
  });

  it("renders names literally (no $-patterns) and drops unknown placeholders", () => {
    const ticket = { ...TICKET, customer: { email: "a@b.c", name: "$& $1 Mo" } };
    expect(renderTemplate("{{customer.first_name}}|{{customer.name}}|{{customer.email}}|{{ticket.id}}|{{nope}}", ticket)).toBe(
      "$&|$& $1 Mo|a@b.c|tkt_1|",
    );
  });

  it("is throttled within 5 minutes of the last one and allowed after", () => {
    const r = reply();
    const within = run({ rules: [r], lastAutoReplyAt: NOW - AUTO_REPLY_INTERVAL_MS + 1_000 });
    expect(within.autoReply).toBeNull();
    expect(within.changes).toEqual([]);
    expect(within.matched).toHaveLength(1);
    expect(within.suppressed).toEqual([{ ruleId: r.id, action: r.actions[0], reason: "the customer got an auto-reply less than 5 minutes ago" }]);

    expect(run({ rules: [r], lastAutoReplyAt: NOW - AUTO_REPLY_INTERVAL_MS }).autoReply?.ruleId).toBe(r.id);
    expect(run({ rules: [r], lastAutoReplyAt: NOW - 3_600_000 }).autoReply?.ruleId).toBe(r.id);
    expect(AUTO_REPLY_INTERVAL_MS).toBe(5 * 60_000);
  });

  it("throttling holds back only the reply, not the rule's other actions", () => {
    const r = rule({ actions: [{ type: "auto_reply", body: "Hi" }, MARK] });
    const outcome = run({ rules: [r], lastAutoReplyAt: NOW - 1 });
    expect(outcome.patch.addTagIds).toEqual(["tag_mark"]);
    expect(outcome.autoReply).toBeNull();
  });

  it("sends at most one per event: the first rule's wins", () => {
    const first = rule({ position: 0, actions: [{ type: "auto_reply", body: "first" }] });
    const second = rule({ position: 1, actions: [{ type: "auto_reply", body: "second" }] });
    const outcome = run({ rules: [second, first] });
    expect(outcome.autoReply).toEqual({ ruleId: first.id, body: "first" });
    expect(outcome.suppressed).toEqual([{ ruleId: second.id, action: second.actions[0], reason: "only one auto-reply per event" }]);
  });

  it("never answers a message that is not from the customer", () => {
    const outcome = run({ rules: [reply()], message: { body: "internal", authorKind: "agent" } });
    expect(outcome.autoReply).toBeNull();
    expect(outcome.suppressed[0]?.reason).toBe("the triggering message is not from the customer");
  });
});

describe("no loop", () => {
  const bump = rule({
    name: "Updated normal tickets become high",
    event: "ticket_updated",
    conditions: [cond("priority", "neq", "urgent")],
    actions: [{ type: "set_priority", priority: "high" }],
  });

  it("an external update runs the rule once; its own change (cause rule) runs nothing", () => {
    const first = run({ event: "ticket_updated", rules: [bump] });
    expect(first.patch).toEqual({ addTagIds: [], removeTagIds: [], priority: "high" });

    const afterRule = { ...TICKET, priority: first.patch.priority ?? TICKET.priority };
    // Conditions still hold on the changed ticket, so only the cause keeps this from firing again.
    expect(run({ event: "ticket_updated", rules: [bump], ticket: afterRule }).matched).toHaveLength(1);
    expect(run({ event: "ticket_updated", cause: "rule", rules: [bump], ticket: afterRule })).toEqual({
      matched: [],
      changes: [],
      patch: { addTagIds: [], removeTagIds: [] },
      autoReply: null,
      suppressed: [],
      skipped: [],
    });
  });

  it("a rule's assignment does not fire ticket_assigned rules in the same pass", () => {
    const assign = rule({ event: "ticket_created", actions: [{ type: "assign_agent", agentId: "agt_1" }] });
    const onAssigned = rule({ event: "ticket_assigned", actions: [MARK] });
    const outcome = run({ event: "ticket_created", rules: [assign, onAssigned] });
    expect(outcome.matched.map((m) => m.ruleId)).toEqual([assign.id]);
    expect(outcome.patch).toEqual({ addTagIds: [], removeTagIds: [], assigneeId: "agt_1" });
  });

  it("is deterministic and leaves its input alone", () => {
    const rules = [bump, rule({ event: "ticket_updated", actions: [{ type: "remove_tag", tagId: "tag_existing" }, { type: "snooze", hours: 3 }] })];
    const ticket = structuredClone(TICKET);
    const input = { event: "ticket_updated" as const, rules, ticket };
    const snapshot = structuredClone(input);
    expect(run(input)).toEqual(run(input));
    expect(input).toEqual(snapshot);
  });
});

describe("stored rules that no longer validate", () => {
  it("skips a rule with a broken regex and runs the others", () => {
    const broken = rule({ position: 0, conditions: [cond("subject", "matches", "([a-z")], actions: [MARK] });
    const fine = rule({ position: 1, actions: [{ type: "set_priority", priority: "low" }] });
    let outcome: RuleOutcome | undefined;
    expect(() => (outcome = run({ rules: [broken, fine] }))).not.toThrow();
    expect(outcome?.skipped).toEqual([{ ruleId: broken.id, reason: expect.stringMatching(/invalid regular expression[\s\S]*conditions\[0\]\.value/) }]);
    expect(outcome?.matched.map((m) => m.ruleId)).toEqual([fine.id]);
    expect(outcome?.patch).toEqual({ addTagIds: [], removeTagIds: [], priority: "low" });
  });

  it("skips rows with garbage JSON instead of throwing", () => {
    const garbage = [
      rule({ actions: [{ type: "explode" }] as unknown as TicketAction[] }),
      rule({ actions: [MARK], conditions: null as unknown as RuleCondition[] }),
      rule({ actions: [MARK], conditions: [{ field: "planet", op: "eq", value: "mars" }] as unknown as RuleCondition[] }),
      rule({ actions: [] }),
    ];
    const outcome = run({ rules: garbage });
    expect(outcome.skipped.map((s) => s.ruleId)).toEqual(garbage.map((g) => g.id));
    expect(outcome.skipped[3]?.reason).toMatch(/a rule needs at least one action/);
    expect(outcome.matched).toEqual([]);
    expect(outcome.patch).toEqual({ addTagIds: [], removeTagIds: [] });
  });

  it("skips business-hours rules when the zone or hours are unusable, not the others", () => {
    const bh = rule({ position: 0, conditions: [cond("business_hours", "eq", "inside")], actions: [MARK] });
    const plain = rule({ position: 1, actions: [{ type: "set_priority", priority: "high" }] });
    const badZone = run({ rules: [bh, plain], timeZone: "Mars/Olympus_Mons", businessHours: { "1": { open: "09:00", close: "17:00" } } });
    expect(badZone.skipped).toEqual([{ ruleId: bh.id, reason: 'unknown time zone "Mars/Olympus_Mons"' }]);
    expect(badZone.matched.map((m) => m.ruleId)).toEqual([plain.id]);

    const badHours = run({ rules: [bh, plain], businessHours: { "1": { open: "9am", close: "5pm" } } });
    expect(badHours.skipped).toEqual([{ ruleId: bh.id, reason: 'business hours for weekday 1 are not valid "HH:MM" times' }]);
  });
});
