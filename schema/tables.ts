// The drizzle schema (sqlite-core) of the helpdesk core, shared by every libSQL shard.
//
// Conventions
// - Time: every timestamp column is a plain INTEGER holding epoch milliseconds (a JS
//   `number`, as from `Date.now()`), never drizzle's `timestamp_ms` Date mode, so rows
//   serialise to JSON / Yjs without conversion and compare with `<`.
// - Ids: TEXT, a type prefix plus random characters (`tkt_3kq...`, see `newId`), except
//   `agent_logins.email` (the lowercase email) and `ai_settings.account_id`.
// - Tenancy: every account-owned table has `account_id` and every query must filter on
//   it. The `accounts` row lives only in the directory (shard 0), so nothing references
//   it with a foreign key; references between one account's rows (all on the same
//   shard) are real foreign keys (libSQL enforces them).
// - Booleans are `integer({ mode: "boolean" })`, JSON is `text({ mode: "json" })`.
// - Every shard gets the same tables (one migrations folder); `accounts` and
//   `agent_logins` are only used on shard 0, the directory.
// - Full-text search is the FTS5 table `tickets_fts` (ticket_id UNINDEXED, account_id
//   UNINDEXED, subject, body, customer_name, customer_email), created by the hand-written
//   migration `*_search_fts.sql` and therefore not declared here (drizzle-kit cannot
//   model virtual tables). See `TICKETS_FTS_TABLE`.
import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import {
  AGENT_ROLES,
  AGENT_AVAILABILITIES,
  AGENT_ROUTING_DEFAULTS,
  TICKET_CHANNELS,
  TICKET_STATUSES,
  TICKET_PRIORITIES,
  AI_STATES,
  MESSAGE_AUTHOR_KINDS,
  RULE_EVENTS,
  ORDER_STATUSES,
  type AgentRole,
  type AgentAvailability,
  type TicketChannel,
  type TicketStatus,
  type TicketPriority,
  type AiState,
  type MessageAuthorKind,
  type RuleEvent,
  type OrderStatus,
} from "./values.ts";

// ---------------------------------------------------------------------------------------
// Value lists (reuse these in zod schemas and the UI instead of redefining them)

// Value lists live in values.ts (importable without drizzle); re-exported here.
export {
  AGENT_ROLES,
  AGENT_AVAILABILITIES,
  TICKET_CHANNELS,
  TICKET_STATUSES,
  TICKET_PRIORITIES,
  AI_STATES,
  MESSAGE_AUTHOR_KINDS,
  RULE_EVENTS,
  ORDER_STATUSES,
  type AgentRole,
  type AgentAvailability,
  type TicketChannel,
  type TicketStatus,
  type TicketPriority,
  type AiState,
  type MessageAuthorKind,
  type RuleEvent,
  type OrderStatus,
};

/** Name of the FTS5 virtual table created by the `search_fts` migration. */
export const TICKETS_FTS_TABLE = "tickets_fts";
/** Its columns, in declaration order (ticket_id and account_id are UNINDEXED). */
export const TICKETS_FTS_COLUMNS = [
  "ticket_id",
  "account_id",
  "subject",
  "body",
  "customer_name",
  "customer_email",
] as const;

// ---------------------------------------------------------------------------------------
// JSON column shapes

/** A saved inbox filter. All present criteria must match (AND); list values are OR'ed. */
export type ViewFilter = {
  status?: TicketStatus[];
  priority?: TicketPriority[];
  channel?: TicketChannel[];
  /** "me" = the agent looking at the view, "unassigned" = no assignee, otherwise an agent id. */
  assignee?: "me" | "unassigned" | (string & {});
  /** A team id, or null = tickets with no team. */
  teamId?: string | null;
  /** Tickets carrying any of these tags. */
  tagIds?: string[];
  aiState?: AiState[];
  /** Created within the last N hours (relative to when the filter is evaluated). */
  createdWithinHours?: number;
  /** Updated within the last N hours. */
  updatedWithinHours?: number;
  sort?: { field: "updated_at" | "created_at" | "priority" | "last_message_at"; direction: "asc" | "desc" };
};

/** What a macro or a rule does to a ticket. */
export type TicketAction =
  | { type: "set_status"; status: TicketStatus }
  | { type: "set_priority"; priority: TicketPriority }
  | { type: "assign_agent"; agentId: string | null }
  | { type: "assign_team"; teamId: string | null }
  | { type: "add_tag"; tagId: string }
  | { type: "remove_tag"; tagId: string }
  | { type: "snooze"; hours: number }
  | { type: "close" }
  /** Rules only: a reply to the customer; `body` is a template (`{{customer.first_name}}`). */
  | { type: "auto_reply"; body: string };

