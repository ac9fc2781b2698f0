import { and, asc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { newId, rules } from "../../schema/tables.ts";
import { requireAdmin, requireAgent, type AuthedEnv } from "../auth/middleware.ts";
import { limitBody } from "../http/body-limit.ts";
import { ApiError } from "../http/errors.ts";
import { validate } from "../http/validate.ts";
import { accountShard, accountShardForWrite } from "../shards.ts";
import { RuleInput } from "./definition.ts";

// Automation rules: admin-only configuration. Ticket rooms read them (cached ~30 s), so a
// change takes effect within half a minute.

const IdParam = z.object({ id: z.string().min(1).max(64) });
const RulePatch = RuleInput.partial().refine((patch) => Object.keys(patch).length > 0, { message: "nothing to change" });

export const ruleRoutes = new Hono<AuthedEnv>()
  .use(requireAgent)
  .use(requireAdmin)
  .use(limitBody(256 * 1024))
  .get("/", async (c) => {
    const { accountId } = c.var.agent;
    const list = await (await accountShard(c.env, accountId)).db
      .select()
      .from(rules)
      .where(eq(rules.accountId, accountId))
      .orderBy(asc(rules.position), asc(rules.id));
    return c.json({ rules: list });
  })
  .post("/", validate("json", RuleInput), async (c) => {
    const { accountId } = c.var.agent;
    const rule = { id: newId("rule"), accountId, ...c.req.valid("json") };
    await (await accountShardForWrite(c.env, accountId)).db.insert(rules).values(rule);
    return c.json({ rule }, 201);
  })
  .patch("/:id", validate("param", IdParam), validate("json", RulePatch), async (c) => {
    const { accountId } = c.var.agent;
    const updated = await (await accountShardForWrite(c.env, accountId)).db
      .update(rules)
      .set(c.req.valid("json"))
      .where(and(eq(rules.accountId, accountId), eq(rules.id, c.req.valid("param").id)))
      .returning();
    if (!updated[0]) throw new ApiError(404, "NOT_FOUND", "rule not found");
    return c.json({ rule: updated[0] });
  })
  .delete("/:id", validate("param", IdParam), async (c) => {
    const { accountId } = c.var.agent;
    const deleted = await (await accountShardForWrite(c.env, accountId)).db
      .delete(rules)
      .where(and(eq(rules.accountId, accountId), eq(rules.id, c.req.valid("param").id)))
      .returning({ id: rules.id });
    if (!deleted[0]) throw new ApiError(404, "NOT_FOUND", "rule not found");
    return c.body(null, 204);
  });
