import { describe, expect, it } from "vitest";
import { z } from "zod";
import { MAX_PATTERN_LENGTH, RuleInput, ruleConditionSchema, ticketActionSchema } from "./definition.ts";

const valid = {
  name: "Urgent payments",
  event: "message_received",
  conditions: [{ field: "body", op: "contains", value: "charged twice" }],
  actions: [{ type: "set_priority", priority: "urgent" }],
};

/** "path: message" lines of a failed parse, or [] when it parsed. */
function problems(schema: z.ZodType, input: unknown): string[] {
  const result = schema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}
const condition = (field: string, op: string, value: unknown) => problems(ruleConditionSchema, { field, op, value });

describe("RuleInput", () => {
  it("accepts a valid rule and fills position and enabled", () => {
    expect(RuleInput.parse(valid)).toEqual({ ...valid, position: 0, enabled: true });
    expect(RuleInput.parse({ ...valid, position: 3, enabled: false })).toMatchObject({ position: 3, enabled: false });
  });

  it("accepts every event, including ticket_assigned", () => {
    for (const event of ["ticket_created", "message_received", "ticket_updated", "ticket_assigned"]) {
      expect(problems(RuleInput, { ...valid, event })).toEqual([]);
    }
    expect(problems(RuleInput, { ...valid, event: "ticket_deleted" })).toEqual([
      expect.stringMatching(/^event: Invalid option/),
    ]);
  });

  it("rejects a rule without actions with a clear message", () => {
    expect(problems(RuleInput, { ...valid, actions: [] })).toEqual(["actions: a rule needs at least one action"]);
  });

  it("accepts a rule without conditions (always matches its event)", () => {
    expect(problems(RuleInput, { ...valid, conditions: [] })).toEqual([]);
  });

  it("rejects an empty name, unknown keys and a bad position", () => {
    expect(problems(RuleInput, { ...valid, name: "   " })).toEqual(["name: name must not be empty"]);
    expect(problems(RuleInput, { ...valid, colour: "red" })).toEqual([expect.stringMatching(/Unrecognized key.*colour/)]);
    expect(problems(RuleInput, { ...valid, position: 1.5 })).toEqual([expect.stringMatching(/^position: /)]);
  });

  it("points at the offending condition and action by index", () => {
    const out = problems(RuleInput, {
      ...valid,
      conditions: [valid.conditions[0], { field: "subject", op: "matches", value: "(" }],
      actions: [valid.actions[0], { type: "set_priority", priority: "extreme" }],
    });
    expect(out).toEqual([
      expect.stringMatching(/^conditions\.1\.value: invalid regular expression/),
      expect.stringMatching(/^actions\.1\.priority: Invalid option/),
    ]);
  });

  it("keeps the demo seed's rules valid", () => {
    expect(problems(RuleInput, { ...valid, conditions: [{ field: "body", op: "contains", value: "bulk" }], actions: [{ type: "assign_team", teamId: "team_sales" }] })).toEqual([]);
  });
});