/** `body` is the triggering message's body; `business_hours` compares "inside" | "outside". */
export type RuleConditionField =
  | "channel"
  | "subject"
  | "body"
  | "customer_email"
  | "customer_email_domain"
  | "tag"
  | "priority"
  | "status"
  | "business_hours";

/** `matches` is a regular expression; `in` takes a list. Which ops suit which field: worker/rules/definition.ts. */
export type RuleConditionOp = "eq" | "neq" | "contains" | "not_contains" | "matches" | "in";

export type RuleCondition = {
  field: RuleConditionField;
  op: RuleConditionOp;
  value: string | string[];
};

/** ISO weekday ("1" = Monday … "7" = Sunday) → opening hours in local time. */
export type BusinessHours = Partial<Record<"1" | "2" | "3" | "4" | "5" | "6" | "7", { open: string; close: string }>>;

export type OrderItem = { sku: string; name: string; quantity: number; unitPriceCents: number };

// ---------------------------------------------------------------------------------------
// Ids

export const ID_PREFIXES = {
  account: "acc",
  agent: "agt",
  team: "team",
  customer: "cus",
  ticket: "tkt",
  message: "msg",
  tag: "tag",
  view: "view",
  macro: "mac",
  rule: "rule",
  helpArticle: "art",
  guidance: "gdn",
  order: "ord",
  billableInteraction: "bil",
} as const;

const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** A new random id like `tkt_0k3x...` (16 base-36 characters, ~82 bits). Workers-safe. */
export function newId(kind: keyof typeof ID_PREFIXES): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = `${ID_PREFIXES[kind]}_`;
  for (const byte of bytes) out += ID_ALPHABET[byte % ID_ALPHABET.length];
  return out;
}

// ---------------------------------------------------------------------------------------
// Column helpers

/** Epoch milliseconds (see the time convention above). */
const epochMs = (name: string) => integer(name);
const createdAt = () =>
  epochMs("created_at")
    .notNull()
    .$defaultFn(() => Date.now());
const accountId = () => text("account_id").notNull();
const json = <T>(name: string) => text(name, { mode: "json" }).$type<T>();
const bool = (name: string) => integer(name, { mode: "boolean" });

// ---------------------------------------------------------------------------------------
// Directory (used on shard 0 only)

export const accounts = sqliteTable(
  "accounts",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** Index into SHARD_URLS of the shard holding this account's data; update to move it. */
    shardIndex: integer("shard_index").notNull(),
    /** Set while the account is being copied to this shard; writers hold their outboxes. */
    movingToShard: integer("moving_to_shard"),
    /**
     * The account's write epoch on `shard_index`: writers carry it with the placement and
     * every write batch checks it against that shard's `account_epochs` row (the write
     * fence, schema/write-fence.ts). A move bumps it.
     */
    writeEpoch: integer("write_epoch").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [index("accounts_shard_idx").on(t.shardIndex)],
);

/**
 * Per data shard: the write epoch this shard accepts for an account (no row = 0). A move
 * sets the source's row to the new epoch before copying, so a writer still holding the old
 * placement fails its whole batch instead of writing behind the copy; the target's row is
 * set to the same epoch, which the directory then pairs with the target. Checked by the
 * `write_fence` view's trigger (hand-written migration `*_write_fence.sql`).
 */
export const accountEpochs = sqliteTable("account_epochs", {
  accountId: text("account_id").primaryKey(),
  epoch: integer("epoch").notNull(),
});

export const agentLogins = sqliteTable(
  "agent_logins",
  {
    /** Lowercase email; one login per email across all accounts. */
    email: text("email").primaryKey(),
    accountId: accountId(),
    agentId: text("agent_id").notNull(),
  },
  (t) => [
    index("agent_logins_account_idx").on(t.accountId),
    check("agent_logins_email_lowercase", sql`${t.email} = lower(${t.email})`),
  ],
);

// ---------------------------------------------------------------------------------------
// People

