import { and, eq, inArray } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { agents, newId, tags, teams, TICKET_PRIORITIES, TICKET_STATUSES } from "../../schema/tables.ts";
import type { Shard } from "../../schema/shards.ts";
import type { AgentIdentity } from "../auth/identity.ts";
import { requireAgent, type AuthedEnv } from "../auth/middleware.ts";
import type { Env } from "../env.ts";
import { findOrCreateCustomer } from "../customers/find-or-create.ts";
import { limitBody } from "../http/body-limit.ts";
import { ApiError } from "../http/errors.ts";
import { validate } from "../http/validate.ts";
import { accountShard, accountShardForWrite } from "../shards.ts";
import { publicTicket, ticketRoom, unwrap } from "./rooms.ts";
import { MAX_DRAFT_CHARS } from "../../protocol/ticket-doc.ts";

// Ticket mutations. Every one goes through the ticket's room, its single writer; the
// Worker only validates, checks references against the account, and translates results.

const MAX_BODY_BYTES = 1024 * 1024;
const MessageBody = z.string().trim().min(1).max(100_000);
const Id = z.string().min(1).max(64);

const CreateTicket = z.object({
  customer: z.object({ email: z.email().max(254), name: z.string().trim().min(1).max(200).optional() }),
  subject: z.string().trim().min(1).max(500),
  body: MessageBody,
  priority: z.enum(TICKET_PRIORITIES).optional(),
  tagIds: z.array(Id).max(50).optional(),
  teamId: Id.nullable().optional(),
  assigneeId: Id.nullable().optional(),
});

