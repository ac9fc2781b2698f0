// The value lists of the schema's enum-like columns, with no imports, so that the browser
// bundle can share them (schema/tables.ts pulls in drizzle-orm). Reuse these in zod
// schemas and the UI instead of redefining them.

export const AGENT_ROLES = ["admin", "agent"] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];

export const AGENT_AVAILABILITIES = ["available", "busy", "away"] as const;
export type AgentAvailability = (typeof AGENT_AVAILABILITIES)[number];

/** An agent's routing settings until someone changes them (the `agents` columns' defaults). */
export const AGENT_ROUTING_DEFAULTS = { chatCapacity: 3, ticketCapacity: 5, idleAwayMinutes: 10 } as const;

export const TICKET_CHANNELS = ["chat", "email", "sms", "api"] as const;
export type TicketChannel = (typeof TICKET_CHANNELS)[number];

export const TICKET_STATUSES = ["open", "pending", "snoozed", "closed"] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export const TICKET_PRIORITIES = ["low", "normal", "high", "urgent"] as const;
export type TicketPriority = (typeof TICKET_PRIORITIES)[number];

/** none: AI not involved; thinking: drafting; answered: replied, waiting; handed_over: to a human; resolved: AI closed it. */
export const AI_STATES = ["none", "thinking", "answered", "handed_over", "resolved"] as const;
export type AiState = (typeof AI_STATES)[number];

export const MESSAGE_AUTHOR_KINDS = ["customer", "agent", "ai", "system"] as const;
export type MessageAuthorKind = (typeof MESSAGE_AUTHOR_KINDS)[number];

export const RULE_EVENTS = ["ticket_created", "message_received", "ticket_updated", "ticket_assigned"] as const;
export type RuleEvent = (typeof RULE_EVENTS)[number];

export const ORDER_STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled", "refunded"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