export const agents = sqliteTable(
  "agents",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    /** Lowercase. */
    email: text("email").notNull(),
    name: text("name").notNull(),
    role: text("role", { enum: AGENT_ROLES }).notNull().default("agent"),
    passwordHash: text("password_hash").notNull(),
    availability: text("availability", { enum: AGENT_AVAILABILITIES }).notNull().default("available"),
    chatCapacity: integer("chat_capacity").notNull().default(AGENT_ROUTING_DEFAULTS.chatCapacity),
    ticketCapacity: integer("ticket_capacity").notNull().default(AGENT_ROUTING_DEFAULTS.ticketCapacity),
    /** Minutes without activity in any of the agent's tabs before the agent shows as away. */
    idleAwayMinutes: integer("idle_away_minutes").notNull().default(AGENT_ROUTING_DEFAULTS.idleAwayMinutes),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("agents_account_email_uq").on(t.accountId, t.email),
    check("agents_email_lowercase", sql`${t.email} = lower(${t.email})`),
  ],
);

/** An agent as teammates and the live inbox see them: no email, no password hash. */
export const agentProfileColumns = {
  id: agents.id,
  name: agents.name,
  role: agents.role,
  availability: agents.availability,
  chatCapacity: agents.chatCapacity,
  ticketCapacity: agents.ticketCapacity,
  idleAwayMinutes: agents.idleAwayMinutes,
};

export const teams = sqliteTable(
  "teams",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    name: text("name").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("teams_account_name_uq").on(t.accountId, t.name)],
);

export const teamMembers = sqliteTable(
  "team_members",
  {
    accountId: accountId(),
    teamId: text("team_id")
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    agentId: text("agent_id")
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ columns: [t.teamId, t.agentId] }),
    index("team_members_agent_idx").on(t.agentId),
    index("team_members_account_idx").on(t.accountId),
  ],
);

export const customers = sqliteTable(
  "customers",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    email: text("email"),
    name: text("name"),
    phone: text("phone"),
    createdAt: createdAt(),
  },
  (t) => [
    index("customers_account_email_idx").on(t.accountId, t.email),
    index("customers_account_phone_idx").on(t.accountId, t.phone),
  ],
);

// ---------------------------------------------------------------------------------------
// Tickets and messages

export const tickets = sqliteTable(
  "tickets",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    customerId: text("customer_id")
      .notNull()
      .references(() => customers.id),
    channel: text("channel", { enum: TICKET_CHANNELS }).notNull(),
    subject: text("subject").notNull().default(""),
    status: text("status", { enum: TICKET_STATUSES }).notNull().default("open"),
    priority: text("priority", { enum: TICKET_PRIORITIES }).notNull().default("normal"),
    assigneeId: text("assignee_id").references(() => agents.id, { onDelete: "set null" }),
    teamId: text("team_id").references(() => teams.id, { onDelete: "set null" }),
    /** Starts at 1, +1 with every change to the ticket (optimistic concurrency, sync). */
    version: integer("version").notNull().default(1),
    snoozedUntil: epochMs("snoozed_until"),
    aiState: text("ai_state", { enum: AI_STATES }).notNull().default("none"),
    createdAt: createdAt(),
    updatedAt: epochMs("updated_at")
      .notNull()
      .$defaultFn(() => Date.now()),
    firstResponseAt: epochMs("first_response_at"),
    closedAt: epochMs("closed_at"),
    lastMessageAt: epochMs("last_message_at"),
  },
  (t) => [
    index("tickets_account_status_updated_idx").on(t.accountId, t.status, t.updatedAt),
    // The unfiltered inbox list pages by (updated_at, id) within an account.
    index("tickets_account_updated_id_idx").on(t.accountId, t.updatedAt, t.id),
    index("tickets_account_assignee_status_idx").on(t.accountId, t.assigneeId, t.status),
    index("tickets_account_team_status_idx").on(t.accountId, t.teamId, t.status),
    index("tickets_account_customer_idx").on(t.accountId, t.customerId),
  ],
);

export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    ticketId: text("ticket_id")
      .notNull()
      .references(() => tickets.id, { onDelete: "cascade" }),
    authorKind: text("author_kind", { enum: MESSAGE_AUTHOR_KINDS }).notNull(),
    /** Agent id or customer id depending on author_kind; null for ai/system. */
    authorId: text("author_id"),
    body: text("body").notNull(),
    isInternalNote: bool("is_internal_note").notNull().default(false),
    channel: text("channel", { enum: TICKET_CHANNELS }).notNull(),
    /** Id in the source system, e.g. an email Message-ID, for threading and de-duplication. */
    externalId: text("external_id"),
    /** Position in the ticket's thread, 1, 2, 3… assigned by the ticket's room (its single writer). */
    seq: integer("seq").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    index("messages_ticket_created_idx").on(t.ticketId, t.createdAt),
    index("messages_ticket_seq_idx").on(t.ticketId, t.seq),
    index("messages_account_external_idx").on(t.accountId, t.externalId),
  ],
);

