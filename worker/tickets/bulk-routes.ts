import { Hono } from "hono";
import { z } from "zod";
import type { AgentMessageInput, RoomFailureCode, RoomResult } from "../../durable-objects/ticket-room/room-api.ts";
import { newId } from "../../schema/tables.ts";
import { requireAgent, type AuthedEnv } from "../auth/middleware.ts";
import { limitBody } from "../http/body-limit.ts";
import { validate } from "../http/validate.ts";
import { ticketRoom } from "./rooms.ts";

// `POST /api/tickets/messages`: agent replies and internal notes for many tickets in one
// request (imports, scripted follow-ups, integrations that queue messages). Each ticket's
// messages go to its room in one call, committed together in request order and flushed
// together; a ticket that fails (missing, another account's, unavailable) fails alone and
// its items say why, while every other ticket's messages are written.

export const MAX_BULK_MESSAGES = 500;
const MAX_BODY_BYTES = 1024 * 1024;

const BulkMessages = z
  .object({
    messages: z
      .array(
        z
          .object({
            ticketId: z.string().min(1).max(64),
            kind: z.enum(["reply", "note"]),
            body: z.string().trim().min(1).max(100_000),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_BULK_MESSAGES),
  })
  .strict();

type ItemResult =
  | { ticketId: string; ok: true; messageId: string; seq: number }
  | { ticketId: string; ok: false; error: { code: RoomFailureCode; message: string } };

export const ticketBulkRoutes = new Hono<AuthedEnv>().post(
  "/messages",
  requireAgent,
  limitBody(MAX_BODY_BYTES),
  validate("json", BulkMessages),
  async (c) => {
    const { accountId, agentId } = c.var.agent;
    const items = c.req.valid("json").messages;
    // Positions of each ticket's items, in request order.
    const byTicket = new Map<string, number[]>();
    items.forEach((item, index) => {
      const positions = byTicket.get(item.ticketId);
      if (positions) positions.push(index);
      else byTicket.set(item.ticketId, [index]);
    });
    const results: ItemResult[] = new Array(items.length);
    await Promise.all(
      [...byTicket].map(async ([ticketId, positions]) => {
        const inputs: AgentMessageInput[] = positions.map((index) => ({
          id: newId("message"),
          body: items[index]!.body,
          isInternalNote: items[index]!.kind === "note",
        }));
        const ref = { accountId, ticketId };
        const outcome = await ticketRoom(c.env, ref)
          .addAgentMessages(ref, inputs, agentId)
          .catch((error: unknown): RoomResult<never> => {
            console.error(`bulk messages: ticket ${ticketId}'s room failed`, error);
            return { ok: false, code: "UNAVAILABLE", message: "the ticket could not be reached; try again shortly" };
          });
        if (!outcome.ok) {
          for (const index of positions) results[index] = { ticketId, ok: false, error: { code: outcome.code, message: outcome.message } };
          return;
        }
        positions.forEach((index, k) => {
          const message = outcome.value.messages[k]!;
          results[index] = { ticketId, ok: true, messageId: message.id, seq: message.seq };
        });
      }),
    );
    return c.json({ results });
  },
);
