import { and, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { findLogin } from "../../schema/directory.ts";
import { agents } from "../../schema/tables.ts";
import { limitBody } from "../http/body-limit.ts";
import { ApiError } from "../http/errors.ts";
import { validate } from "../http/validate.ts";
import { accountShard, directoryShard } from "../shards.ts";
import { authSecret, requireAgent, type AuthedEnv } from "./middleware.ts";
import { DECOY_HASH, verifyPassword } from "./password.ts";
import { signSession } from "./tokens.ts";

const LoginBody = z.object({
  email: z.string().trim().toLowerCase().pipe(z.email().max(254)),
  password: z.string().min(1).max(1024),
});

const MAX_LOGIN_BODY_BYTES = 16 * 1024;

const invalidCredentials = () => new ApiError(401, "INVALID_CREDENTIALS", "email or password is incorrect");

export const authRoutes = new Hono<AuthedEnv>()
  .post("/login", limitBody(MAX_LOGIN_BODY_BYTES), validate("json", LoginBody), async (c) => {
    const { email, password } = c.req.valid("json");
    const login = await findLogin(directoryShard(c.env).db, email);
    const agent = login
      ? await (await accountShard(c.env, login.accountId)).db
          .select()
          .from(agents)
          .where(and(eq(agents.accountId, login.accountId), eq(agents.id, login.agentId)))
          .get()
      : undefined;
    // Verify against a decoy when the agent is unknown, so timing does not reveal which
    // emails exist; the answer never says which field was wrong.
    const ok = await verifyPassword(password, agent?.passwordHash ?? DECOY_HASH);
    if (!agent || !ok) throw invalidCredentials();
    const identity = { agentId: agent.id, accountId: agent.accountId, name: agent.name, role: agent.role };
    const token = await signSession(identity, authSecret(c.env));
    return c.json({ token, agent: { id: agent.id, name: agent.name, role: agent.role, accountId: agent.accountId } });
  });

/** The signed-in agent, read fresh from the account's shard. */
export const meRoutes = new Hono<AuthedEnv>()
  .get("/", requireAgent, async (c) => {
    const { agentId, accountId } = c.var.agent;
    const agent = await (await accountShard(c.env, accountId)).db
      .select()
      .from(agents)
      .where(and(eq(agents.accountId, accountId), eq(agents.id, agentId)))
      .get();
    if (!agent) throw new ApiError(401, "UNAUTHORIZED", "this session's agent no longer exists");
    return c.json({
      agent: {
        id: agent.id,
        name: agent.name,
        email: agent.email,
        role: agent.role,
        accountId: agent.accountId,
        availability: agent.availability,
      },
    });
  });