export const tags = sqliteTable(
  "tags",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    name: text("name").notNull(),
    color: text("color"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("tags_account_name_uq").on(t.accountId, t.name)],
);

export const ticketTags = sqliteTable(
  "ticket_tags",
  {
    accountId: accountId(),
    ticketId: text("ticket_id")
      .notNull()
      .references(() => tickets.id, { onDelete: "cascade" }),
    tagId: text("tag_id")
      .notNull()
      .references(() => tags.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ columns: [t.ticketId, t.tagId] }),
    index("ticket_tags_account_tag_idx").on(t.accountId, t.tagId),
  ],
);

// ---------------------------------------------------------------------------------------
// Configuration

export const views = sqliteTable(
  "views",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    name: text("name").notNull(),
    filter: json<ViewFilter>("filter").notNull(),
    position: integer("position").notNull().default(0),
    /** null = shared with the whole account. */
    ownerAgentId: text("owner_agent_id").references(() => agents.id, { onDelete: "cascade" }),
  },
  (t) => [index("views_account_position_idx").on(t.accountId, t.position)],
);

/** Views an agent follows: a new ticket arriving in one notifies the agent. */
export const viewFollows = sqliteTable(
  "view_follows",
  {
    accountId: accountId(),
    agentId: text("agent_id")
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    viewId: text("view_id")
      .notNull()
      .references(() => views.id, { onDelete: "cascade" }),
  },
  (t) => [primaryKey({ columns: [t.agentId, t.viewId] }), index("view_follows_account_idx").on(t.accountId)],
);

export const macros = sqliteTable(
  "macros",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    name: text("name").notNull(),
    body: text("body").notNull().default(""),
    actions: json<TicketAction[]>("actions").notNull(),
  },
  (t) => [index("macros_account_idx").on(t.accountId)],
);

export const rules = sqliteTable(
  "rules",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    name: text("name").notNull(),
    event: text("event", { enum: RULE_EVENTS }).notNull(),
    conditions: json<RuleCondition[]>("conditions").notNull(),
    actions: json<TicketAction[]>("actions").notNull(),
    position: integer("position").notNull().default(0),
    enabled: bool("enabled").notNull().default(true),
  },
  (t) => [index("rules_account_event_idx").on(t.accountId, t.event, t.position)],
);

// ---------------------------------------------------------------------------------------
// AI agent knowledge and settings

export const helpArticles = sqliteTable(
  "help_articles",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    locale: text("locale").notNull().default("en"),
    published: bool("published").notNull().default(false),
    updatedAt: epochMs("updated_at")
      .notNull()
      .$defaultFn(() => Date.now()),
  },
  (t) => [index("help_articles_account_locale_idx").on(t.accountId, t.locale)],
);

export const guidance = sqliteTable(
  "guidance",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    enabled: bool("enabled").notNull().default(true),
  },
  (t) => [index("guidance_account_idx").on(t.accountId)],
);

export const aiSettings = sqliteTable("ai_settings", {
  accountId: text("account_id").primaryKey(),
  enabled: bool("enabled").notNull().default(false),
  /** A ticket the AI answered counts as resolved if the customer stays silent this long. */
  resolutionWindowHours: integer("resolution_window_hours").notNull().default(72),
  /** Topics the AI must hand over to a human (e.g. "refund dispute", "legal"). */
  handoverTopics: json<string[]>("handover_topics")
    .notNull()
    .$defaultFn(() => []),
  tone: text("tone").notNull().default("friendly"),
  updatedAt: epochMs("updated_at")
    .notNull()
    .$defaultFn(() => Date.now()),
});

// ---------------------------------------------------------------------------------------
// Commerce and billing

export const orders = sqliteTable(
  "orders",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    customerId: text("customer_id")
      .notNull()
      .references(() => customers.id, { onDelete: "cascade" }),
    /** Shop-facing number, e.g. "#1001"; unique per account. */
    number: text("number").notNull(),
    status: text("status", { enum: ORDER_STATUSES }).notNull(),
    totalCents: integer("total_cents").notNull(),
    /** ISO 4217, e.g. "USD". */
    currency: text("currency").notNull().default("USD"),
    items: json<OrderItem[]>("items").notNull(),
    createdAt: createdAt(),
    shippedAt: epochMs("shipped_at"),
    trackingUrl: text("tracking_url"),
  },
  (t) => [
    uniqueIndex("orders_account_number_uq").on(t.accountId, t.number),
    index("orders_account_customer_idx").on(t.accountId, t.customerId),
  ],
);

