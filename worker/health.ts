import { Hono } from "hono";
import { PROTOCOL_VERSION } from "../protocol/index.ts";
import type { Env } from "./env.ts";
import { shardsOf } from "./shards.ts";

const SHARD_PING_TIMEOUT_MS = 2_000;

async function ping(execute: () => Promise<unknown>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), SHARD_PING_TIMEOUT_MS);
  });
  try {
    return await Promise.race([execute().then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** `GET /health`: 200 when every shard answers, 503 naming the ones that do not. */
export const healthRoutes = new Hono<{ Bindings: Env }>().get("/", async (c) => {
  const shards = await Promise.all(
    shardsOf(c.env).map(async (shard) => ({ index: shard.index, ok: await ping(() => shard.client.execute("SELECT 1")) })),
  );
  const ok = shards.every((shard) => shard.ok);
  return c.json({ ok, protocolVersion: PROTOCOL_VERSION, shards }, ok ? 200 : 503);
});
