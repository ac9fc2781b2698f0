import type { Context } from "hono";

/**
 * Lets `work` finish after the response (the runtime's waitUntil). Without an execution
 * context (a Hono app called directly, as some tests do) it is awaited instead, so the work
 * is never dropped. `work` must handle its own errors.
 */
export async function afterResponse(c: Context, work: Promise<void>): Promise<void> {
  let ctx: ExecutionContext | undefined;
  try {
    ctx = c.executionCtx as ExecutionContext;
  } catch {
    ctx = undefined;
  }
  if (ctx) ctx.waitUntil(work);
  else await work;
}