/** One row per ticket resolved by the AI (billed); `reversed_at` set when the bill is undone. */
export const billableInteractions = sqliteTable(
  "billable_interactions",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    /** No foreign key: the billing record outlives a deleted ticket. */
    ticketId: text("ticket_id").notNull(),
    reason: text("reason").notNull(),
    resolvedAt: epochMs("resolved_at").notNull(),
    reversedAt: epochMs("reversed_at"),
  },
  (t) => [
    uniqueIndex("billable_interactions_account_ticket_uq").on(t.accountId, t.ticketId),
    index("billable_interactions_account_resolved_idx").on(t.accountId, t.resolvedAt),
  ],
);


// ---------------------------------------------------------------------------------------
// Channels

/** Per-account channel configuration. */
export const accountSettings = sqliteTable("account_settings", {
  accountId: text("account_id").primaryKey(),
  /** Shared secret inbound webhooks (email, SMS) must present. */
  webhookSecret: text("webhook_secret").notNull(),
  /** IANA time zone for business hours, e.g. "Europe/Paris". */
  timeZone: text("time_zone").notNull().default("UTC"),
  /** Opening hours per ISO weekday (1 = Monday … 7 = Sunday), "HH:MM" local time. */
  businessHours: json<BusinessHours>("business_hours")
    .notNull()
    .$defaultFn(() => ({})),
  /** Inbound address the store's email forwards to, e.g. "support@demo.shop". */
  supportEmail: text("support_email"),
  /** Auto-assignment takes open chats back from an agent who stops being available. */
  unassignChatsWhenUnavailable: integer("unassign_chats_when_unavailable", { mode: "boolean" }).notNull().default(false),
  updatedAt: epochMs("updated_at")
    .notNull()
    .$defaultFn(() => Date.now()),
});

/** Every outbound email/SMS, whatever provider sent it (the dev mailbox reads this). */
export const outboundDeliveries = sqliteTable(
  "outbound_deliveries",
  {
    id: text("id").primaryKey(),
    accountId: accountId(),
    ticketId: text("ticket_id").notNull(),
    /** The message delivered; unique so a retried flush never sends twice. */
    messageId: text("message_id").notNull(),
    channel: text("channel", { enum: TICKET_CHANNELS }).notNull(),
    toAddress: text("to_address").notNull(),
    subject: text("subject"),
    body: text("body").notNull(),
    provider: text("provider").notNull(),
    status: text("status", { enum: ["queued", "sent", "failed"] }).notNull().default("queued"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("outbound_deliveries_message_uq").on(t.messageId),
    index("outbound_deliveries_account_created_idx").on(t.accountId, t.createdAt),
  ],
);

/** When a customer last got an automatic reply (rules send at most one per 5 minutes). */
export const autoReplyLog = sqliteTable(
  "auto_reply_log",
  {
    accountId: accountId(),
    customerId: text("customer_id").notNull(),
    lastSentAt: epochMs("last_sent_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.customerId] })],
);

// ---------------------------------------------------------------------------------------
// Row types

export type Account = typeof accounts.$inferSelect;
export type NewAccount = typeof accounts.$inferInsert;
export type AgentLogin = typeof agentLogins.$inferSelect;
export type Agent = typeof agents.$inferSelect;
export type NewAgent = typeof agents.$inferInsert;
export type Team = typeof teams.$inferSelect;
export type TeamMember = typeof teamMembers.$inferSelect;
export type Customer = typeof customers.$inferSelect;
export type NewCustomer = typeof customers.$inferInsert;
export type Ticket = typeof tickets.$inferSelect;
export type NewTicket = typeof tickets.$inferInsert;
export type Message = typeof messages.$inferSelect;
export type NewMessage = typeof messages.$inferInsert;
export type Tag = typeof tags.$inferSelect;
export type TicketTag = typeof ticketTags.$inferSelect;
export type View = typeof views.$inferSelect;
export type ViewFollow = typeof viewFollows.$inferSelect;
export type NewView = typeof views.$inferInsert;
export type Macro = typeof macros.$inferSelect;
export type Rule = typeof rules.$inferSelect;
export type HelpArticle = typeof helpArticles.$inferSelect;
export type Guidance = typeof guidance.$inferSelect;
export type AiSettings = typeof aiSettings.$inferSelect;
export type Order = typeof orders.$inferSelect;
export type NewOrder = typeof orders.$inferInsert;
export type BillableInteraction = typeof billableInteractions.$inferSelect;
export type AccountSettings = typeof accountSettings.$inferSelect;
export type OutboundDelivery = typeof outboundDeliveries.$inferSelect;
