import { and, asc, eq, inArray, isNull, or } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { accountSettings, agentProfileColumns, agents, viewFollows, views } from "../../schema/tables.ts";
import { AGENT_AVAILABILITIES } from "../../schema/values.ts";
import { requireAdmin, requireAgent, type AuthedEnv } from "../auth/middleware.ts";
import { limitBody } from "../http/body-limit.ts";
import { ApiError } from "../http/errors.ts";
import { validate } from "../http/validate.ts";
import { accountHub, configChanged } from "../live/hub.ts";
import { accountShard, accountShardForWrite } from "../shards.ts";

// Agents and their live settings. Each is kept on the shard (the record); the account's hub
// is told after every change so presence, routing and notifications follow at once.
//
//   GET   /api/agents                         the account's agents (names, roles, routing)
//   PATCH /api/agents/:id                     capacity for auto-assignment (admins)
//   PUT   /api/me/availability                available | busy | away
//   PATCH /api/me/preferences                 idle time before away, followed views
//   POST  /api/me/notifications/read          notifications read up to a number
//   PATCH /api/settings/routing               take chats back from agents who stop being available (admins)

const MAX_BODY_BYTES = 16 * 1024;
const Id = z.string().min(1).max(64);

const Availability = z.object({ status: z.enum(AGENT_AVAILABILITIES) }).strict();

const Preferences = z
  .object({
    idleAwayMinutes: z.number().int().min(1).max(24 * 60).optional(),
    followedViewIds: z.array(Id).max(100).optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: "nothing to change" });

const Capacity = z
  .object({
    chatCapacity: z.number().int().min(0).max(100).optional(),
    ticketCapacity: z.number().int().min(0).max(1000).optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: "nothing to change" });

const NotificationsRead = z.object({ seq: z.number().int().min(0) }).strict();

const Routing = z.object({ unassignChatsWhenUnavailable: z.boolean() }).strict();

export const agentRoutes = new Hono<AuthedEnv>()
  .use(requireAgent)
  .get("/", async (c) => {
    const { accountId } = c.var.agent;
    const { db } = await accountShard(c.env, accountId);
    const rows = await db.select(agentProfileColumns).from(agents).where(eq(agents.accountId, accountId)).orderBy(asc(agents.name), asc(agents.id));
    return c.json({ agents: rows });
  })
  .patch("/:id", requireAdmin, limitBody(MAX_BODY_BYTES), validate("param", z.object({ id: Id })), validate("json", Capacity), async (c) => {
    const { accountId } = c.var.agent;
    const { db } = await accountShardForWrite(c.env, accountId);
    const [updated] = await db
      .update(agents)
      .set(c.req.valid("json"))
      .where(and(eq(agents.accountId, accountId), eq(agents.id, c.req.valid("param").id)))
      .returning(agentProfileColumns);
    if (!updated) throw new ApiError(404, "NOT_FOUND", "agent not found");
    await configChanged(c.env, accountId);
    return c.json({ agent: updated });
  });

// Per route rather than `.use()`: meRoutes shares the /api/me prefix, and a sub-app's `.use()`
// would run for its requests too (verifying the token twice).
const meGuards = [requireAgent, limitBody(MAX_BODY_BYTES)] as const;

export const meLiveRoutes = new Hono<AuthedEnv>()
  .put("/availability", ...meGuards, validate("json", Availability), async (c) => {
    const { accountId, agentId } = c.var.agent;
    const { status } = c.req.valid("json");
    const { db } = await accountShardForWrite(c.env, accountId);
    const [updated] = await db
      .update(agents)
      .set({ availability: status })
      .where(and(eq(agents.accountId, accountId), eq(agents.id, agentId)))
      .returning({ availability: agents.availability });
    if (!updated) throw new ApiError(401, "UNAUTHORIZED", "this session's agent no longer exists");
    await configChanged(c.env, accountId);
    return c.json(updated);
  })
  .patch("/preferences", ...meGuards, validate("json", Preferences), async (c) => {
    const { accountId, agentId } = c.var.agent;
    const body = c.req.valid("json");
    const { db } = await accountShardForWrite(c.env, accountId);
    if (body.followedViewIds) {
      const wanted = [...new Set(body.followedViewIds)];
      // Only views this agent can see: shared ones and their own.
      const visible = wanted.length
        ? await db
            .select({ id: views.id })
            .from(views)
            .where(and(eq(views.accountId, accountId), inArray(views.id, wanted), or(isNull(views.ownerAgentId), eq(views.ownerAgentId, agentId))))
        : [];
      const unknown = wanted.filter((id) => !visible.some((view) => view.id === id));
      if (unknown.length > 0) {
        throw new ApiError(400, "VALIDATION_FAILED", "the request has invalid fields", { followedViewIds: [`no such views: ${unknown.join(", ")}`] });
      }
      await db.batch([
        db.delete(viewFollows).where(and(eq(viewFollows.accountId, accountId), eq(viewFollows.agentId, agentId))),
        ...wanted.map((viewId) => db.insert(viewFollows).values({ accountId, agentId, viewId })),
      ]);
    }
    if (body.idleAwayMinutes !== undefined) {
      await db.update(agents).set({ idleAwayMinutes: body.idleAwayMinutes }).where(and(eq(agents.accountId, accountId), eq(agents.id, agentId)));
    }
    await configChanged(c.env, accountId);
    const follows = await db.select({ viewId: viewFollows.viewId }).from(viewFollows).where(and(eq(viewFollows.accountId, accountId), eq(viewFollows.agentId, agentId)));
    const agent = await db.select({ idleAwayMinutes: agents.idleAwayMinutes }).from(agents).where(and(eq(agents.accountId, accountId), eq(agents.id, agentId))).get();
    return c.json({ idleAwayMinutes: agent?.idleAwayMinutes, followedViewIds: follows.map((row) => row.viewId).sort() });
  })
  .post("/notifications/read", ...meGuards, validate("json", NotificationsRead), async (c) => {
    const { accountId, agentId } = c.var.agent;
    await accountHub(c.env, accountId).markNotificationsRead(agentId, c.req.valid("json").seq);
    return c.body(null, 204);
  });

export const routingSettingsRoutes = new Hono<AuthedEnv>().patch(
  "/routing",
  requireAgent,
  requireAdmin,
  limitBody(MAX_BODY_BYTES),
  validate("json", Routing),
  async (c) => {
    const { accountId } = c.var.agent;
    const { db } = await accountShardForWrite(c.env, accountId);
    const { unassignChatsWhenUnavailable } = c.req.valid("json");
    const [updated] = await db
      .update(accountSettings)
      .set({ unassignChatsWhenUnavailable, updatedAt: Date.now() })
      .where(eq(accountSettings.accountId, accountId))
      .returning({ unassignChatsWhenUnavailable: accountSettings.unassignChatsWhenUnavailable });
    if (!updated) throw new ApiError(404, "NOT_FOUND", "this account has no settings yet");
    await configChanged(c.env, accountId);
    return c.json(updated);
  },
);