describe("conditions", () => {
  it("rejects an unknown field and an unknown op", () => {
    expect(condition("colour", "eq", "red")).toEqual([expect.stringMatching(/^field: Invalid option.*"channel"/)]);
    expect(condition("subject", "startsWith", "x")).toEqual([expect.stringMatching(/^op: Invalid option/)]);
    expect(problems(ruleConditionSchema, { field: "subject", op: "eq", value: "x", extra: 1 })).toEqual([
      expect.stringMatching(/Unrecognized key.*extra/),
    ]);
  });

  it("accepts every text op on the text fields", () => {
    for (const field of ["subject", "body", "customer_email", "customer_email_domain"]) {
      for (const op of ["eq", "neq", "contains", "not_contains", "matches"]) expect(condition(field, op, "abc")).toEqual([]);
      expect(condition(field, "in", ["a", "b"])).toEqual([]);
    }
  });

  it("rejects ops that do not suit the field", () => {
    expect(condition("priority", "contains", "urg")).toEqual([
      'op: op "contains" is not allowed on field "priority" (allowed: eq, neq, in)',
    ]);
    expect(condition("tag", "eq", "tag_vip")).toEqual([
      'op: op "eq" is not allowed on field "tag" (allowed: contains, not_contains, in)',
    ]);
    expect(condition("business_hours", "neq", "inside")).toEqual([expect.stringMatching(/^op: op "neq" is not allowed/)]);
  });

  it("checks values of fields with a fixed list", () => {
    expect(condition("channel", "eq", "email")).toEqual([]);
    expect(condition("channel", "eq", "fax")).toEqual([
      'value: "fax" is not a valid channel (expected one of: chat, email, sms, api)',
    ]);
    expect(condition("status", "in", ["open", "nope"])).toEqual([expect.stringMatching(/"nope" is not a valid status/)]);
    expect(condition("priority", "neq", "low")).toEqual([]);
    expect(condition("business_hours", "eq", "outside")).toEqual([]);
    expect(condition("business_hours", "eq", "closed")).toEqual([
      'value: "closed" is not a valid business_hours (expected one of: inside, outside)',
    ]);
  });

  it("wants a list for in and a single value otherwise", () => {
    expect(condition("tag", "in", "tag_vip")).toEqual(['value: op "in" takes a list of values']);
    expect(condition("tag", "in", [])).toEqual(['value: op "in" needs at least one value']);
    expect(condition("subject", "contains", ["a"])).toEqual(['value: op "contains" takes a single value, not a list']);
    expect(condition("subject", "contains", "  ")).toEqual(["value: value must not be empty"]);
    expect(condition("subject", "contains", 3)).toEqual([expect.stringMatching(/^value: Invalid input/)]);
  });

  it("compiles regexes at definition time", () => {
    expect(condition("subject", "matches", "^order #\\d+$")).toEqual([]);
    expect(condition("subject", "matches", "([a-z")).toEqual([
      expect.stringMatching(/^value: invalid regular expression: .*(Unterminated|missing)/i),
    ]);
    expect(condition("body", "matches", "a{2,1}")).toEqual([expect.stringMatching(/invalid regular expression/)]);
  });

  it("caps regex length at 200 characters", () => {
    expect(condition("body", "matches", "a".repeat(MAX_PATTERN_LENGTH))).toEqual([]);
    expect(condition("body", "matches", "a".repeat(MAX_PATTERN_LENGTH + 1))).toEqual([
      "value: pattern must be at most 200 characters",
    ]);
  });
});

describe("actions", () => {
  const action = (a: unknown) => problems(ticketActionSchema, a);

  it("accepts every action type, old and new", () => {
    for (const a of [
      { type: "set_status", status: "pending" },
      { type: "set_priority", priority: "high" },
      { type: "assign_agent", agentId: "agt_1" },
      { type: "assign_agent", agentId: null },
      { type: "assign_team", teamId: "team_1" },
      { type: "assign_team", teamId: null },
      { type: "add_tag", tagId: "tag_1" },
      { type: "remove_tag", tagId: "tag_1" },
      { type: "snooze", hours: 1.5 },
      { type: "close" },
      { type: "auto_reply", body: "Hi {{customer.first_name}}, about {{ ticket.subject }}…" },
    ]) {
      expect(action(a)).toEqual([]);
    }
  });

  it("rejects an unknown action type", () => {
    expect(action({ type: "delete_ticket" })).toEqual([
      expect.stringMatching(/^type: Invalid discriminator value\. Expected .*'close' \| 'auto_reply'/),
    ]);
  });

  it("rejects set_status snoozed, pointing to snooze", () => {
    expect(action({ type: "set_status", status: "snoozed" })).toEqual([
      'status: use the "snooze" action (with hours) to snooze a ticket',
    ]);
  });

  it("rejects non-positive or absurd snoozes and empty ids", () => {
    expect(action({ type: "snooze", hours: 0 })).toEqual(["hours: hours must be more than 0"]);
    expect(action({ type: "snooze", hours: 24 * 366 })).toEqual(["hours: hours must be at most 8760"]);
    expect(action({ type: "add_tag", tagId: "" })).toEqual(["tagId: tagId must not be empty"]);
    expect(action({ type: "close", status: "closed" })).toEqual([expect.stringMatching(/Unrecognized key.*status/)]);
  });

  it("rejects an empty auto-reply and unknown template variables", () => {
    expect(action({ type: "auto_reply", body: " " })).toEqual(["body: body must not be empty"]);
    expect(action({ type: "auto_reply", body: "Hi {{customer.shoe_size}}" })).toEqual([
      expect.stringMatching(/^body: unknown template variable "\{\{customer\.shoe_size\}\}" \(known: \{\{customer\.first_name\}\}/),
    ]);
  });
});
