import { and, asc, eq, ne, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { ShardDb } from "../../schema/shards.ts";
import { newId, tags, ticketTags, type Tag } from "../../schema/tables.ts";
import type { AgentIdentity } from "../auth/identity.ts";
import { requireAgent, type AuthedEnv } from "../auth/middleware.ts";
import { afterResponse } from "../http/after-response.ts";
import { limitBody } from "../http/body-limit.ts";
import { ApiError } from "../http/errors.ts";
import { validate } from "../http/validate.ts";
import { configChanged } from "../live/hub.ts";
import { accountShard, accountShardForWrite } from "../shards.ts";
import { dropTagFromRooms } from "./drop-from-rooms.ts";

// The account's tag list. Every agent reads it (to tag tickets); creating, renaming and
// deleting tags changes what everyone sees, so those are admin-only. Names are unique per
// account ignoring case. Deleting a tag removes it from every ticket (ticket_tags cascade);
// a ticket's room drops the stale id at its next flush (its tag writes skip unknown tags).

const MAX_BODY_BYTES = 16 * 1024;
const Id = z.string().trim().min(1).max(64);
const Name = z
  .string()
  .trim()
  .min(1)
  .max(50)
  .refine((name) => !name.includes(","), { message: "a tag name cannot contain a comma" });
const Color = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/, "a color is #rrggbb")
  .transform((color) => color.toLowerCase());

const CreateTag = z.object({ name: Name, color: Color.nullable().optional() }).strict();
const UpdateTag = z
  .object({ name: Name.optional(), color: Color.nullable().optional() })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, { message: "nothing to change" });
const TagParam = z.object({ id: Id });

export type TagJson = { id: string; name: string; color: string | null };

const tagJson = (tag: Tag): TagJson => ({ id: tag.id, name: tag.name, color: tag.color });

function requireAdmin(agent: AgentIdentity): void {
  if (agent.role !== "admin") throw new ApiError(403, "FORBIDDEN", "only admins can manage tags");
}

async function checkNameFree(db: ShardDb, accountId: string, name: string, exceptId?: string): Promise<void> {
  const conditions = [eq(tags.accountId, accountId), sql`lower(${tags.name}) = lower(${name})`];
  if (exceptId) conditions.push(ne(tags.id, exceptId));
  const clash = await db.select({ id: tags.id }).from(tags).where(and(...conditions)).get();
  if (clash) throw new ApiError(409, "CONFLICT", `a tag named "${name}" already exists`, { name: ["already taken"] });
}

/** A unique-index violation from a concurrent create/rename with the same name. */
function isUniqueViolation(error: unknown): boolean {
  const text = String((error as { cause?: unknown })?.cause ?? "") + String(error);
  return /UNIQUE constraint failed/i.test(text);
}

async function tagOr404(db: ShardDb, accountId: string, id: string): Promise<Tag> {
  const tag = await db.select().from(tags).where(and(eq(tags.accountId, accountId), eq(tags.id, id))).get();
  if (!tag) throw new ApiError(404, "NOT_FOUND", "tag not found");
  return tag;
}

export const tagRoutes = new Hono<AuthedEnv>()
  .use(requireAgent)
  .get("/", async (c) => {
    const { accountId } = c.var.agent;
    const { db } = await accountShard(c.env, accountId);
    const rows = await db.select().from(tags).where(eq(tags.accountId, accountId)).orderBy(asc(sql`lower(${tags.name})`), asc(tags.id));
    return c.json({ tags: rows.map(tagJson) });
  })
  .post("/", limitBody(MAX_BODY_BYTES), validate("json", CreateTag), async (c) => {
    const agent = c.var.agent;
    requireAdmin(agent);
    const body = c.req.valid("json");
    const { db } = await accountShardForWrite(c.env, agent.accountId);
    await checkNameFree(db, agent.accountId, body.name);
    try {
      const [tag] = await db
        .insert(tags)
        .values({ id: newId("tag"), accountId: agent.accountId, name: body.name, color: body.color ?? null })
        .returning();
      return c.json({ tag: tagJson(tag!) }, 201);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError(409, "CONFLICT", `a tag named "${body.name}" already exists`, { name: ["already taken"] });
      throw error;
    }
  })
  .patch("/:id", limitBody(MAX_BODY_BYTES), validate("param", TagParam), validate("json", UpdateTag), async (c) => {
    const agent = c.var.agent;
    requireAdmin(agent);
    const { id } = c.req.valid("param");
    const patch = c.req.valid("json");
    const { db } = await accountShardForWrite(c.env, agent.accountId);
    await tagOr404(db, agent.accountId, id);
    if (patch.name !== undefined) await checkNameFree(db, agent.accountId, patch.name, id);
    try {
      const [tag] = await db
        .update(tags)
        .set(patch)
        .where(and(eq(tags.accountId, agent.accountId), eq(tags.id, id)))
        .returning();
      if (!tag) throw new ApiError(404, "NOT_FOUND", "tag not found");
      return c.json({ tag: tagJson(tag) });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError(409, "CONFLICT", `a tag named "${patch.name}" already exists`, { name: ["already taken"] });
      throw error;
    }
  })
  .delete("/:id", validate("param", TagParam), async (c) => {
    const agent = c.var.agent;
    requireAdmin(agent);
    const { id } = c.req.valid("param");
    const { db } = await accountShardForWrite(c.env, agent.accountId);
    await tagOr404(db, agent.accountId, id);
    const holders = await db
      .select({ ticketId: ticketTags.ticketId })
      .from(ticketTags)
      .where(and(eq(ticketTags.accountId, agent.accountId), eq(ticketTags.tagId, id)));
    // The foreign key cascades too; deleting the links explicitly does not rely on it.
    await db.batch([
      db.delete(ticketTags).where(and(eq(ticketTags.accountId, agent.accountId), eq(ticketTags.tagId, id))),
      db.delete(tags).where(and(eq(tags.accountId, agent.accountId), eq(tags.id, id))),
    ]);
    // Views filtering on the tag would go on counting tickets the hub saw carry it.
    await configChanged(c.env, agent.accountId);
    await afterResponse(c, dropTagFromRooms(c.env, agent.accountId, id, holders.map((row) => row.ticketId)));
    return c.body(null, 204);
  });
