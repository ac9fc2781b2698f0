import { and, desc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { ShardDb } from "../../schema/shards.ts";
import {
  customers,
  orders,
  tickets,
  type Customer,
  type OrderItem,
  type OrderStatus,
  type TicketChannel,
  type TicketPriority,
  type TicketStatus,
} from "../../schema/tables.ts";
import { requireAgent, type AuthedEnv } from "../auth/middleware.ts";
import { ApiError } from "../http/errors.ts";
import { validate } from "../http/validate.ts";
import { accountShard } from "../shards.ts";
import { validateQuery } from "../tickets/read-routes.ts";

// The customer beside a conversation: who they are, and their history (past tickets and
// orders, merged newest first). Another account's customer is answered like a missing one.

const Id = z.string().trim().min(1).max(64);
const CustomerParam = z.object({ id: Id });
const TimelineQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

export type CustomerJson = { id: string; name: string | null; email: string | null; phone: string | null; createdAt: number };

/** A past ticket, placed in the timeline when it was opened. */
export type TicketEntry = {
  kind: "ticket";
  at: number;
  ticket: {
    id: string;
    subject: string;
    status: TicketStatus;
    priority: TicketPriority;
    channel: TicketChannel;
    createdAt: number;
    updatedAt: number;
    lastMessageAt: number | null;
  };
};

/** An order, placed in the timeline when it was made. */
export type OrderEntry = {
  kind: "order";
  at: number;
  order: {
    id: string;
    number: string;
    status: OrderStatus;
    totalCents: number;
    currency: string;
    items: OrderItem[];
    itemCount: number;
    createdAt: number;
    shippedAt: number | null;
    trackingUrl: string | null;
  };
};

export type TimelineEntry = TicketEntry | OrderEntry;

const customerJson = (customer: Customer): CustomerJson => ({
  id: customer.id,
  name: customer.name,
  email: customer.email,
  phone: customer.phone,
  createdAt: customer.createdAt,
});

async function customerOr404(db: ShardDb, accountId: string, id: string): Promise<Customer> {
  const customer = await db.select().from(customers).where(and(eq(customers.accountId, accountId), eq(customers.id, id))).get();
  if (!customer) throw new ApiError(404, "NOT_FOUND", "customer not found");
  return customer;
}

const entryId = (entry: TimelineEntry) => (entry.kind === "ticket" ? entry.ticket.id : entry.order.id);

/** Newest first; equal times in a fixed order (kind, then id) so the answer is stable. */
function newestFirst(a: TimelineEntry, b: TimelineEntry): number {
  if (a.at !== b.at) return b.at - a.at;
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  const [x, y] = [entryId(a), entryId(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

export const customerRoutes = new Hono<AuthedEnv>()
  .use(requireAgent)
  .get("/:id", validate("param", CustomerParam), async (c) => {
    const { accountId } = c.var.agent;
    const { db } = await accountShard(c.env, accountId);
    return c.json({ customer: customerJson(await customerOr404(db, accountId, c.req.valid("param").id)) });
  })
  .get("/:id/timeline", validate("param", CustomerParam), validateQuery(TimelineQuery), async (c) => {
    const { accountId } = c.var.agent;
    const { id } = c.req.valid("param");
    const { limit } = c.req.valid("query");
    const { db } = await accountShard(c.env, accountId);
    const customer = await customerOr404(db, accountId, id);
    const [ticketRows, orderRows] = await db.batch([
      db
        .select({
          id: tickets.id,
          subject: tickets.subject,
          status: tickets.status,
          priority: tickets.priority,
          channel: tickets.channel,
          createdAt: tickets.createdAt,
          updatedAt: tickets.updatedAt,
          lastMessageAt: tickets.lastMessageAt,
        })
        .from(tickets)
        .where(and(eq(tickets.accountId, accountId), eq(tickets.customerId, id)))
        .orderBy(desc(tickets.createdAt), desc(tickets.id))
        .limit(limit + 1),
      db
        .select()
        .from(orders)
        .where(and(eq(orders.accountId, accountId), eq(orders.customerId, id)))
        .orderBy(desc(orders.createdAt), desc(orders.id))
        .limit(limit + 1),
    ]);
    const entries: TimelineEntry[] = [
      ...ticketRows.map((ticket): TicketEntry => ({ kind: "ticket", at: ticket.createdAt, ticket })),
      ...orderRows.map(
        (order): OrderEntry => ({
          kind: "order",
          at: order.createdAt,
          order: {
            id: order.id,
            number: order.number,
            status: order.status,
            totalCents: order.totalCents,
            currency: order.currency,
            items: order.items,
            itemCount: order.items.reduce((sum, item) => sum + item.quantity, 0),
            createdAt: order.createdAt,
            shippedAt: order.shippedAt,
            trackingUrl: order.trackingUrl,
          },
        }),
      ),
    ].sort(newestFirst);
    return c.json({ customer: customerJson(customer), timeline: entries.slice(0, limit), hasMore: entries.length > limit });
  });