const UpdateTicket = z
  .object({
    status: z.enum(TICKET_STATUSES).optional(),
    priority: z.enum(TICKET_PRIORITIES).optional(),
    assigneeId: Id.nullable().optional(),
    teamId: Id.nullable().optional(),
    tagIds: z.array(Id).max(50).optional(),
    snoozedUntil: z.number().int().positive().nullable().optional(),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, { message: "nothing to change" })
  .refine((patch) => patch.status !== "snoozed" || typeof patch.snoozedUntil === "number", {
    message: "snoozing needs snoozedUntil",
    path: ["snoozedUntil"],
  });

const NewMessage = z.object({ body: MessageBody }).strict();
const SendDraft = z
  .object({
    mode: z.enum(["reply", "note"]),
    /** The newest message `seq` the agent had seen when they pressed send (send-time guard). */
    seenThroughSeq: z.number().int().min(0),
  })
  .strict();
const TicketParam = z.object({ id: Id });

/** Rejects ids of agents, teams or tags that are not this account's (400, per field). */
async function checkReferences(
  shard: Shard,
  accountId: string,
  refs: { assigneeId?: string | null; teamId?: string | null; tagIds?: string[] },
): Promise<void> {
  const fields: Record<string, string[]> = {};
  if (refs.assigneeId) {
    const found = await shard.db.select({ id: agents.id }).from(agents)
      .where(and(eq(agents.accountId, accountId), eq(agents.id, refs.assigneeId))).get();
    if (!found) fields.assigneeId = ["no such agent"];
  }
  if (refs.teamId) {
    const found = await shard.db.select({ id: teams.id }).from(teams)
      .where(and(eq(teams.accountId, accountId), eq(teams.id, refs.teamId))).get();
    if (!found) fields.teamId = ["no such team"];
  }
  if (refs.tagIds?.length) {
    const found = await shard.db.select({ id: tags.id }).from(tags)
      .where(and(eq(tags.accountId, accountId), inArray(tags.id, refs.tagIds)));
    const known = new Set(found.map((tag) => tag.id));
    const unknown = refs.tagIds.filter((id) => !known.has(id));
    if (unknown.length > 0) fields.tagIds = [`no such tags: ${unknown.join(", ")}`];
  }
  if (Object.keys(fields).length > 0) throw new ApiError(400, "VALIDATION_FAILED", "the request has invalid fields", fields);
}

// Per route rather than `.use()`: several sub-apps share the /api/tickets prefix, and a
// sub-app's `.use()` would run for all of their requests (verifying the token again each time).
const writeGuards = [requireAgent, limitBody(MAX_BODY_BYTES)] as const;

export const ticketWriteRoutes = new Hono<AuthedEnv>()
  .post("/", ...writeGuards, validate("json", CreateTicket), async (c) => {
    const { accountId, agentId } = c.var.agent;
    const input = c.req.valid("json");
    const shard = await accountShardForWrite(c.env, accountId);
    await checkReferences(shard, accountId, input);
    const customer = await findOrCreateCustomer(shard, accountId, input.customer.email, input.customer.name);
    const ticketId = newId("ticket");
    const result = unwrap(
      await ticketRoom(c.env, { accountId, ticketId }).create(
        {
          id: ticketId,
          accountId,
          customerId: customer.id,
          channel: "api",
          subject: input.subject,
          priority: input.priority,
          tagIds: input.tagIds,
          teamId: input.teamId ?? null,
          assigneeId: input.assigneeId ?? null,
        },
        { id: newId("message"), authorKind: "customer", authorId: customer.id, body: input.body },
        { kind: "agent", id: agentId },
      ),
    );
    return c.json({ ticket: publicTicket(result.ticket), message: result.message }, 201);
  })
  .patch("/:id", ...writeGuards, validate("param", TicketParam), validate("json", UpdateTicket), async (c) => {
    const { accountId, agentId } = c.var.agent;
    const ticketId = c.req.valid("param").id;
    const patch = c.req.valid("json");
    await checkReferences(await accountShard(c.env, accountId), accountId, patch);
    const ticket = unwrap(await ticketRoom(c.env, { accountId, ticketId }).update({ accountId, ticketId }, patch, { kind: "agent", id: agentId }));
    return c.json({ ticket: publicTicket(ticket) });
  })
  .post("/:id/replies", ...writeGuards, validate("param", TicketParam), validate("json", NewMessage), async (c) =>
    c.json(await addAgentMessage(c.env, c.var.agent, c.req.valid("param").id, c.req.valid("json").body, false), 201),
  )
  .post("/:id/notes", ...writeGuards, validate("param", TicketParam), validate("json", NewMessage), async (c) =>
    c.json(await addAgentMessage(c.env, c.var.agent, c.req.valid("param").id, c.req.valid("json").body, true), 201),
  )
  // Sends the ticket's shared draft (co-edited live) as one message; 409 THREAD_CHANGED with
  // what arrived when the customer or another agent wrote since the agent last looked.
  .post("/:id/draft/send", ...writeGuards, validate("param", TicketParam), validate("json", SendDraft), async (c) => {
    const { accountId, agentId } = c.var.agent;
    const ticketId = c.req.valid("param").id;
    const ref = { accountId, ticketId };
    const { mode, seenThroughSeq } = c.req.valid("json");
    const result = unwrap(await ticketRoom(c.env, ref).sendDraft(ref, agentId, { mode, seenThroughSeq, id: newId("message") }));
    if (!result.sent && result.reason === "EMPTY") throw new ApiError(409, "DRAFT_EMPTY", "the draft is empty: nothing to send");
    if (!result.sent && result.reason === "TOO_LONG") throw new ApiError(413, "DRAFT_TOO_LONG", `the draft is over ${MAX_DRAFT_CHARS.toLocaleString("en")} characters`);
    if (!result.sent) {
      return c.json(
        { error: { code: "THREAD_CHANGED", message: "new messages arrived since you last looked; read them, then send again" }, arrived: result.arrived },
        409,
      );
    }
    return c.json({ ticket: publicTicket(result.ticket), message: result.message }, 201);
  });

/**
 * One reply or note in one room call: the room builds an email or SMS reply's delivery
 * itself, from the ticket it holds.
 */
async function addAgentMessage(env: Env, agent: AgentIdentity, ticketId: string, body: string, isInternalNote: boolean) {
  const ref = { accountId: agent.accountId, ticketId };
  const result = unwrap(await ticketRoom(env, ref).addAgentMessages(ref, [{ id: newId("message"), body, isInternalNote }], agent.agentId));
  return { ticket: publicTicket(result.ticket), message: result.messages[0]! };
}
