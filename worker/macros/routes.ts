import { and, asc, desc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { customers, macros, newId, orders } from "../../schema/tables.ts";
import { requireAdmin, requireAgent, type AuthedEnv } from "../auth/middleware.ts";
import { limitBody } from "../http/body-limit.ts";
import { ApiError } from "../http/errors.ts";
import { validate } from "../http/validate.ts";
import { TEMPLATE_PLACEHOLDER, ticketActionSchema } from "../rules/definition.ts";
import { renderTemplate } from "../rules/engine.ts";
import { accountShard, accountShardForWrite } from "../shards.ts";
import { publicTicket, ticketRoom, unwrap } from "../tickets/rooms.ts";
import { actionsToPatch } from "./apply.ts";

// Macros: canned replies with variables, plus actions on the ticket. Every agent may list
// and apply them; only admins change them. Applying goes through the ticket's room like
// any other change: the rendered reply first, then the actions.

/** Variables a macro body may use: the rule variables plus what only an agent's action knows. */
export const MACRO_VARIABLES = [
  "customer.first_name",
  "customer.name",
  "customer.email",
  "customer.last_order_number",
  "agent.name",
  "ticket.id",
  "ticket.subject",
] as const;

const MacroBody = z
  .string()
  .max(20_000)
  .refine(
    (body) => [...body.matchAll(TEMPLATE_PLACEHOLDER)].every((match) => (MACRO_VARIABLES as readonly string[]).includes(match[1] ?? "")),
    { message: `unknown variable; known: ${MACRO_VARIABLES.map((v) => `{{${v}}}`).join(", ")}` },
  );

const MacroInput = z.strictObject({
  name: z.string().trim().min(1).max(120),
  body: MacroBody.default(""),
  actions: z.array(ticketActionSchema).max(20).default([]),
});
const MacroPatch = MacroInput.partial().refine((patch) => Object.keys(patch).length > 0, { message: "nothing to change" });
const IdParam = z.object({ id: z.string().min(1).max(64) });
const ApplyParams = z.object({ id: z.string().min(1).max(64), macroId: z.string().min(1).max(64) });
const ApplyBody = z.strictObject({ dryRun: z.boolean().default(false) });

const MAX_BODY_BYTES = 256 * 1024;

export const macroRoutes = new Hono<AuthedEnv>()
  .use(requireAgent)
  .use(limitBody(MAX_BODY_BYTES))
  .get("/", async (c) => {
    const { accountId } = c.var.agent;
    const list = await (await accountShard(c.env, accountId)).db
      .select()
      .from(macros)
      .where(eq(macros.accountId, accountId))
      .orderBy(asc(macros.name));
    return c.json({ macros: list });
  })
  .post("/", requireAdmin, validate("json", MacroInput), async (c) => {
    const { accountId } = c.var.agent;
    const macro = { id: newId("macro"), accountId, ...c.req.valid("json") };
    await (await accountShardForWrite(c.env, accountId)).db.insert(macros).values(macro);
    return c.json({ macro }, 201);
  })
  .patch("/:id", requireAdmin, validate("param", IdParam), validate("json", MacroPatch), async (c) => {
    const { accountId } = c.var.agent;
    const updated = await (await accountShardForWrite(c.env, accountId)).db
      .update(macros)
      .set(c.req.valid("json"))
      .where(and(eq(macros.accountId, accountId), eq(macros.id, c.req.valid("param").id)))
      .returning();
    if (!updated[0]) throw new ApiError(404, "NOT_FOUND", "macro not found");
    return c.json({ macro: updated[0] });
  })
  .delete("/:id", requireAdmin, validate("param", IdParam), async (c) => {
    const { accountId } = c.var.agent;
    const deleted = await (await accountShardForWrite(c.env, accountId)).db
      .delete(macros)
      .where(and(eq(macros.accountId, accountId), eq(macros.id, c.req.valid("param").id)))
      .returning({ id: macros.id });
    if (!deleted[0]) throw new ApiError(404, "NOT_FOUND", "macro not found");
    return c.body(null, 204);
  });

/** `POST /api/tickets/:id/macros/:macroId` — render and apply (or, with dryRun, only render). */
export const macroApplyRoutes = new Hono<AuthedEnv>()
  // Per route: this sub-app shares the /api/tickets prefix with others (see write-routes.ts).
  .post("/:id/macros/:macroId", requireAgent, limitBody(MAX_BODY_BYTES), validate("param", ApplyParams), validate("json", ApplyBody), async (c) => {
    const { accountId, agentId, name: agentName } = c.var.agent;
    const { id: ticketId, macroId } = c.req.valid("param");
    const ref = { accountId, ticketId };
    const shard = await accountShard(c.env, accountId);
    const macro = await shard.db.select().from(macros).where(and(eq(macros.accountId, accountId), eq(macros.id, macroId))).get();
    if (!macro) throw new ApiError(404, "NOT_FOUND", "macro not found");
    const room = ticketRoom(c.env, ref);
    const ticket = unwrap(await room.ticket(ref));
    const customer = await shard.db
      .select({ email: customers.email, name: customers.name })
      .from(customers)
      .where(and(eq(customers.accountId, accountId), eq(customers.id, ticket.customerId)))
      .get();
    const lastOrder = await shard.db
      .select({ number: orders.number })
      .from(orders)
      .where(and(eq(orders.accountId, accountId), eq(orders.customerId, ticket.customerId)))
      .orderBy(desc(orders.createdAt))
      .get();
    const body = renderTemplate(
      macro.body,
      { id: ticket.id, subject: ticket.subject, customer: { email: customer?.email ?? null, name: customer?.name ?? null } },
      { "customer.last_order_number": lastOrder?.number ?? "", "agent.name": agentName },
    ).trim();
    const patch = actionsToPatch(macro.actions, Date.now());
    if (c.req.valid("json").dryRun) return c.json({ body, patch });

    let message = null;
    if (body !== "") {
      message = unwrap(await room.addAgentMessages(ref, [{ id: newId("message"), body, isInternalNote: false }], agentId)).messages[0]!;
    }
    const updated = Object.keys(patch).length > 0 ? unwrap(await room.update(ref, patch, { kind: "agent", id: agentId })) : unwrap(await room.ticket(ref));
    return c.json({ ticket: publicTicket(updated), message, body }, 201);
  });
