import { and, asc, eq, inArray, isNull, max, or } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AnyShardDb, ShardDb } from "../../schema/shards.ts";
import { agents, newId, tags, teams, views, type View, type ViewFilter } from "../../schema/tables.ts";
import type { AgentIdentity } from "../auth/identity.ts";
import { requireAgent, type AuthedEnv } from "../auth/middleware.ts";
import { limitBody } from "../http/body-limit.ts";
import { ApiError } from "../http/errors.ts";
import { validate } from "../http/validate.ts";
import { accountShard, accountShardForWrite } from "../shards.ts";
import { ViewFilterInput } from "./filter.ts";
import { configChanged } from "../live/hub.ts";

// Inbox views: shared ones (owner_agent_id null) that every agent of the account sees and
// only admins manage, and private ones that only their owner sees and manages. Another
// agent's private view is answered like a missing one (404), never 403.

const MAX_BODY_BYTES = 64 * 1024;
const Id = z.string().trim().min(1).max(64);
const Name = z.string().trim().min(1).max(100);
const Position = z.number().int().min(0).max(1_000_000);

const CreateView = z
  .object({
    name: Name,
    filter: ViewFilterInput,
    /** true = shared with the whole account (admins only); default private to the caller. */
    shared: z.boolean().default(false),
    position: Position.optional(),
  })
  .strict();

const UpdateView = z
  .object({ name: Name.optional(), filter: ViewFilterInput.optional(), position: Position.optional() })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, { message: "nothing to change" });

const ViewParam = z.object({ id: Id });

export type ViewJson = {
  id: string;
  name: string;
  filter: ViewFilter;
  position: number;
  ownerAgentId: string | null;
  shared: boolean;
};

function viewJson(view: View): ViewJson {
  return {
    id: view.id,
    name: view.name,
    filter: view.filter,
    position: view.position,
    ownerAgentId: view.ownerAgentId,
    shared: view.ownerAgentId === null,
  };
}

const visibleTo = (agent: AgentIdentity) =>
  and(eq(views.accountId, agent.accountId), or(isNull(views.ownerAgentId), eq(views.ownerAgentId, agent.agentId)));

/** The view if the agent may see it (shared, or their own), else undefined. */
export async function findVisibleView(db: AnyShardDb, agent: AgentIdentity, viewId: string): Promise<View | undefined> {
  return db.select().from(views).where(and(visibleTo(agent), eq(views.id, viewId))).get();
}

/** A stored filter, re-validated (a row edited by hand must not reach the SQL builder unchecked). */
export function parseStoredFilter(filter: unknown): ViewFilter {
  const parsed = ViewFilterInput.safeParse(filter);
  if (!parsed.success) throw new ApiError(500, "VIEW_FILTER_INVALID", "this view's stored filter is invalid; edit the view to fix it");
  return parsed.data;
}

function checkCanManage(agent: AgentIdentity, view: { ownerAgentId: string | null }): void {
  if (view.ownerAgentId === null && agent.role !== "admin") {
    throw new ApiError(403, "FORBIDDEN", "only admins can manage shared views");
  }
}

/** Rejects a filter naming agents, teams or tags that are not this account's (400, per field). */
async function checkFilterReferences(db: ShardDb, accountId: string, filter: ViewFilter): Promise<void> {
  const fields: Record<string, string[]> = {};
  const assignee = filter.assignee;
  if (assignee !== undefined && assignee !== "me" && assignee !== "unassigned") {
    const found = await db.select({ id: agents.id }).from(agents).where(and(eq(agents.accountId, accountId), eq(agents.id, assignee))).get();
    if (!found) fields["filter.assignee"] = ["no such agent"];
  }
  if (filter.teamId) {
    const found = await db.select({ id: teams.id }).from(teams).where(and(eq(teams.accountId, accountId), eq(teams.id, filter.teamId))).get();
    if (!found) fields["filter.teamId"] = ["no such team"];
  }
  if (filter.tagIds) {
    const found = await db.select({ id: tags.id }).from(tags).where(and(eq(tags.accountId, accountId), inArray(tags.id, filter.tagIds)));
    const known = new Set(found.map((tag) => tag.id));
    const unknown = filter.tagIds.filter((id) => !known.has(id));
    if (unknown.length > 0) fields["filter.tagIds"] = [`no such tags: ${unknown.join(", ")}`];
  }
  if (Object.keys(fields).length > 0) throw new ApiError(400, "VALIDATION_FAILED", "the request has invalid fields", fields);
}

async function visibleOr404(db: ShardDb, agent: AgentIdentity, id: string): Promise<View> {
  const view = await findVisibleView(db, agent, id);
  if (!view) throw new ApiError(404, "NOT_FOUND", "view not found");
  return view;
}

export const viewRoutes = new Hono<AuthedEnv>()
  .use(requireAgent)
  .get("/", async (c) => {
    const agent = c.var.agent;
    const { db } = await accountShard(c.env, agent.accountId);
    const rows = await db.select().from(views).where(visibleTo(agent)).orderBy(asc(views.position), asc(views.name), asc(views.id));
    return c.json({ views: rows.map(viewJson) });
  })
  .get("/:id", validate("param", ViewParam), async (c) => {
    const { db } = await accountShard(c.env, c.var.agent.accountId);
    return c.json({ view: viewJson(await visibleOr404(db, c.var.agent, c.req.valid("param").id)) });
  })
  .post("/", limitBody(MAX_BODY_BYTES), validate("json", CreateView), async (c) => {
    const agent = c.var.agent;
    const body = c.req.valid("json");
    const ownerAgentId = body.shared ? null : agent.agentId;
    checkCanManage(agent, { ownerAgentId });
    const { db } = await accountShardForWrite(c.env, agent.accountId);
    await checkFilterReferences(db, agent.accountId, body.filter);
    let position = body.position;
    if (position === undefined) {
      const last = await db.select({ position: max(views.position) }).from(views).where(visibleTo(agent)).get();
      position = (last?.position ?? -1) + 1;
    }
    const [view] = await db
      .insert(views)
      .values({ id: newId("view"), accountId: agent.accountId, name: body.name, filter: body.filter, position, ownerAgentId })
      .returning();
    await configChanged(c.env, agent.accountId);
    return c.json({ view: viewJson(view!) }, 201);
  })
  .patch("/:id", limitBody(MAX_BODY_BYTES), validate("param", ViewParam), validate("json", UpdateView), async (c) => {
    const agent = c.var.agent;
    const { id } = c.req.valid("param");
    const patch = c.req.valid("json");
    const { db } = await accountShardForWrite(c.env, agent.accountId);
    const view = await visibleOr404(db, agent, id);
    checkCanManage(agent, view);
    if (patch.filter) await checkFilterReferences(db, agent.accountId, patch.filter);
    const [updated] = await db
      .update(views)
      .set(patch)
      .where(and(eq(views.accountId, agent.accountId), eq(views.id, id)))
      .returning();
    if (!updated) throw new ApiError(404, "NOT_FOUND", "view not found");
    await configChanged(c.env, agent.accountId);
    return c.json({ view: viewJson(updated) });
  })
  .delete("/:id", validate("param", ViewParam), async (c) => {
    const agent = c.var.agent;
    const { id } = c.req.valid("param");
    const { db } = await accountShardForWrite(c.env, agent.accountId);
    const view = await visibleOr404(db, agent, id);
    checkCanManage(agent, view);
    await db.delete(views).where(and(eq(views.accountId, agent.accountId), eq(views.id, id)));
    await configChanged(c.env, agent.accountId);
    return c.body(null, 204);
  });
